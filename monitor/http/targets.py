"""`GET /api/v1/targets`: every polled target with its health and last error, in Prometheus's
shape (`activeTargets`, `droppedTargets`), so `tui --attach` can say why a target is down and
tools that read Prometheus's targets page read ours.

`scrapeUrl` is the target's URL without credentials; `lastError` is the poller's error text,
which never carries secrets (docs/SAFETY.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from monitor.durations import format_duration
from monitor.http.wsgi import Request, Response, json_response

if TYPE_CHECKING:
    from monitor.poller import TargetStatus
    from monitor.readmodel.source import TargetState

__all__ = ["TargetsEndpoint", "state_to_api", "target_to_api"]

_NEVER = "0001-01-01T00:00:00Z"


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat() if ms else _NEVER


def target_to_api(status: TargetStatus) -> dict[str, object]:
    target = status.target
    health = "unknown" if status.up is None else "up" if status.up else "down"
    last_scrape = _iso(status.last_poll_ms)
    return {
        "discoveredLabels": {},
        "labels": dict(target.series_labels()),
        "scrapePool": target.kind.value,
        "scrapeUrl": target.url,
        "globalUrl": target.url,
        "lastError": status.last_error or "",
        "lastScrape": last_scrape,
        "lastScrapeDuration": status.last_duration_s,
        "health": health,
        "scrapeInterval": format_duration(target.interval_s),
        "scrapeTimeout": format_duration(target.timeout_s),
    }


def state_to_api(state: TargetState) -> dict[str, object]:
    """A target a reader node knows from the upstream's series: no URL (the shard that
    polls it has that), the last poll as the time of its last `*_up` sample."""
    return {
        "discoveredLabels": {},
        "labels": dict(state.labels),
        "scrapePool": state.kind,
        "scrapeUrl": "",
        "globalUrl": "",
        "lastError": state.last_error or "",
        "lastScrape": _iso(state.last_poll_ms),
        "lastScrapeDuration": 0.0,
        "health": state.health.value,
        "scrapeInterval": format_duration(state.interval_s),
        "scrapeTimeout": format_duration(state.timeout_s) if state.timeout_s else "",
    }


class TargetsEndpoint:
    def __init__(self, rows: Callable[[], Sequence[dict[str, object]]]) -> None:
        self._rows = rows

    @classmethod
    def of_statuses(cls, statuses: Callable[[], Sequence[TargetStatus]]) -> TargetsEndpoint:
        """Targets this process polls."""
        return cls(lambda: [target_to_api(s) for s in statuses()])

    @classmethod
    def of_states(cls, states: Callable[[], Sequence[TargetState]]) -> TargetsEndpoint:
        """Targets a reader node lists from the upstream."""
        return cls(lambda: [state_to_api(s) for s in states()])

    def __call__(self, request: Request) -> Response:
        state = request.params.get("state") or "any"
        active = [] if state == "dropped" else list(self._rows())
        return json_response(
            {"status": "success", "data": {"activeTargets": active, "droppedTargets": []}}
        )
