"""From `promql_parser`'s AST to the engine's terms: parsing with our errors, selectors'
matchers, durations, vector-matching modifiers, the labels `absent()` reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import promql_parser as pp

from monitor.model import Labels, Matcher, labels_of
from monitor.query.binops import SET_OPERATORS, Matching
from monitor.query.errors import BadDataError, NotSupportedError
from monitor.query.limits import QueryLimits, check_expression

DEFAULT_LIMITS = QueryLimits()

__all__ = [
    "absent_labels",
    "at_ms",
    "duration_ms",
    "matchers",
    "matching",
    "parse",
    "static_type",
    "unwrap",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_MATCH_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
_CARDINALITY = {
    "OneToOne": "one-to-one",
    "ManyToOne": "many-to-one",
    "OneToMany": "one-to-many",
    "ManyToMany": "many-to-many",
}


def duration_ms(delta: timedelta | None) -> int:
    return 0 if delta is None else delta // _MS


def at_ms(at: Any, start_ms: int, end_ms: int) -> int:
    """The fixed time of an `@` modifier; `start()`/`end()` are the query's."""
    kind = str(at.type).rsplit(".", 1)[-1]
    if kind == "Start":
        return start_ms
    if kind == "End":
        return end_ms
    try:
        return int((at.at - _EPOCH) // _MS)
    except BaseException as exc:  # the parser panics on times before 1970
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise NotSupportedError("@ modifier before 1970") from None


def parse(expr: str, limits: QueryLimits = DEFAULT_LIMITS, what: str = "query") -> Any:
    """The AST of `expr`; BadDataError says what is wrong with it. Text longer or deeper
    than `limits` allow is refused before the parser sees it (see `monitor.query.limits`)."""
    check_expression(expr, limits, what)
    try:
        return pp.parse(expr)
    except ValueError as exc:
        raise BadDataError(f"parse error: {exc}") from None
    except BaseException as exc:  # the Rust parser panics on some input instead of failing
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise BadDataError(f"parse error: {exc}") from None


def unwrap(node: Any) -> Any:
    while isinstance(node, pp.ParenExpr):
        node = node.expr
    return node


def static_type(node: Any) -> str:
    node = unwrap(node)
    if isinstance(node, pp.MatrixSelector | pp.SubqueryExpr):
        return "range vector"
    if isinstance(node, pp.StringLiteral):
        return "string"
    return "instant"


def matchers(selector: Any) -> list[Matcher]:
    if selector.matchers.or_matchers:
        raise NotSupportedError("'or' between label matchers")
    out = [
        Matcher(m.name, _MATCH_OPS[str(m.op).rsplit(".", 1)[-1]], m.value)
        for m in selector.matchers.matchers
    ]
    if selector.name is not None and not any(m.name == "__name__" for m in out):
        out.insert(0, Matcher("__name__", "=", selector.name))
    return out


def absent_labels(node: Any) -> Labels:
    """What `absent(x{a="b"})` reports: the labels fixed by `=` matchers, except any label
    that has several matchers."""
    node = unwrap(node)
    if isinstance(node, pp.MatrixSelector):
        node = node.vector_selector
    if not isinstance(node, pp.VectorSelector):
        return ()
    fixed: dict[str, str] = {}
    ambiguous: set[str] = set()
    for matcher in matchers(node):
        if matcher.name == "__name__":
            continue
        if matcher.op == "=" and matcher.name not in fixed:
            fixed[matcher.name] = matcher.value
        else:
            ambiguous.add(matcher.name)
    return labels_of({k: v for k, v in fixed.items() if k not in ambiguous and v})


def matching(modifier: Any, op: str) -> Matching:
    if modifier is None:
        return Matching(card="many-to-many" if op in SET_OPERATORS else "one-to-one")
    fill = modifier.fill_values
    if fill is not None and (fill.lhs is not None or fill.rhs is not None):
        raise NotSupportedError("fill modifiers in vector matching")
    labels = modifier.matching
    return Matching(
        card=_CARDINALITY[str(modifier.card).rsplit(".", 1)[-1]],
        on=labels is not None and str(labels.type).endswith("Include"),
        labels=frozenset(labels.labels if labels is not None else ()),
        include=tuple(modifier.group_labels or ()),
        return_bool=bool(modifier.return_bool),
    )
