"""Numbers as the TUI prints them.

Pure functions (no Textual), so they are unit-tested directly and shared by every widget.
Which numbers need attention (and so get a colour) is the read model's call:
`monitor/readmodel/levels.py`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "human_bytes",
    "human_rate",
    "human_ms",
    "percent",
    "spark",
]

_BLOCKS = " ▁▂▃▄▅▆▇█"


def human_bytes(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    for unit in ("B", "K", "M", "G", "T"):
        if abs(value) < 1024 or unit == "T":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_rate(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.0f}k"
    if abs(value) >= 1e3:
        return f"{value / 1e3:.1f}k"
    if abs(value) >= 10 or value == 0:
        return f"{value:.0f}"
    return f"{value:.1f}"


def human_ms(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if value >= 1000:
        return f"{value / 1000:.1f}s"
    if value >= 10:
        return f"{value:.0f}ms"
    if value >= 1:
        return f"{value:.1f}ms"
    return f"{value * 1000:.0f}µs"


def percent(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value * 100:.1f}%"


def _buckets(values: Sequence[float], width: int) -> list[float]:
    """Fit a series into `width` columns: the max of each bucket, NaN where a bucket is empty."""
    if len(values) <= width:
        return list(values)
    out = []
    for column in range(width):
        chunk = values[column * len(values) // width : (column + 1) * len(values) // width]
        finite = [v for v in chunk if not math.isnan(v)]
        out.append(max(finite) if finite else math.nan)
    return out


def spark(
    values: Sequence[float], width: int, low: float | None = None, high: float | None = None
) -> str:
    """A series as `width` block characters between `low` and `high` (default: its own
    min and max, so the shape shows); gaps as spaces, a flat series as a middle line."""
    columns = _buckets(values, width)
    finite = [v for v in columns if not math.isnan(v)]
    if not finite:
        return " " * width
    low = min(finite) if low is None else low
    high = max(finite) if high is None else high
    span = high - low
    chars = []
    for value in columns:
        if math.isnan(value):
            chars.append(" ")
        elif span <= abs(high) * 1e-9:
            chars.append(_BLOCKS[4] if high else _BLOCKS[1])
        else:
            level = min(max((value - low) / span, 0.0), 1.0)
            chars.append(_BLOCKS[1 + round(level * (len(_BLOCKS) - 2))])
    return "".join(chars).rjust(width)
