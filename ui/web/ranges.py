"""The default time range fits the history: a fresh install with three minutes of data opens
on 5m, not on an hour whose charts are squeezed into the right edge. A range picked by the
user (in the URL) is always kept."""

from __future__ import annotations

import urllib.parse

from monitor.query import QueryError
from monitor.readmodel.source import DataSource
from ui.web.urlstate import DEFAULT_RANGE, RANGES

__all__ = ["fitted_range", "history_span_s", "range_in"]

#: any target's up series: present from a target's first poll on
_UP = 'count({__name__=~"redis_up|memcached_up"})'
_STEP_MS = 15_000


def range_in(search: str | None) -> bool:
    """Whether the URL names a range (then it is the user's, and stays)."""
    return any(key == "range" for key, _ in urllib.parse.parse_qsl((search or "").lstrip("?")))


def history_span_s(source: DataSource, now_ms: int) -> float | None:
    """How far back the history goes, within the default range (None: no data at all)."""
    horizon_ms = RANGES[DEFAULT_RANGE] * 1000
    try:
        series = source.range(_UP, now_ms - horizon_ms, now_ms, _STEP_MS)
    except QueryError:
        return None
    starts = [s.ts_ms[0] for s in series if s.ts_ms]
    return (now_ms - min(starts)) / 1000 if starts else None


def fitted_range(span_s: float | None) -> str:
    """The shortest range that shows the whole history, but no longer than the default."""
    if span_s is None:
        return DEFAULT_RANGE
    for label, seconds in sorted(RANGES.items(), key=lambda item: item[1]):
        if seconds >= span_s or label == DEFAULT_RANGE:
            return label
    return DEFAULT_RANGE
