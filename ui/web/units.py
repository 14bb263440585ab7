"""Numbers as people read them: bytes in KiB/MiB/GiB, rates in k/M, latencies in µs/ms/s.

Every formatter takes None or NaN and returns an em dash, so a missing value never shows
as `nan` or crashes a card.
"""

from __future__ import annotations

import math
import time

__all__ = [
    "fmt_bytes",
    "fmt_rate",
    "fmt_count",
    "fmt_percent",
    "fmt_usec",
    "fmt_seconds",
    "fmt_age",
    "fmt_clock",
    "Unit",
    "fmt_unit",
    "PLOTLY_TICK_SUFFIX",
]

MISSING = "—"
_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def fmt_bytes(value: float | None) -> str:
    if _missing(value):
        return MISSING
    assert value is not None
    scaled, unit = value, "B"
    for unit in _BYTE_UNITS:
        if abs(scaled) < 1024 or unit == _BYTE_UNITS[-1]:
            break
        scaled /= 1024
    if unit == "B":
        return f"{scaled:.0f} B"
    return f"{scaled:.1f} {unit}" if abs(scaled) < 100 else f"{scaled:.0f} {unit}"


def fmt_count(value: float | None) -> str:
    """1234 -> 1.23k, 5_600_000 -> 5.6M; small values keep up to one decimal."""
    if _missing(value):
        return MISSING
    assert value is not None
    magnitude = abs(value)
    for threshold, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            scaled = value / threshold
            return f"{scaled:.3g}{suffix}"
    if magnitude >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.2g}" if magnitude < 1 else f"{value:.1f}"


def fmt_rate(value: float | None, unit: str = "ops/s") -> str:
    text = fmt_count(value)
    if text == MISSING or not unit:
        return text
    return f"{text}{unit}" if unit.startswith("/") else f"{text} {unit}"


def fmt_percent(ratio: float | None) -> str:
    if _missing(ratio):
        return MISSING
    assert ratio is not None
    percent = ratio * 100
    return f"{percent:.1f} %" if percent < 99.95 or percent >= 100 else f"{percent:.2f} %"


def fmt_usec(value: float | None) -> str:
    if _missing(value):
        return MISSING
    assert value is not None
    if value < 1000:
        return f"{value:.0f} µs" if value >= 10 else f"{value:.1f} µs"
    if value < 1_000_000:
        return f"{value / 1000:.3g} ms"
    return f"{value / 1_000_000:.3g} s"


def fmt_seconds(value: float | None) -> str:
    """A duration: 45 s, 12 min, 3 h 20 min, 4 d 2 h."""
    if _missing(value):
        return MISSING
    assert value is not None
    seconds = int(value)
    if seconds < 120:
        return f"{value:.0f} s" if value >= 10 else f"{value:.2g} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours < 2:
        return f"{minutes} min"
    if days < 2:
        return f"{hours} h {minutes % 60} min"
    return f"{days} d {hours % 24} h"


def fmt_age(ts_ms: int | None, now_ms: int | None = None) -> str:
    """How long ago: `12 s ago`; `never` for 0/None."""
    if not ts_ms:
        return "never"
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    return f"{fmt_seconds(max(0, now - ts_ms) / 1000)} ago"


def fmt_clock(ts_ms: int) -> str:
    """Local wall-clock time of the server, with the date when it is not today."""
    stamp = time.localtime(ts_ms / 1000)
    today = time.localtime()
    if stamp[:3] == today[:3]:
        return time.strftime("%H:%M:%S", stamp)
    return time.strftime("%Y-%m-%d %H:%M:%S", stamp)


class Unit:
    BYTES = "bytes"
    OPS = "ops/s"
    PER_SECOND = "/s"
    BYTES_PER_SECOND = "B/s"
    RATIO = "ratio"
    USEC = "µs"
    COUNT = "count"
    SECONDS = "s"


def fmt_unit(value: float | None, unit: str) -> str:
    if unit == Unit.BYTES:
        return fmt_bytes(value)
    if unit == Unit.BYTES_PER_SECOND:
        text = fmt_bytes(value)
        return text if text == MISSING else f"{text}/s"
    if unit == Unit.RATIO:
        return fmt_percent(value)
    if unit == Unit.USEC:
        return fmt_usec(value)
    if unit == Unit.SECONDS:
        return fmt_seconds(value)
    if unit in (Unit.OPS, Unit.PER_SECOND):
        return fmt_rate(value, unit if unit == Unit.OPS else "/s")
    return fmt_count(value)


#: Plotly axis settings per unit: SI prefixes from a thousand up (56k, 3.2M), plain numbers
#: below (0.8/s rather than 800m/s)
_SI = {"exponentformat": "SI", "minexponent": 3}
PLOTLY_TICK_SUFFIX: dict[str, dict[str, object]] = {
    Unit.BYTES: {"ticksuffix": "B", **_SI},
    Unit.BYTES_PER_SECOND: {"ticksuffix": "B/s", **_SI},
    Unit.OPS: {"ticksuffix": "", **_SI},
    Unit.PER_SECOND: {"ticksuffix": "/s", **_SI},
    Unit.RATIO: {"tickformat": ".0%", "range": [0, 1.02]},
    Unit.USEC: {"ticksuffix": " µs", **_SI},
    Unit.COUNT: {**_SI},
    Unit.SECONDS: {"ticksuffix": " s", **_SI},
}
