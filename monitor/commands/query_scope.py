"""Which reads a `cachewatch query` will make, so it opens only that much of the store.

The engine runs the expression once over a reader that holds nothing and notes every read
it asks for (a selector's matchers and time range, lookback, `offset`, `@` and subqueries
included): the ranges a selector reads depend on the expression and the evaluation times,
never on the data. The store is then opened for those reads (`monitor.store.scope`); a read
the real evaluation makes outside them still gets the whole store's answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.model import Matcher
from monitor.query import Engine, QueryError, QueryResult
from monitor.store.api import ReadBudget, SeriesData
from monitor.store.scope import ReadScope

__all__ = ["evaluate", "reads_of"]


def evaluate(
    engine: Engine, expr: str, end_ms: int, range_ms: int | None, step_ms: int
) -> QueryResult:
    """An instant query at `end_ms`, or with `range_ms` a range query ending there."""
    if range_ms is None:
        return engine.instant(expr, end_ms)
    return engine.range(expr, end_ms - range_ms, end_ms, step_ms)


class _ReadRecorder:
    """A reader with no series that notes what it was asked for."""

    def __init__(self) -> None:
        self.reads: list[tuple[Sequence[Matcher], int, int]] = []

    def select(
        self,
        matchers: Sequence[Matcher],
        start_ms: int,
        end_ms: int,
        budget: ReadBudget | None = None,
    ) -> list[SeriesData]:
        self.reads.append((tuple(matchers), start_ms, end_ms))
        return []

    def series(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        return []

    def label_names(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[str]:
        return []

    def label_values(
        self, name: str, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[str]:
        return []


def reads_of(expr: str, end_ms: int, range_ms: int | None, step_ms: int) -> ReadScope | None:
    """The reads evaluating `expr` makes; None when it does not evaluate (the real
    evaluation reports why, over the whole store)."""
    recorder = _ReadRecorder()
    try:
        evaluate(Engine(recorder), expr, end_ms, range_ms, step_ms)
    except QueryError:
        return None
    return ReadScope.of(recorder.reads)
