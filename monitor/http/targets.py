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

__all__ = ["TargetsEndpoint", "target_to_api"]


def target_to_api(status: TargetStatus) -> dict[str, object]:
    target = status.target
    health = "unknown" if status.up is None else "up" if status.up else "down"
    last_scrape = (
        dt.datetime.fromtimestamp(status.last_poll_ms / 1000, dt.UTC).isoformat()
        if status.last_poll_ms
        else "0001-01-01T00:00:00Z"
    )
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


class TargetsEndpoint:
    def __init__(self, statuses: Callable[[], Sequence[TargetStatus]]) -> None:
        self._statuses = statuses

    def __call__(self, request: Request) -> Response:
        state = request.params.get("state") or "any"
        active = [] if state == "dropped" else [target_to_api(s) for s in self._statuses()]
        return json_response(
            {"status": "success", "data": {"activeTargets": active, "droppedTargets": []}}
        )
