"""Is a rate rising, steady or falling? And does it move with another series?

The trend is the Theil-Sen slope of the rate over the window (the median of the slopes
between every pair of points), so one burst or one missed poll doesn't flip it, projected
over the window and compared with the rate's typical level: a change of more than
`threshold` of the level is a trend, less is steady. Rates that stay below `floor` (a few
evictions a minute) are steady whatever they do: going from 0.001/s to 0.004/s is noise.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Trend", "TrendReading", "classify_trend", "correlation"]

#: relative change over the window that counts as a trend
DEFAULT_THRESHOLD = 0.2
#: rates (per second) below this are "no evictions to speak of"
DEFAULT_FLOOR = 0.05
_MIN_POINTS = 3


class Trend(enum.StrEnum):
    RISING = "rising"
    STEADY = "steady"
    FALLING = "falling"
    UNKNOWN = "unknown"  # too few points to tell


@dataclass(frozen=True, slots=True)
class TrendReading:
    trend: Trend
    #: the fitted change over the window relative to the level (0.5 = +50 %); None if unknown
    relative_change: float | None
    #: per second, per second (Theil-Sen)
    slope: float | None
    points: int
    span_s: float


def _theil_sen(t: np.ndarray, v: np.ndarray) -> float:
    i, j = np.triu_indices(len(t), k=1)
    dt = t[j] - t[i]
    keep = dt > 0
    return float(np.median((v[j] - v[i])[keep] / dt[keep]))


def classify_trend(
    times_s: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    floor: float = DEFAULT_FLOOR,
) -> TrendReading:
    """Classify points (time in seconds, rate) ordered by time; NaNs are dropped."""
    t = np.asarray(times_s, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(t) & np.isfinite(v)
    t, v = t[finite], v[finite]
    span = float(t[-1] - t[0]) if len(t) else 0.0
    if len(t) < _MIN_POINTS or span <= 0:
        return TrendReading(Trend.UNKNOWN, None, None, len(t), span)
    slope = _theil_sen(t, v)
    change = slope * span
    level = max(float(np.mean(np.abs(v))), floor)
    relative = change / level
    if float(np.max(np.abs(v))) < floor or abs(relative) <= threshold:
        trend = Trend.STEADY
    else:
        trend = Trend.RISING if relative > 0 else Trend.FALLING
    return TrendReading(trend, relative, slope, len(t), span)


def correlation(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float | None:
    """Pearson's r between paired points (NaN pairs dropped); None with fewer than three
    pairs or when either side is flat (r is undefined then)."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < _MIN_POINTS:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float(np.dot(dx, dx)) * float(np.dot(dy, dy)))
    if denominator <= 1e-12 * max(1.0, float(np.abs(x).max()) * float(np.abs(y).max())):
        return None
    return float(np.dot(dx, dy)) / denominator
