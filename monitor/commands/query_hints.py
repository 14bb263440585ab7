"""Why `cachewatch query` found nothing, in a line or two: an empty store, a metric name
the store does not have (with the names closest to it), or series that exist but have no
sample near the evaluation time."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

import promql_parser as pp

from monitor.model import Matcher

__all__ = ["selector_names", "empty_result_hints"]

#: how far back an instant query looks for a sample (Prometheus's lookback delta)
_LOOKBACK_MS = 5 * 60_000


def _children(node: Any) -> Iterator[Any]:
    if isinstance(node, pp.BinaryExpr):
        yield node.lhs
        yield node.rhs
    elif isinstance(node, pp.AggregateExpr):
        yield node.expr
        if node.param is not None:
            yield node.param
    elif isinstance(node, pp.Call):
        yield from node.args
    elif isinstance(node, pp.MatrixSelector):
        yield node.vector_selector
    elif isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        yield node.expr


def selector_names(expr: str) -> list[str]:
    """The metric names the expression's selectors name (`up`, `{__name__="up"}`)."""
    names: list[str] = []
    todo = [pp.parse(expr)]
    while todo:
        node = todo.pop()
        if isinstance(node, pp.VectorSelector) and node.name:
            names.append(node.name)
        todo.extend(_children(node))
    return sorted(set(names))


def empty_result_hints(store: Any, expr: str, start_ms: int, end_ms: int, where: str) -> list[str]:
    """What to tell a person whose query over `store` came back empty."""
    if store.stats().series == 0:
        return [
            f"the store at {where} is empty: nothing was collected there yet "
            "(run `cachewatch poll` or `cachewatch serve` with it, or point --store/-c elsewhere)"
        ]
    every_name = [Matcher("__name__", "=~", ".+")]
    hints = []
    for name in selector_names(expr):
        wanted = [Matcher("__name__", "=", name)]
        recent = store.select(wanted, start_ms - _LOOKBACK_MS, end_ms)
        if any(len(series.ts) for series in recent):
            continue
        if store.series(wanted, 0, end_ms):
            hints.append(
                f"{name} has no sample in the 5 minutes before the time asked "
                "(is collection running? older data: --at T or --range D)"
            )
            continue
        known = store.label_values("__name__", every_name, 0, end_ms)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        similar = f"; similar: {', '.join(close)}" if close else ""
        hints.append(f"no series named {name} in the store at {where}{similar}")
    if not hints:
        hints.append(
            "the selectors match series, but the expression's label filters, joins or "
            "comparisons leave nothing"
        )
    return hints
