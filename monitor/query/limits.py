"""How much one query may ask for, checked before the work starts.

`QueryLimits` holds every bound (docs/SAFETY.md lists them with their defaults and config
keys); `check_expression` applies the text bounds before `promql_parser` sees the text.

The parser is a Rust extension: its time grows with the square of the nesting depth and
it overflows its stack (a segmentation fault that takes the whole process with it) at about
ten thousand levels, whether they are parentheses, function calls or a chain like
`up or up or …`. The evaluator, in Python, recurses once per level too. So the depth a text
can produce is computed by a small scanner that knows strings and comments, and a text
whose expression could be deeper than `max_depth` never reaches the parser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.durations import parse_duration
from monitor.query.errors import BadDataError
from monitor.sections import SectionContext, SectionSpec

__all__ = [
    "QueryLimits",
    "QueryLimitsError",
    "check_expression",
    "expression_depth",
    "QUERY_KEYS",
    "QUERY_SECTION",
]


@dataclass(frozen=True, slots=True)
class QueryLimits:
    #: characters of PromQL text (a query, a `match[]` selector, a rule's expression)
    max_length: int = 65_536
    #: how deeply an expression may nest: brackets, function calls and operator chains
    max_depth: int = 128
    #: samples one query may load plus points it may hold at once (Prometheus: 50 M)
    max_samples: int = 20_000_000
    #: wall-clock time one query may run; the evaluation stops there
    timeout_s: float = 20.0
    #: queries the HTTP API evaluates at once; more wait, up to `queue_timeout_s`
    max_concurrent: int = 2
    #: queries that may wait for a slot; past it a query is refused at once
    max_queued: int = 4
    queue_timeout_s: float = 10.0


class QueryLimitsError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


#: integer keys and the least each may be
_INTEGERS = {
    "max_length": 1,
    "max_depth": 1,
    "max_samples": 1,
    "max_concurrent": 1,
    "max_queued": 0,
}
_DURATIONS = {"timeout": "timeout_s", "queue_timeout": "queue_timeout_s"}


def parse_query_limits(table: Mapping[str, Any]) -> QueryLimits:
    """The `[query]` config table; QueryLimitsError lists every bad key."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, least in _INTEGERS.items():
        if key in table:
            raw = table[key]
            if isinstance(raw, bool) or not isinstance(raw, int) or raw < least:
                problems.append(f"query.{key}: must be an integer >= {least}, got {raw!r}")
            else:
                values[key] = raw
    for key, field_name in _DURATIONS.items():
        if key in table:
            try:
                seconds = parse_duration(str(table[key]))
            except ValueError as exc:
                problems.append(f"query.{key}: {exc}")
                continue
            if seconds <= 0:
                problems.append(f"query.{key}: must be positive, got {table[key]!r}")
            else:
                values[field_name] = seconds
    if problems:
        raise QueryLimitsError(problems)
    return QueryLimits(**values)


#: the keys of `[query]`
QUERY_KEYS = frozenset({*_INTEGERS, *_DURATIONS})


def _parse_section(table: Mapping[str, Any], context: SectionContext) -> QueryLimits:
    return parse_query_limits(table)


#: `[query]`'s owner declaration (`monitor/sections.py`)
QUERY_SECTION = SectionSpec("query", _parse_section, QUERY_KEYS)


#: tokens that combine or wrap expressions: each can add one level to the syntax tree
_WORD_OPERATORS = frozenset({"and", "or", "unless", "atan2"})
_SYMBOL_OPERATORS = ("==", "!=", ">=", "<=", "+", "-", "*", "/", "%", "^", ">", "<")
_OPEN, _CLOSE = "([{", ")]}"


def expression_depth(text: str) -> int:
    """An upper bound of the depth of the syntax tree `text` parses to.

    Each bracket pair adds a level to what it encloses; each operator at one bracket level
    adds a level to that level (`a + b + c` is two levels deep, left-nested). Strings and
    comments add nothing; inside `{...}` only the brackets count (`=~` there is a matcher).
    """
    # one frame per open bracket: [operators seen at this level, deepest child so far]
    frames: list[list[int]] = [[0, 0]]
    braces = 0
    at, end = 0, len(text)
    while at < end:
        char = text[at]
        if char in "\"'`":
            at = _skip_string(text, at)
            continue
        if char == "#":
            newline = text.find("\n", at)
            at = end if newline < 0 else newline + 1
            continue
        if char in _OPEN:
            frames.append([0, 0])
            braces += char == "{"
        elif char in _CLOSE:
            if len(frames) > 1:
                operators, child = frames.pop()
                parent = frames[-1]
                parent[1] = max(parent[1], operators + child + 1)
            braces = max(0, braces - (char == "}"))
        elif braces == 0:
            if char.isalpha() or char == "_":
                start = at
                while at < end and (text[at].isalnum() or text[at] in "_:"):
                    at += 1
                if text[start:at].lower() in _WORD_OPERATORS:
                    frames[-1][0] += 1
                continue
            for symbol in _SYMBOL_OPERATORS:
                if text.startswith(symbol, at):
                    frames[-1][0] += 1
                    at += len(symbol)
                    break
            else:
                at += 1
            continue
        at += 1
    # unclosed brackets: the parser will refuse the text, but count them all the same
    while len(frames) > 1:
        operators, child = frames.pop()
        frames[-1][1] = max(frames[-1][1], operators + child + 1)
    operators, child = frames[0]
    return operators + child


def _skip_string(text: str, at: int) -> int:
    """The index just past the string literal starting at `at` (or the end of the text)."""
    quote = text[at]
    at += 1
    while at < len(text):
        char = text[at]
        if char == "\\" and quote != "`":
            at += 2
            continue
        if char == quote:
            return at + 1
        at += 1
    return at


def check_expression(text: str, limits: QueryLimits, what: str = "query") -> None:
    """Refuse `text` (BadDataError naming `what`) if it is too long or could nest deeper
    than the limits allow; cheap, and run before any parser sees the text."""
    if len(text) > limits.max_length:
        raise BadDataError(
            f"{what} is {len(text)} characters long; the limit is {limits.max_length} "
            "(query.max_length)"
        )
    depth = expression_depth(text)
    if depth > limits.max_depth:
        raise BadDataError(
            f"{what} nests {depth} levels deep (brackets, function calls and chained "
            f"operators); the limit is {limits.max_depth} (query.max_depth)"
        )
