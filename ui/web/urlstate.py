"""What a page shows lives in its URL, so a link reproduces the view: the time range
(`range`), auto-refresh (`refresh`), and each page's own parameters (`instance`, `cluster`,
`q`, `tab`, `filter`).

    /target?instance=10.0.0.5:6379&range=6h&refresh=15s
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

__all__ = ["RANGES", "REFRESHES", "ViewQuery", "parse_query", "with_params", "GLOBAL_KEYS"]

#: label -> seconds; the picker's choices
RANGES: dict[str, int] = {
    "5m": 300,
    "15m": 900,
    "1h": 3600,
    "6h": 6 * 3600,
    "24h": 86400,
    "7d": 7 * 86400,
}
#: label -> milliseconds between refreshes; 0 = off
REFRESHES: dict[str, int] = {"off": 0, "5s": 5000, "15s": 15000, "1m": 60000}
DEFAULT_RANGE = "1h"
DEFAULT_REFRESH = "15s"
#: parameters every page keeps when the user moves between pages
GLOBAL_KEYS = ("range", "refresh")


@dataclass(frozen=True, slots=True)
class ViewQuery:
    range: str = DEFAULT_RANGE
    refresh: str = DEFAULT_REFRESH
    params: dict[str, str] = field(default_factory=dict)

    @property
    def range_s(self) -> int:
        return RANGES[self.range]

    @property
    def refresh_ms(self) -> int:
        return REFRESHES[self.refresh]

    def get(self, name: str, default: str = "") -> str:
        return self.params.get(name, default)


def parse_query(search: str | None) -> ViewQuery:
    """Unknown ranges and refresh rates fall back to the defaults rather than failing: a
    hand-edited link still opens."""
    pairs = urllib.parse.parse_qsl((search or "").lstrip("?"), keep_blank_values=False)
    params = dict(pairs)
    range_label = params.pop("range", DEFAULT_RANGE)
    refresh_label = params.pop("refresh", DEFAULT_REFRESH)
    return ViewQuery(
        range=range_label if range_label in RANGES else DEFAULT_RANGE,
        refresh=refresh_label if refresh_label in REFRESHES else DEFAULT_REFRESH,
        params=params,
    )


def with_params(search: str | None, keep_only_global: bool = False, **changes: str | None) -> str:
    """`search` with `changes` applied (None or "" removes a key), as `?a=b` or ""."""
    params = dict(urllib.parse.parse_qsl((search or "").lstrip("?")))
    if keep_only_global:
        params = {k: v for k, v in params.items() if k in GLOBAL_KEYS}
    for key, value in changes.items():
        if value:
            params[key] = value
        else:
            params.pop(key, None)
    encoded = urllib.parse.urlencode(params)
    return f"?{encoded}" if encoded else ""
