"""The seam between the rule engine and whatever answers PromQL.

`InstantQuerier` is all the rule engine needs. `EngineQuerier` adapts cachewatch's own query
engine (`monitor.query`); anything else that can answer an instant query (a test's fake over
fixed samples, a remote Prometheus) fits the same protocol.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

__all__ = ["InstantQuerier", "QueryError", "EngineQuerier"]


class QueryError(Exception):
    """An instant query failed; the rule is marked unhealthy and its alerts are left alone."""


class InstantQuerier(Protocol):
    def query(self, expr: str, at_ms: int) -> list[tuple[dict[str, str], float]]:
        """The instant vector `expr` evaluates to at `at_ms` (a scalar is one sample with no
        labels). Raises QueryError."""
        ...


class EngineQuerier:
    """Adapts `monitor.query.Engine(reader).instant(expr, at_ms)` to `InstantQuerier`."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def query(self, expr: str, at_ms: int) -> list[tuple[dict[str, str], float]]:
        try:
            result = self.engine.instant(expr, at_ms)
        except Exception as exc:  # the engine's errors are its own hierarchy; all mean "failed"
            raise QueryError(f"{type(exc).__name__}: {exc}") from exc
        return _vector_of(result)


def _vector_of(result: Any) -> list[tuple[dict[str, str], float]]:
    """Accept the shapes a query result can take: a sequence of (labels, value) pairs, an
    object with `.vector` / `.samples`, or a scalar."""
    if isinstance(result, int | float):
        return [({}, float(result))]
    for attribute in ("vector", "samples", "value"):
        inner = getattr(result, attribute, None)
        if inner is not None and not callable(inner):
            return _vector_of(inner)
    out: list[tuple[dict[str, str], float]] = []
    for item in result:
        if isinstance(item, tuple) and len(item) == 2:
            labels, value = item
        else:
            labels, value = item.labels, item.value
        value = float(value)
        if math.isnan(value) and labels is None:
            continue
        out.append((dict(labels), value))
    return out
