"""`GET /api/v1/cachewatch/events`: the store's events (slowlog entries, topology changes),
newest first, for `tui --attach` and scripts. Not part of Prometheus's API, hence the
`cachewatch/` prefix; same envelope and `bad_data` errors as the query API.

Events carry what collection stored: slowlog arguments only when configured to keep them
(they are redacted before the store sees them), and never secrets.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.http.params import BadRequest
from monitor.http.wsgi import Request, Response, json_response
from monitor.model import Event

__all__ = ["EventQuery", "EventsEndpoint", "MAX_EVENTS", "event_to_api"]

#: `(kind_prefix, instance or None, start_ms, limit) -> events, newest first`
EventQuery = Callable[[str, str | None, int, int], list[Event]]

#: the most events one request returns, so a client cannot make the server build a huge answer
MAX_EVENTS = 1000
_DEFAULT_LIMIT = 100


def event_to_api(event: Event) -> dict[str, object]:
    return {
        "ts": event.ts_ms / 1000,
        "kind": event.kind,
        "labels": dict(event.target_labels),
        "data": event.data,
    }


class EventsEndpoint:
    def __init__(self, events: EventQuery) -> None:
        self._events = events

    def __call__(self, request: Request) -> Response:
        params = request.params
        kind_prefix = params.get("kind") or ""
        instance = params.get("instance") or None
        start_ms = params.time_ms("start", 0)
        limit = _limit(params.get("limit"))
        found = self._events(kind_prefix, instance, start_ms, limit)
        return json_response({"status": "success", "data": [event_to_api(e) for e in found]})


def _limit(text: str | None) -> int:
    if not text:
        return _DEFAULT_LIMIT
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f'invalid parameter "limit": {text!r} is not an integer') from None
    if value < 1:
        raise BadRequest(f'invalid parameter "limit": {value} is not positive')
    return min(value, MAX_EVENTS)
