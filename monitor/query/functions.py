"""Functions over instant vectors and scalars (`abs`, `clamp`, `label_replace`,
`histogram_quantile`, ...), following Prometheus 2.x `promql/functions.go`."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from monitor.model import Labels
from monitor.query.errors import ExecutionError
from monitor.query.values import SAME_LABELSET, StepVectors, drop_name, merge_same_labels
from monitor.regex import RegexError, RegexMatch, anchored

__all__ = [
    "CALENDAR_FUNCTIONS",
    "calendar",
    "MATH_FUNCTIONS",
    "bucket_quantile",
    "expand_go_template",
    "histogram_quantile",
    "label_join",
    "label_replace",
    "map_values",
    "scalar_of",
    "sort_rows",
    "absent",
]

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _go_max(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Go's math.Max: +Inf wins even over NaN, otherwise NaN wins."""
    return np.where((a == np.inf) | (b == np.inf), np.inf, np.maximum(a, b))


def _go_min(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where((a == -np.inf) | (b == -np.inf), -np.inf, np.minimum(a, b))


def _round(v: np.ndarray, to_nearest: np.ndarray | None = None) -> np.ndarray:
    if to_nearest is None:
        return np.floor(v + 0.5)
    inverse = 1.0 / to_nearest
    return np.floor(v * inverse + 0.5) / inverse


MATH_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "sqrt": np.sqrt,
    "exp": np.exp,
    "ln": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "sgn": np.sign,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "deg": np.degrees,
    "rad": np.radians,
    "round": _round,
    "clamp_min": lambda v, low: _go_max(v, low),
    "clamp_max": lambda v, high: _go_min(v, high),
    "clamp": lambda v, low, high: _go_max(low, _go_min(high, v)),
}


def map_values(name: str, vec: StepVectors, scalars: list[np.ndarray]) -> StepVectors:
    """Apply a math function sample by sample; the metric name goes, as in Prometheus."""
    args = [s[None, :] for s in scalars]
    values = MATH_FUNCTIONS[name](vec.values, *args)
    present = vec.present
    if name == "clamp":
        # clamp with max < min returns nothing at that step
        present = present & ~(scalars[1] < scalars[0])[None, :]
    out = StepVectors([drop_name(lbl) for lbl in vec.labels], values, present)
    return merge_same_labels(out.nonempty_rows(), SAME_LABELSET)


def _calendar(name: str, seconds: np.ndarray) -> np.ndarray:
    """Go's `time.Unix(int64(v), 0).UTC()` fields of unix times."""
    finite = np.isfinite(seconds)
    moment = np.trunc(np.where(finite, seconds, 0)).astype("datetime64[s]")
    day = moment.astype("datetime64[D]")
    month = moment.astype("datetime64[M]")
    year = moment.astype("datetime64[Y]")
    fields = {
        "year": lambda: year.astype(np.int64) + 1970,
        "month": lambda: month.astype(np.int64) % 12 + 1,
        "day_of_month": lambda: (day - month).astype(np.int64) + 1,
        "day_of_year": lambda: (day - year).astype(np.int64) + 1,
        "day_of_week": lambda: (day.astype(np.int64) + 4) % 7,  # 1970-01-01 was a Thursday
        "days_in_month": lambda: ((month + 1).astype("datetime64[D]") - month).astype(np.int64),
        "hour": lambda: (moment - day).astype(np.int64) // 3600,
        "minute": lambda: (moment - day).astype(np.int64) % 3600 // 60,
    }
    return np.where(finite, fields[name]().astype(np.float64), np.nan)


CALENDAR_FUNCTIONS = frozenset(
    {
        "year",
        "month",
        "day_of_month",
        "day_of_year",
        "day_of_week",
        "days_in_month",
        "hour",
        "minute",
    }
)


def calendar(name: str, vec: StepVectors) -> StepVectors:
    """`hour(v)`, `day_of_week(v)`, ...: fields of the sample values read as unix times."""
    out = StepVectors(
        [drop_name(lbl) for lbl in vec.labels], _calendar(name, vec.values), vec.present
    )
    return merge_same_labels(out, SAME_LABELSET)


def scalar_of(vec: StepVectors) -> np.ndarray:
    """`scalar(v)`: the value of the only sample, NaN unless there is exactly one."""
    single = vec.present.sum(axis=0) == 1
    picked = np.where(vec.present, vec.values, 0.0).sum(axis=0)
    return np.where(single, picked, np.nan)


def absent(vec: StepVectors, labels: Labels, steps: int) -> StepVectors:
    missing = np.asarray(~vec.present.any(axis=0), dtype=bool).reshape(steps)
    return StepVectors([labels], np.ones((1, steps)), missing[None, :]).nonempty_rows()


def sort_rows(vec: StepVectors, descending: bool) -> StepVectors:
    """Order rows by value (NaN last); only meaningful for an instant query, where a
    vector's order is visible. A range query's matrix is ordered by labels anyway."""
    if vec.values.shape[1] != 1:
        return vec
    values = vec.values[:, 0]
    key = -values if descending else values
    order = np.lexsort((key, np.isnan(values)))
    return StepVectors(
        [vec.labels[i] for i in order],
        vec.values[order],
        vec.present[order],
        None if vec.sample_ts is None else vec.sample_ts[order],
    )


def _check_label_name(name: str, function: str) -> None:
    if not _LABEL_NAME.fullmatch(name):
        raise ExecutionError(f"invalid destination label name in {function}(): {name}")


def expand_go_template(template: str, match: RegexMatch) -> str:
    """Go's `Regexp.ExpandString`: `$1`, `${1}`, `$name`, `${name}`, `$$`; a name is as long
    as possible (`$1x` means group `1x`), an unknown group expands to ""."""
    out: list[str] = []
    i = 0
    while i < len(template):
        char = template[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        i += 1
        if i < len(template) and template[i] == "$":
            out.append("$")
            i += 1
            continue
        braced = i < len(template) and template[i] == "{"
        found = re.compile(r"\{(\w+)\}" if braced else r"(\w+)").match(template, i)
        if found is None:
            out.append("$")
            continue
        name = found.group(1)
        i = found.end()
        if name.isdigit():
            out.append(match.group(int(name)))
        elif match.has_group(name):
            out.append(match.group(name))
    return "".join(out)


def _relabel(vec: StepVectors, change: Callable[[dict[str, str]], None]) -> StepVectors:
    labels = []
    for series_labels in vec.labels:
        mapping = dict(series_labels)
        change(mapping)
        labels.append(tuple(sorted((k, v) for k, v in mapping.items() if v != "")))
    out = StepVectors(labels, vec.values, vec.present, vec.sample_ts)
    return merge_same_labels(out, SAME_LABELSET)


def label_replace(
    vec: StepVectors, destination: str, template: str, source: str, pattern: str
) -> StepVectors:
    try:
        regex = anchored(pattern, capture=True)
    except RegexError as exc:
        raise ExecutionError(f"invalid regular expression in label_replace(): {exc}") from None
    _check_label_name(destination, "label_replace")

    def change(mapping: dict[str, str]) -> None:
        match = regex.groups(mapping.get(source, ""))
        if match is not None:
            mapping[destination] = expand_go_template(template, match)

    return _relabel(vec, change)


def label_join(
    vec: StepVectors, destination: str, separator: str, sources: list[str]
) -> StepVectors:
    _check_label_name(destination, "label_join")

    def change(mapping: dict[str, str]) -> None:
        mapping[destination] = separator.join(mapping.get(s, "") for s in sources)

    return _relabel(vec, change)


def bucket_quantile(q: float, bounds: list[float], counts: list[float]) -> float:
    """Prometheus's `bucketQuantile` over classic buckets, given sorted by upper bound."""
    if q != q:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if not bounds or bounds[-1] != math.inf:
        return math.nan
    merged_bounds: list[float] = []
    merged_counts: list[float] = []
    for bound, count in zip(bounds, counts, strict=True):
        if merged_bounds and merged_bounds[-1] == bound:
            merged_counts[-1] += count
        else:
            merged_bounds.append(bound)
            merged_counts.append(count)
    highest = -math.inf
    for i, count in enumerate(merged_counts):
        if count > highest:
            highest = count
        elif count < highest:
            merged_counts[i] = highest
    if len(merged_bounds) < 2:
        return math.nan
    observations = merged_counts[-1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next(
        (i for i in range(len(merged_counts) - 1) if merged_counts[i] >= rank),
        len(merged_counts) - 1,
    )
    if b == len(merged_counts) - 1:
        return merged_bounds[-2]
    if b == 0 and merged_bounds[0] <= 0:
        return merged_bounds[0]
    start, end, count = 0.0, merged_bounds[b], merged_counts[b]
    if b > 0:
        start = merged_bounds[b - 1]
        count -= merged_counts[b - 1]
        rank -= merged_counts[b - 1]
    return start + (end - start) * (rank / count)


def _parse_bound(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def histogram_quantile(q: np.ndarray, vec: StepVectors) -> StepVectors:
    """Rows are grouped by their labels without `le` and the name; rows with a missing or
    malformed `le` are skipped, as Prometheus does."""
    steps = vec.values.shape[1]
    groups: dict[Labels, list[tuple[float, int]]] = defaultdict(list)
    for i, series_labels in enumerate(vec.labels):
        bound = _parse_bound(dict(series_labels).get("le"))
        if bound is None:
            continue
        key = tuple(p for p in series_labels if p[0] not in ("le", "__name__"))
        groups[key].append((bound, i))
    labels, values, present = [], [], []
    for key, buckets in groups.items():
        buckets.sort()
        rows = [row for _, row in buckets]
        bounds = np.array([bound for bound, _ in buckets])
        v, p = vec.values[rows], vec.present[rows]
        out = np.full(steps, np.nan)
        for s in np.flatnonzero(p.any(axis=0)):
            here = p[:, s]
            out[s] = bucket_quantile(float(q[s]), list(bounds[here]), list(v[here, s]))
        labels.append(key)
        values.append(out)
        present.append(p.any(axis=0))
    result = StepVectors(
        labels,
        np.array(values, dtype=np.float64).reshape(-1, steps),
        np.array(present, dtype=bool).reshape(-1, steps),
    )
    return result.nonempty_rows()
