"""The seam between the rule engine and whatever answers PromQL.

`InstantQuerier` is all the rule engine needs. `EngineQuerier` adapts cachewatch's own query
engine (`monitor.query.Engine`) over the store; anything else that answers an instant query
(a test's fake over fixed samples, a remote Prometheus) fits the same protocol.
"""

from __future__ import annotations

from typing import Protocol

from monitor.query import Engine
from monitor.query import QueryError as EngineQueryError
from monitor.store.api import SeriesReader

__all__ = ["InstantQuerier", "QueryError", "EngineQuerier"]


class QueryError(Exception):
    """An instant query failed; the rule is marked unhealthy and its alerts are left alone."""


class InstantQuerier(Protocol):
    def query(self, expr: str, at_ms: int) -> list[tuple[dict[str, str], float]]:
        """The instant vector `expr` evaluates to at `at_ms` (a scalar is one sample with no
        labels). Raises QueryError."""
        ...


class EngineQuerier:
    """Rules over cachewatch's own PromQL engine. Rule queries get a tighter timeout than
    interactive ones: a rule that takes seconds delays every rule after it in its group."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def over(cls, reader: SeriesReader, timeout_s: float = 10.0) -> EngineQuerier:
        return cls(Engine(reader, timeout_s=timeout_s))

    def query(self, expr: str, at_ms: int) -> list[tuple[dict[str, str], float]]:
        try:
            result = self.engine.instant(expr, at_ms)
        except EngineQueryError as exc:
            raise QueryError(exc.message) from None
        if result.result_type == "vector":
            return result.samples
        if result.result_type == "scalar" and result.scalar is not None:
            return [({}, result.scalar)]
        raise QueryError(f"rule expression returned a {result.result_type}, not a vector")
