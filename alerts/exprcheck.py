"""PromQL validation for rule files, with the position of the problem when it can be found.

The query engine (`monitor.query`) is the authority on what cachewatch can evaluate. Its
parser (`promql_parser`) checks syntax and function signatures but reports no positions, so
the offset is recovered from the message where the message quotes the offending text. What
parses but the engine does not implement (`limitk`, `or` between label matchers...) only
shows when evaluated, so the expression is also evaluated once over an empty reader: that
costs microseconds and turns "fails at 3 a.m." into an error at load time.
"""

from __future__ import annotations

import re
from typing import Protocol

import promql_parser

from monitor.query import Engine, MemoryReader, NotSupportedError
from monitor.query import QueryError as EngineQueryError
from monitor.query.limits import QueryLimits, check_expression

__all__ = ["ExprError", "ExprValidator", "validate_expr"]


class ExprError(ValueError):
    """An expression that does not parse; `offset` is a character index into it, if known."""

    def __init__(self, message: str, offset: int | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset


class ExprValidator(Protocol):
    def __call__(self, expr: str) -> None:
        """Raise ExprError if `expr` is not an expression this querier can evaluate."""
        ...


_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"|syntax: (\S+)")


def _locate(expr: str, message: str) -> int | None:
    if "end of input" in message:
        return len(expr.rstrip())
    for match in _QUOTED.finditer(message):
        needle = next(group for group in match.groups() if group)
        found = expr.find(needle)
        if found >= 0:
            return found
    # "aggregation limitk", "function foo()": the name is the last word
    name = message.rsplit(" ", 1)[-1].removesuffix("()")
    word = re.search(rf"\b{re.escape(name)}\b", expr) if name else None
    return word.start() if word else None


def validate_expr(expr: str) -> None:
    if not expr.strip():
        raise ExprError("empty expression", 0)
    try:
        # a rule file is input too: too long or too deep never reaches the parser
        check_expression(expr, _LIMITS, "expression")
    except EngineQueryError as exc:
        raise ExprError(exc.message, 0) from None
    try:
        promql_parser.parse(expr)
    except ValueError as exc:
        message = str(exc)
        raise ExprError(message, _locate(expr, message)) from None
    try:
        _DRY_RUN.instant(expr, 0)
    except NotSupportedError as exc:
        construct = exc.message.removeprefix("not supported: ")
        raise ExprError(
            f"{construct} is not supported by cachewatch", _locate(expr, construct)
        ) from None
    except EngineQueryError as exc:
        raise ExprError(exc.message, _locate(expr, exc.message)) from None


_LIMITS = QueryLimits()
_DRY_RUN = Engine(MemoryReader(), limits=_LIMITS, timeout_s=1.0)
