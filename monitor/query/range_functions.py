"""Functions over range vectors (`rate(x[5m])`, `avg_over_time(x[1h])`, ...), evaluated for
every step at once: per series, the window of each step is a slice [lo, hi) of the samples,
and sums over windows are `ufunc.reduceat` calls instead of a Python loop per step.

The arithmetic follows Prometheus 2.x `promql/functions.go` so results agree with a real
Prometheus (extrapolation in `extrapolatedRate`, counter-reset correction, NaN handling of
min/max, the exact-zero cases of `deriv` and `stddev` over constant samples)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from monitor.query.aggregations import quantile_of
from monitor.query.values import (
    SAME_LABELSET,
    RangeVectors,
    StepVectors,
    drop_name,
    merge_same_labels,
)

__all__ = ["RANGE_FUNCTIONS", "eval_range_function", "range_argument_index"]


def _reduce(ufunc: np.ufunc, arr: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """`ufunc.reduce(arr[lo[s]:hi[s]])` for every step s; garbage where lo >= hi."""
    padded = np.append(arr, 0.0)
    idx = np.empty(2 * len(lo), dtype=np.intp)
    idx[0::2] = lo
    idx[1::2] = hi
    return ufunc.reduceat(padded, idx)[0::2]


class _Window:
    """Every series' samples end to end in flat arrays, and for every (series, step) cell,
    flattened series-major, the slice [lo, hi) of samples inside the window. Computing on
    all cells at once keeps the numpy call count independent of the number of series."""

    __slots__ = (
        "_lengths",
        "_series_ts",
        "_series_values",
        "eval_ts",
        "hi",
        "last",
        "lo",
        "n",
        "range_ms",
        "ts",
        "values",
        "window_end",
    )

    def __init__(self, rv: RangeVectors) -> None:
        steps = len(rv.window_end)
        count = len(rv.labels)
        lengths = np.array([len(t) for t in rv.ts], dtype=np.intp)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        self.ts = np.concatenate([*rv.ts, np.empty(0, np.int64)], dtype=np.int64)
        self.values = np.concatenate([*rv.values, np.empty(0)], dtype=np.float64)
        self.lo = np.empty(count * steps, dtype=np.intp)
        self.hi = np.empty(count * steps, dtype=np.intp)
        for i in range(count):
            lo, hi = rv.bounds(i)
            self.lo[i * steps : (i + 1) * steps] = lo + offsets[i]
            self.hi[i * steps : (i + 1) * steps] = hi + offsets[i]
        self.n = self.hi - self.lo
        self.last = np.maximum(self.hi - 1, 0)
        self.window_end = np.tile(rv.window_end, count)
        self.eval_ts = np.tile(rv.eval_ts, count)
        self.range_ms = rv.range_ms
        self._series_ts = rv.ts
        self._series_values = rv.values
        self._lengths = lengths

    def shifts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per sample and per cell: the series' first timestamp and a finite value of it.
        Subtracting them before summing keeps sums small, hence precise, and one NaN or Inf
        sample then only spoils the windows that contain it."""
        firsts = np.array([t[0] if len(t) else 0 for t in self._series_ts], dtype=np.int64)
        origins = np.array([_finite_origin(v) for v in self._series_values])
        steps = len(self.lo) // max(len(firsts), 1)
        return (
            np.repeat(firsts, self._lengths),
            np.repeat(origins, self._lengths),
            np.repeat(firsts, steps),
            np.repeat(origins, steps),
        )

    def cells(self, per_step: np.ndarray) -> np.ndarray:
        """A per-step array repeated for every series, to line up with the cells."""
        return np.tile(per_step, len(self.lo) // max(len(per_step), 1))

    def sum(self, arr: np.ndarray, skip_first: bool = False) -> np.ndarray:
        lo = np.minimum(self.lo + 1, self.hi) if skip_first else self.lo
        return np.where(self.hi > lo, _reduce(np.add, arr, lo, self.hi), 0.0)

    def pairwise(self, arr: np.ndarray) -> np.ndarray:
        """Sum over consecutive pairs inside each window of a per-pair array `arr`, where
        `arr[i]` describes samples i-1 and i (arr[0] unused). Pairs that straddle two
        series never fall inside one window."""
        return self.sum(arr, skip_first=True)


def _finite_origin(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite[0]) if len(finite) else 0.0


Result = tuple[np.ndarray, np.ndarray]  # values, present


def _extrapolated(w: _Window, counter: bool, per_second: bool) -> Result:
    v, t = w.values, w.ts
    first, last = v[w.lo.clip(max=len(v) - 1)], v[w.last]
    result = last - first
    if counter:
        drops = np.zeros(len(v))
        drops[1:] = np.where(v[1:] < v[:-1], v[:-1], 0.0)
        result = result + w.pairwise(drops)
    first_t = t[w.lo.clip(max=len(t) - 1)]
    last_t = t[w.last]
    to_start = (first_t - (w.window_end - w.range_ms)) / 1000.0
    to_end = (w.window_end - last_t) / 1000.0
    sampled = (last_t - first_t) / 1000.0
    average = sampled / np.maximum(w.n - 1, 1)
    if counter:
        # Counters can't go below zero: don't extrapolate the start past the zero point.
        to_zero = sampled * (first / result)
        cap = (result > 0) & (first >= 0) & (to_zero < to_start)
        to_start = np.where(cap, to_zero, to_start)
    threshold = average * 1.1
    interval = (
        sampled
        + np.where(to_start < threshold, to_start, average / 2)
        + np.where(to_end < threshold, to_end, average / 2)
    )
    factor = interval / sampled
    if per_second:
        factor = factor / (w.range_ms / 1000.0)
    return result * factor, w.n >= 2


def _instant(w: _Window, per_second: bool) -> Result:
    v, t = w.values, w.ts
    prev_i = np.maximum(w.hi - 2, 0)
    last, prev = v[w.last], v[prev_i]
    if per_second:
        value = np.where(last < prev, last, last - prev)
        value = value / ((t[w.last] - t[prev_i]) / 1000.0)
    else:
        value = last - prev
    return value, w.n >= 2


def _changes(w: _Window) -> Result:
    v = w.values
    changed = np.zeros(len(v))
    changed[1:] = (v[1:] != v[:-1]) & ~(np.isnan(v[1:]) & np.isnan(v[:-1]))
    return w.pairwise(changed), w.n >= 1


def _resets(w: _Window) -> Result:
    v = w.values
    dropped = np.zeros(len(v))
    dropped[1:] = v[1:] < v[:-1]
    return w.pairwise(dropped), w.n >= 1


def _extremes(w: _Window) -> tuple[np.ndarray, np.ndarray]:
    """Per window, whether all samples are equal, and the smallest (NaN if any is NaN)."""
    low = _reduce(np.minimum, w.values, w.lo, w.hi)
    high = _reduce(np.maximum, w.values, w.lo, w.hi)
    return low == high, low


def _regression(w: _Window, intercept_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slope (per second) and the fitted value at `intercept_ms`. Shifting x
    and y to the series' first sample keeps the sums small, hence precise. Like Prometheus,
    equal samples give exactly slope 0 (NaN if they are infinite)."""
    v, t = w.values, w.ts
    first_ts, origin, cell_first_ts, cell_origin = w.shifts()
    x = (t - first_ts) / 1000.0
    y = v - origin
    n = w.n.astype(np.float64)
    sx, sy = w.sum(x), w.sum(y)
    sxy, sxx = w.sum(x * y), w.sum(x * x)
    slope = (sxy - sx * sy / n) / (sxx - sx * sx / n)
    at = (intercept_ms - cell_first_ts) / 1000.0
    fitted = sy / n + slope * (at - sx / n) + cell_origin
    equal, value = _extremes(w)
    finite = np.isfinite(value)
    slope = np.where(equal, np.where(finite, 0.0, np.nan), slope)
    fitted = np.where(equal, np.where(finite, value, np.nan), fitted)
    return slope, fitted


def _deriv(w: _Window) -> Result:
    slope, _ = _regression(w, w.window_end)
    return slope, w.n >= 2


def _predict_linear(w: _Window, seconds: np.ndarray) -> Result:
    slope, fitted = _regression(w, w.eval_ts)
    return slope * seconds + fitted, w.n >= 2


def _variance(w: _Window) -> np.ndarray:
    y = w.values - w.shifts()[1]
    n = w.n.astype(np.float64)
    sy, syy = w.sum(y), w.sum(y * y)
    variance = np.maximum((syy - sy * sy / n) / n, 0.0)
    equal, value = _extremes(w)
    return np.where(equal & np.isfinite(value), 0.0, variance)


def _quantile(w: _Window, q: np.ndarray) -> Result:
    out = np.full(len(w.lo), np.nan)
    for s, (lo, hi) in enumerate(zip(w.lo, w.hi, strict=True)):
        if hi > lo:
            out[s] = quantile_of(float(q[s]), w.values[lo:hi])
    return out, w.n >= 1


def _avg(w: _Window) -> Result:
    return w.sum(w.values) / np.maximum(w.n, 1), w.n >= 1


_SIMPLE: dict[str, Callable[[_Window], Result]] = {
    "rate": lambda w: _extrapolated(w, counter=True, per_second=True),
    "increase": lambda w: _extrapolated(w, counter=True, per_second=False),
    "delta": lambda w: _extrapolated(w, counter=False, per_second=False),
    "irate": lambda w: _instant(w, per_second=True),
    "idelta": lambda w: _instant(w, per_second=False),
    "changes": _changes,
    "resets": _resets,
    "deriv": _deriv,
    "avg_over_time": _avg,
    "sum_over_time": lambda w: (w.sum(w.values), w.n >= 1),
    "count_over_time": lambda w: (w.n.astype(np.float64), w.n >= 1),
    "min_over_time": lambda w: (_reduce(np.fmin, w.values, w.lo, w.hi), w.n >= 1),
    "max_over_time": lambda w: (_reduce(np.fmax, w.values, w.lo, w.hi), w.n >= 1),
    "last_over_time": lambda w: (w.values[w.last], w.n >= 1),
    "present_over_time": lambda w: (np.ones(len(w.lo)), w.n >= 1),
    "stdvar_over_time": lambda w: (_variance(w), w.n >= 1),
    "stddev_over_time": lambda w: (np.sqrt(_variance(w)), w.n >= 1),
}

#: functions with a scalar argument: name -> (index of the range-vector argument, function)
_WITH_SCALAR: dict[str, tuple[int, Callable[[_Window, np.ndarray], Result]]] = {
    "predict_linear": (0, _predict_linear),
    "quantile_over_time": (1, _quantile),
}

RANGE_FUNCTIONS = frozenset(_SIMPLE) | frozenset(_WITH_SCALAR) | {"absent_over_time"}


def range_argument_index(name: str) -> int:
    return _WITH_SCALAR[name][0] if name in _WITH_SCALAR else 0


def eval_range_function(
    name: str, rv: RangeVectors, scalar: np.ndarray | None, absent_labels: tuple
) -> StepVectors:
    steps = len(rv.window_end)
    if name == "absent_over_time":
        seen = np.zeros(steps, dtype=bool)
        for i in range(len(rv.labels)):
            lo, hi = rv.bounds(i)
            seen |= hi > lo
        return StepVectors([absent_labels], np.ones((1, steps)), ~seen[None, :]).nonempty_rows()
    if not rv.labels or not any(len(ts) for ts in rv.ts):
        # no sample in any window (series matched, but e.g. only stale markers in range):
        # nothing to index into, and nothing to return
        return StepVectors.empty(steps)
    window = _Window(rv)
    if name in _WITH_SCALAR:
        assert scalar is not None
        value, ok = _WITH_SCALAR[name][1](window, window.cells(scalar))
    else:
        value, ok = _SIMPLE[name](window)
    keep_name = name == "last_over_time"
    vec = StepVectors(
        [lbl if keep_name else drop_name(lbl) for lbl in rv.labels],
        np.asarray(value, dtype=np.float64).reshape(-1, steps),
        np.asarray(ok, dtype=bool).reshape(-1, steps),
    )
    return merge_same_labels(vec.nonempty_rows(), SAME_LABELSET)
