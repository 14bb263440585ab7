"""Request parameters parsed the way Prometheus's HTTP API parses them.

Times are RFC 3339 or unix seconds (with fractions); durations are Prometheus durations
(`5m`, `1h30m`) or float seconds. Every failure is a `BadRequest` whose message names the
parameter, in Prometheus's own wording so clients that match on it keep working.
"""

from __future__ import annotations

import datetime as dt
import math
import urllib.parse

import promql_parser

from monitor.durations import parse_duration
from monitor.model import Matcher
from monitor.query.errors import QueryError
from monitor.query.limits import QueryLimits, check_expression

DEFAULT_LIMITS = QueryLimits()

__all__ = ["BadRequest", "Params", "parse_time_ms", "parse_duration_ms", "parse_selector"]

_MAX_BODY_BYTES = 1 << 20


class BadRequest(ValueError):
    """A request the API refuses with HTTP 400 `bad_data`."""


class Params:
    """Query-string and form parameters of one request (POST form values come after the
    query string's, as in Go's `Request.Form`)."""

    def __init__(self, environ: dict[str, object]) -> None:
        query = str(environ.get("QUERY_STRING") or "")
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        if environ.get("REQUEST_METHOD") == "POST":
            pairs.extend(_form_pairs(environ))
        self._values: dict[str, list[str]] = {}
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    def get(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name, []))

    def required(self, name: str) -> str:
        value = self.get(name)
        if value is None or value == "":
            raise BadRequest(f'missing parameter "{name}"')
        return value

    def time_ms(self, name: str, default_ms: int) -> int:
        value = self.get(name)
        if value is None or value == "":
            return default_ms
        return parse_time_ms(value, name)


def _form_pairs(environ: dict[str, object]) -> list[tuple[str, str]]:
    content_type = str(environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return []
    try:
        length = int(str(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        raise BadRequest("invalid Content-Length header") from None
    if length > _MAX_BODY_BYTES:
        raise BadRequest(f"request body of {length} bytes exceeds the limit of {_MAX_BODY_BYTES}")
    stream = environ.get("wsgi.input")
    body = stream.read(length) if length and hasattr(stream, "read") else b""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not valid UTF-8") from None
    return urllib.parse.parse_qsl(text, keep_blank_values=True)


#: Prometheus clamps times to int64 milliseconds; these bounds leave room for the window
#: arithmetic (start - range, + lookback) to stay inside int64 as well
_MIN_TIME_MS, _MAX_TIME_MS = -(2**62), 2**62


def parse_time_ms(text: str, name: str) -> int:
    """Unix seconds (`1700000000.5`) or RFC 3339 (`2023-11-14T22:13:20.5Z`) as int ms,
    clamped to what the store's int64 timestamps can hold (as Prometheus clamps)."""
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds):
            ms = seconds * 1000  # finite seconds can still overflow as ms (1e308)
            return round(min(max(ms, _MIN_TIME_MS), _MAX_TIME_MS))
        raise BadRequest(f'invalid parameter "{name}": cannot parse "{text}" to a valid timestamp')
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise BadRequest(f'invalid parameter "{name}": cannot parse "{text}" to a valid timestamp')
    return round(parsed.timestamp() * 1000)


def parse_duration_ms(text: str, name: str) -> int:
    """A Prometheus duration or float seconds, as int ms."""
    try:
        seconds = parse_duration(text)
    except ValueError:
        raise BadRequest(
            f'invalid parameter "{name}": cannot parse "{text}" to a valid duration'
        ) from None
    if not math.isfinite(seconds):
        raise BadRequest(f'invalid parameter "{name}": cannot parse "{text}" to a valid duration')
    return round(seconds * 1000)


#: promql_parser's MatchOp values are not hashable, so this is a list, not a dict
_OPS = [
    (promql_parser.MatchOp.Equal, "="),
    (promql_parser.MatchOp.NotEqual, "!="),
    (promql_parser.MatchOp.Re, "=~"),
    (promql_parser.MatchOp.NotRe, "!~"),
]


def _op_text(op: object) -> str:
    return next(text for candidate, text in _OPS if candidate == op)


def parse_selector(
    text: str, name: str = "match[]", limits: QueryLimits = DEFAULT_LIMITS
) -> list[Matcher]:
    """The matchers of a series selector like `redis_up{instance=~"10.*"}`; a text too
    long or too deep for `limits` never reaches the parser."""
    try:
        check_expression(text, limits, f'parameter "{name}"')
    except QueryError as exc:
        raise BadRequest(exc.message) from None
    try:
        expr = promql_parser.parse(text)
    except ValueError as exc:
        raise BadRequest(f'invalid parameter "{name}": {exc}') from None
    if not isinstance(expr, promql_parser.VectorSelector):
        raise BadRequest(f'invalid parameter "{name}": {text!r} is not a series selector')
    if expr.matchers.or_matchers:
        raise BadRequest(f'invalid parameter "{name}": "or" inside a selector is not supported')
    matchers = [Matcher("__name__", "=", expr.name)] if expr.name else []
    matchers.extend(Matcher(m.name, _op_text(m.op), m.value) for m in expr.matchers.matchers)
    return matchers
