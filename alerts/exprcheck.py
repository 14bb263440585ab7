"""PromQL validation for rule files, with the position of the problem when it can be found.

The query engine (`monitor.query`) is the authority on what cachewatch can evaluate; until a
querier offers its own `validate`, `promql_parser` (the Rust parser Prometheus-compatible
tools use) checks the syntax and function signatures. It reports no positions, so the offset
is recovered from the message where the message quotes the offending text.
"""

from __future__ import annotations

import re
from typing import Protocol

import promql_parser

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
    return None


def validate_expr(expr: str) -> None:
    if not expr.strip():
        raise ExprError("empty expression", 0)
    try:
        promql_parser.parse(expr)
    except ValueError as exc:
        message = str(exc)
        raise ExprError(message, _locate(expr, message)) from None
