"""Latency from Redis's per-command histograms (`redis_commands_latencies_usec_bucket`).

Redis reports only the buckets that hold calls, so each command has its own sparse set of
`le` bounds. Summing by `le` in PromQL would then mix cumulative counts taken at different
bounds; here each command's cumulative rate is carried forward to every bound of the union
first (a missing bound holds what the bound below it holds), and only then summed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monitor.readmodel.source import RangeSeries
from ui.web.charts import on_grid
from ui.web.units import fmt_usec

__all__ = ["Histogram", "merge_histograms", "BUCKETS_EXPR", "QUANTILES"]

BUCKETS_EXPR = "rate(redis_commands_latencies_usec_bucket{{{sel}}}[{w}])"
QUANTILES = (("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999))


def _bound(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.inf


@dataclass(frozen=True, slots=True)
class Histogram:
    """All commands' calls per second in each latency bucket, at each step."""

    bounds: np.ndarray  # upper bounds in µs, ascending, the last may be +Inf
    per_bucket: np.ndarray  # shape (buckets, steps): calls/s in (bound[i-1], bound[i]]

    @property
    def labels(self) -> list[str]:
        return [
            ("> " + fmt_usec(self.bounds[-2]))
            if math.isinf(b) and len(self.bounds) > 1
            else ("≤ " + fmt_usec(b))
            for b in self.bounds
        ]

    def quantile(self, q: float) -> np.ndarray:
        """Per step, linear interpolation inside the bucket holding the q-th call (NaN
        where there were no calls), as Prometheus's `histogram_quantile`."""
        cumulative = np.cumsum(self.per_bucket, axis=0)
        steps = cumulative.shape[1]
        out = np.full(steps, np.nan)
        if cumulative.shape[0] == 0:
            return out
        total = cumulative[-1]
        for t in range(steps):
            if not total[t] > 0:
                continue
            rank = q * total[t]
            i = int(np.searchsorted(cumulative[:, t], rank))
            i = min(i, len(self.bounds) - 1)
            upper = self.bounds[i]
            lower = self.bounds[i - 1] if i > 0 else 0.0
            if math.isinf(upper):
                out[t] = lower
                continue
            below = cumulative[i - 1, t] if i > 0 else 0.0
            inside = cumulative[i, t] - below
            out[t] = lower + (upper - lower) * ((rank - below) / inside if inside > 0 else 1.0)
        return out


def merge_histograms(series: Sequence[RangeSeries], steps: np.ndarray) -> Histogram:
    by_command: dict[str, list[tuple[float, np.ndarray]]] = {}
    for item in series:
        bound = _bound(item.labels.get("le", "+Inf"))
        values = np.nan_to_num(on_grid(item, steps))
        by_command.setdefault(item.labels.get("cmd", ""), []).append((bound, values))
    bounds = np.array(sorted({b for rows in by_command.values() for b, _ in rows}))
    cumulative = np.zeros((len(bounds), len(steps)))
    for rows in by_command.values():
        rows.sort(key=lambda row: row[0])
        own_bounds = np.array([b for b, _ in rows])
        own = np.vstack([v for _, v in rows])
        # for each union bound, the command's largest bound not above it (-1: none)
        index = np.searchsorted(own_bounds, bounds, side="right") - 1
        present = index >= 0
        cumulative[present] += own[index[present]]
    per_bucket = np.diff(cumulative, axis=0, prepend=0.0) if len(bounds) else cumulative
    return Histogram(bounds, np.clip(per_bucket, 0.0, None))
