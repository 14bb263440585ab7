"""Durations written as Prometheus writes them: `500ms`, `10s`, `5m`, `1h30m`, `2d`, `1w`, `1y`."""

from __future__ import annotations

import re

__all__ = ["parse_duration", "format_duration"]

_UNITS_S = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    "y": 31536000.0,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")


def parse_duration(text: str) -> float:
    """Seconds in a duration like `1h30m` or `500ms`; a bare number means seconds.

    Raises ValueError with a message that quotes the text and shows the accepted form.
    """
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("empty duration (expected e.g. 500ms, 10s, 5m, 1h)")
    try:
        value = float(cleaned)
    except ValueError:
        pass
    else:
        if value < 0 or value != value:
            raise ValueError(f"invalid duration {text!r}: must be a non-negative number")
        return value
    total, pos = 0.0, 0
    for match in _PART.finditer(cleaned):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS_S[match.group(2)]
        pos = match.end()
    if pos != len(cleaned) or pos == 0:
        raise ValueError(f"invalid duration {text!r} (expected e.g. 500ms, 10s, 5m, 1h30m)")
    return total


def format_duration(seconds: float) -> str:
    """The shortest Prometheus-style spelling of a duration (`90` -> `1m30s`)."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    remaining = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if remaining >= size:
            count, remaining = divmod(remaining, size)
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
