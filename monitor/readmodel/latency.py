"""The application's latency from Redis's per-command histograms, merged exactly.

Redis (7.0+, `LATENCY HISTOGRAM`) reports for each command the cumulative count of calls at
each power-of-two bound in µs, but only at the bounds where the count grew: each command has
its own sparse set of `le` series, and a bound first appears when a call first lands there.
Two ways of merging that go wrong, both seen in this product before:

- `sum by (le)` of the rates mixes cumulative counts taken at different bounds, so a fleet
  p99 of 16.9 ms was shown against a true 6 µs;
- filling a bound that has no sample yet with 0 rewrites history: when a slow call makes a
  new bound appear, every earlier call of that command moves above it, and a chart of the
  past changes.

Here a bound a command does not report *at a given step* holds what the command's largest
reported bound below it holds (no call landed between them, or the bound would exist), so
every command's counts are complete at every union bound; the per-bound counts are then
read at each step and one rate window earlier (forward-filled over time by PromQL's
lookback, never back-filled), differenced, and only then summed over commands. A counter
reset (restart) restarts the difference from zero; a command first seen inside the window
had no calls before it if the target was polled then.

Only the application's commands count: `definitions.MONITORING_COMMANDS` (cachewatch's own
INFO/LATENCY calls among them) are left out, so a quiet server shows its application's p99,
not its monitor's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monitor.readmodel.definitions import MONITORING_CMD_REGEX, is_monitoring_command
from monitor.readmodel.source import DataSource, RangeSeries

__all__ = [
    "BUCKET_METRIC",
    "LatencyHistogram",
    "merge_latency",
    "latency_histogram",
    "latency_by_command",
    "fleet_latency",
    "QUANTILES",
]

BUCKET_METRIC = "redis_commands_latencies_usec_bucket"
#: the application's buckets; with the +Inf bucket of each monitoring command (which says
#: at which steps the target was polled: `merge_latency` needs no more of them), a fleet
#: read is the app's sparse buckets, not every bucket of every command (at 1,000 targets a
#: third of the series, each decoded for nothing)
APP_BUCKETS = f'{BUCKET_METRIC}{{cmd!~"{MONITORING_CMD_REGEX}"}}'
MONITORING_POLLED = f'{BUCKET_METRIC}{{cmd=~"{MONITORING_CMD_REGEX}",le="+Inf"}}'
#: the percentiles the views show, by label
QUANTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999))


def _bound(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.inf


@dataclass(frozen=True, slots=True)
class LatencyHistogram:
    """The application's calls in each latency bucket during the rate window ending at each
    step. `bounds` ascending (µs, the last +Inf); `calls[i, t]` the calls in
    (bounds[i-1], bounds[i]] in the window ending at `ts_ms[t]` (NaN: no data)."""

    bounds: np.ndarray
    calls: np.ndarray
    ts_ms: tuple[int, ...]
    window_s: float

    @property
    def per_second(self) -> np.ndarray:
        return self.calls / self.window_s

    def quantile(self, q: float) -> np.ndarray:
        """Per step, Prometheus's `histogram_quantile`: linear inside the bucket holding the
        q-th call, the highest finite bound for the +Inf bucket; NaN without calls."""
        steps = self.calls.shape[1] if self.calls.ndim == 2 else 0
        out = np.full(steps, np.nan)
        if self.calls.size == 0:
            return out
        cumulative = np.cumsum(np.nan_to_num(self.calls), axis=0)
        known = ~np.isnan(self.calls).all(axis=0)
        total = cumulative[-1]
        for t in range(steps):
            if not known[t] or not total[t] > 0:
                continue
            rank = q * total[t]
            i = min(int(np.searchsorted(cumulative[:, t], rank)), len(self.bounds) - 1)
            upper = self.bounds[i]
            lower = self.bounds[i - 1] if i > 0 else 0.0
            if math.isinf(upper):
                out[t] = lower
                continue
            below = cumulative[i - 1, t] if i > 0 else 0.0
            inside = cumulative[i, t] - below
            out[t] = lower + (upper - lower) * ((rank - below) / inside if inside > 0 else 1.0)
        return out

    def last(self, q: float) -> float | None:
        """The quantile at the last step, None without calls."""
        values = self.quantile(q)
        if values.size == 0 or math.isnan(values[-1]):
            return None
        return float(values[-1])


def _grid(series: RangeSeries, index: dict[int, int], steps: int) -> np.ndarray:
    row = np.full(steps, np.nan)
    for ts, value in zip(series.ts_ms, series.values, strict=True):
        at = index.get(ts)
        if at is not None:
            row[at] = value
    return row


def _filled(own_bounds: np.ndarray, own: np.ndarray, union: np.ndarray) -> np.ndarray:
    """One command's cumulative counts at every union bound and step: a bound it does not
    report at a step holds its largest reported bound below (0 below all of them); NaN at
    steps where the command reports nothing."""
    rows = np.arange(own.shape[0])[:, None]
    present = ~np.isnan(own)
    last_present = np.maximum.accumulate(np.where(present, rows, -1), axis=0)
    filled = np.where(
        last_present >= 0,
        np.take_along_axis(np.nan_to_num(own), np.maximum(last_present, 0), axis=0),
        0.0,
    )
    at = np.searchsorted(own_bounds, union, side="right") - 1
    out = np.where(at[:, None] >= 0, filled[np.maximum(at, 0)], 0.0)
    out[:, ~present.any(axis=0)] = np.nan
    return out


def merge_latency(
    series: Sequence[RangeSeries], ts_ms: Sequence[int], lag: int, window_s: float
) -> LatencyHistogram:
    """Merge one target's bucket series (raw cumulative counts at the steps `ts_ms`) into
    the application's histogram over windows of `lag` steps (`window_s` seconds); the first
    `lag` steps only serve as the start of later windows and are not in the result."""
    index = {t: i for i, t in enumerate(ts_ms)}
    steps = len(ts_ms)
    by_command: dict[str, list[tuple[float, np.ndarray]]] = {}
    polled = np.zeros(steps, bool)
    for item in series:
        row = _grid(item, index, steps)
        polled |= ~np.isnan(row)
        cmd = item.labels.get("cmd", "")
        if is_monitoring_command(cmd):
            continue
        by_command.setdefault(cmd, []).append((_bound(item.labels.get("le", "+Inf")), row))
    reported = {b for rows in by_command.values() for b, _ in rows}
    # Redis's buckets are powers of two and a bound is reported only where calls landed
    # in (bound/2, bound]: adding each half bound keeps the interpolation inside the true
    # bucket instead of stretching it down to the next reported bound
    halves = {b / 2 for b in reported if 1 < b < math.inf}
    union = np.array(sorted(reported | halves | {math.inf}))
    result_ts = tuple(ts_ms[lag:])
    total = np.full((len(union), len(result_ts)), np.nan)
    for rows in by_command.values():
        rows.sort(key=lambda r: r[0])
        own_bounds = np.array([b for b, _ in rows])
        filled = _filled(own_bounds, np.vstack([r for _, r in rows]), union)
        now, before = filled[:, lag:], filled[:, : steps - lag]
        new_command = np.isnan(before[-1]) & polled[: steps - lag]
        before = np.where(new_command, 0.0, before)
        reset = now[-1] < before[-1]
        increase = np.where(reset, now, now - before)
        known = ~np.isnan(increase[-1])
        total[:, known] = np.nan_to_num(total[:, known]) + increase[:, known]
    calls = np.diff(total, axis=0, prepend=0.0) if len(union) else total
    return LatencyHistogram(union, np.clip(calls, 0.0, None), result_ts, window_s)


def _plan(start_ms: int, end_ms: int, step_ms: int, window_ms: int) -> tuple[int, int]:
    """(lag in steps, first query step) for windows of at least `window_ms` at each step."""
    lag = max(1, math.ceil(window_ms / step_ms))
    return lag, start_ms - lag * step_ms


def latency_histogram(
    source: DataSource, sel: str, start_ms: int, end_ms: int, step_ms: int, window_ms: int
) -> LatencyHistogram:
    """One target's (`sel`: its matchers) application latency at each step of the range."""
    lag, first = _plan(start_ms, end_ms, step_ms, window_ms)
    series = source.range(f"{BUCKET_METRIC}{{{sel}}}", first, end_ms, step_ms)
    ts = list(range(first, end_ms + 1, step_ms))
    return merge_latency(series, ts, lag, lag * step_ms / 1000)


def latency_by_command(
    source: DataSource, sel: str, start_ms: int, end_ms: int, step_ms: int, window_ms: int
) -> dict[str, LatencyHistogram]:
    """One target's latency per application command at each step of the range."""
    lag, first = _plan(start_ms, end_ms, step_ms, window_ms)
    series = source.range(f"{BUCKET_METRIC}{{{sel}}}", first, end_ms, step_ms)
    ts = list(range(first, end_ms + 1, step_ms))
    polled = [s for s in series if is_monitoring_command(s.labels.get("cmd", ""))]
    by_command: dict[str, list[RangeSeries]] = {}
    for item in series:
        cmd = item.labels.get("cmd", "")
        if not is_monitoring_command(cmd):
            by_command.setdefault(cmd, []).append(item)
    # the monitoring commands' series tell when the target was polled (new commands count
    # from zero there), though they are left out of every command's figures
    return {
        cmd: merge_latency([*items, *polled], ts, lag, lag * step_ms / 1000)
        for cmd, items in sorted(by_command.items())
    }


def fleet_latency(source: DataSource, now_ms: int, window_ms: int) -> dict[str, LatencyHistogram]:
    """Every target's application latency over the window ending now, by instance: one
    query for the whole fleet."""
    start = now_ms - window_ms
    series = source.range(APP_BUCKETS, start, now_ms, window_ms)
    series += source.range(MONITORING_POLLED, start, now_ms, window_ms)
    by_instance: dict[str, list[RangeSeries]] = {}
    for item in series:
        by_instance.setdefault(item.labels.get("instance", ""), []).append(item)
    return {
        instance: merge_latency(items, [start, now_ms], 1, window_ms / 1000)
        for instance, items in by_instance.items()
    }
