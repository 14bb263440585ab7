"""Aggregation operators (`sum by (instance) (...)`, `topk(3, ...)`, ...) over all steps at
once: rows are grouped once, then each group is reduced along the series axis."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from monitor.model import Labels
from monitor.query.errors import ExecutionError
from monitor.query.values import StepVectors, format_value

__all__ = ["AGGREGATIONS", "Grouping", "aggregate", "quantile_of"]

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class Grouping:
    """`by (...)` / `without (...)` / neither, as a function from labels to group labels."""

    __slots__ = ("labels", "without")

    def __init__(self, labels: Sequence[str], without: bool) -> None:
        self.labels = frozenset(labels)
        self.without = without

    def key(self, labels: Labels) -> Labels:
        if self.without:
            return tuple(p for p in labels if p[0] not in self.labels and p[0] != "__name__")
        return tuple(p for p in labels if p[0] in self.labels)


def quantile_of(q: float, values: np.ndarray) -> float:
    """Prometheus's `quantile`: linear interpolation between the closest ranks, NaN samples
    sorted first."""
    if len(values) == 0 or q != q:
        return float("nan")
    if q < 0:
        return float("-inf")
    if q > 1:
        return float("inf")
    nan = np.isnan(values)
    ordered = np.concatenate([values[nan], np.sort(values[~nan])])
    rank = q * (len(ordered) - 1)
    lower = max(0, int(np.floor(rank)))
    upper = min(len(ordered) - 1, lower + 1)
    weight = rank - np.floor(rank)
    return float(ordered[lower] * (1 - weight) + ordered[upper] * weight)


Reduce = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _sum(v: np.ndarray, p: np.ndarray) -> np.ndarray:
    return np.where(p, v, 0.0).sum(axis=0)


def _count(v: np.ndarray, p: np.ndarray) -> np.ndarray:
    return p.sum(axis=0).astype(np.float64)


def _variance(v: np.ndarray, p: np.ndarray) -> np.ndarray:
    count = np.maximum(_count(v, p), 1.0)
    mean = _sum(v, p) / count
    deviation = np.where(p, v - mean, 0.0)
    return (deviation * deviation).sum(axis=0) / count


_REDUCERS: dict[str, Reduce] = {
    "sum": _sum,
    "count": _count,
    "avg": lambda v, p: _sum(v, p) / np.maximum(_count(v, p), 1.0),
    "min": lambda v, p: np.fmin.reduce(np.where(p, v, np.nan), axis=0),
    "max": lambda v, p: np.fmax.reduce(np.where(p, v, np.nan), axis=0),
    "group": lambda v, p: np.ones(v.shape[1]),
    "stdvar": _variance,
    "stddev": lambda v, p: np.sqrt(_variance(v, p)),
}

AGGREGATIONS = frozenset(_REDUCERS) | {"quantile", "topk", "bottomk", "count_values"}


def _groups(labels: list[Labels], grouping: Grouping) -> dict[Labels, list[int]]:
    groups: dict[Labels, list[int]] = defaultdict(list)
    for i, series_labels in enumerate(labels):
        groups[grouping.key(series_labels)].append(i)
    return groups


def _stack(steps: int, labels: list, values: list, present: list) -> StepVectors:
    return StepVectors(
        labels,
        np.array(values, dtype=np.float64).reshape(-1, steps),
        np.array(present, dtype=bool).reshape(-1, steps),
    ).nonempty_rows()


def aggregate(
    op: str, vec: StepVectors, grouping: Grouping, param: np.ndarray | str | None
) -> StepVectors:
    steps = vec.values.shape[1]
    if op in ("topk", "bottomk"):
        assert isinstance(param, np.ndarray)
        return _top(vec, grouping, param, op == "topk")
    if op == "count_values":
        assert isinstance(param, str)
        return _count_values(vec, grouping, param)
    labels, values, present = [], [], []
    for key, rows in _groups(vec.labels, grouping).items():
        v, p = vec.values[rows], vec.present[rows]
        if op == "quantile":
            assert isinstance(param, np.ndarray)
            value = np.array([quantile_of(float(param[s]), v[p[:, s], s]) for s in range(steps)])
        else:
            value = _REDUCERS[op](v, p)
        labels.append(key)
        values.append(value)
        present.append(p.any(axis=0))
    return _stack(steps, labels, values, present)


def _top(vec: StepVectors, grouping: Grouping, k: np.ndarray, largest: bool) -> StepVectors:
    """topk/bottomk keep the chosen series' own labels; NaN ranks after every number."""
    steps = vec.values.shape[1]
    unusable = np.isnan(k) | (np.abs(k) >= 2.0**63)
    if unusable.any():
        bad = float(k[np.flatnonzero(unusable)[0]])
        raise ExecutionError(f"Scalar value {format_value(bad)} overflows int64")
    k_int = np.trunc(k)
    chosen: list[tuple[int, np.ndarray, int]] = []  # (row, selected mask, rank at step 0)
    for rows in _groups(vec.labels, grouping).values():
        v, p = vec.values[rows], vec.present[rows]
        nan = np.isnan(v)
        rank_class = np.where(p, np.where(nan, 1, 0), 2)
        order_key = np.where(rank_class == 0, -v if largest else v, 0.0)
        order = np.lexsort((order_key, rank_class), axis=0)
        rank = np.argsort(order, axis=0, kind="stable")
        selected = p & (rank < k_int[None, :])
        chosen.extend((rows[j], selected[j], int(rank[j, 0])) for j in range(len(rows)))
    if steps == 1:
        # An instant query shows each group's choice best first, as Prometheus does.
        chosen.sort(key=lambda c: c[2])
    return _stack(
        steps,
        [vec.labels[row] for row, _, _ in chosen],
        [vec.values[row] for row, _, _ in chosen],
        [mask for _, mask, _ in chosen],
    )


def _count_values(vec: StepVectors, grouping: Grouping, label: str) -> StepVectors:
    if not _LABEL_NAME.fullmatch(label):
        raise ExecutionError(f"invalid label name {label!r}")
    steps = vec.values.shape[1]
    if not grouping.without:
        grouping = Grouping([*grouping.labels, label], without=False)
    counts: dict[Labels, np.ndarray] = {}
    for i, series_labels in enumerate(vec.labels):
        base = dict(series_labels)
        for s in np.flatnonzero(vec.present[i]):
            base[label] = format_value(float(vec.values[i, s]))
            key = grouping.key(tuple(sorted(base.items())))
            counts.setdefault(key, np.zeros(steps))[s] += 1
    return _stack(steps, list(counts), list(counts.values()), [c > 0 for c in counts.values()])
