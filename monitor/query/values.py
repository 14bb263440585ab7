"""The engine's internal values. Every expression is evaluated at all steps at once, so an
instant vector is a (series x steps) matrix of values with a presence mask, not a list of
samples per step; that is what lets numpy do the work of a range query."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from monitor.model import STALE_NAN_BITS, Labels
from monitor.query.errors import ExecutionError

__all__ = [
    "SAME_LABELSET",
    "StepVectors",
    "RangeVectors",
    "drop_name",
    "is_stale",
    "merge_same_labels",
    "format_value",
    "labels_text",
]

#: Prometheus's error when one step of a result would hold one label set twice
SAME_LABELSET = "vector cannot contain metrics with the same labelset"


@dataclass(slots=True)
class StepVectors:
    """An instant vector at every step: row i is series `labels[i]`; `present[i, s]` says
    whether it has a sample at step s (`values` there is meaningless otherwise).
    `sample_ts` holds the timestamps of the samples a selector picked, for `timestamp()`."""

    labels: list[Labels]
    values: np.ndarray
    present: np.ndarray
    sample_ts: np.ndarray | None = None

    @classmethod
    def empty(cls, steps: int) -> StepVectors:
        return cls([], np.empty((0, steps)), np.empty((0, steps), dtype=bool))

    def nonempty_rows(self) -> StepVectors:
        keep = np.asarray(self.present.any(axis=1))
        if keep.all():
            return self
        return StepVectors(
            [lbl for lbl, k in zip(self.labels, keep, strict=True) if k],
            self.values[keep],
            self.present[keep],
            None if self.sample_ts is None else self.sample_ts[keep],
        )


@dataclass(slots=True)
class RangeVectors:
    """A range vector at every step: the samples of each series (stale markers removed),
    and per step the window `(window_end - range_ms, window_end]` closed on both ends.
    `eval_ts` is the step's evaluation time as functions like `predict_linear` see it."""

    labels: list[Labels]
    ts: list[np.ndarray]
    values: list[np.ndarray]
    window_end: np.ndarray
    range_ms: int
    eval_ts: np.ndarray

    def bounds(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Per step, the slice [lo, hi) of series i's samples inside the window."""
        ts = self.ts[i]
        lo = np.searchsorted(ts, self.window_end - self.range_ms, side="left")
        hi = np.searchsorted(ts, self.window_end, side="right")
        return lo, hi


def is_stale(values: np.ndarray) -> np.ndarray:
    return values.view(np.uint64) == np.uint64(STALE_NAN_BITS)


def drop_name(labels: Labels) -> Labels:
    return tuple(pair for pair in labels if pair[0] != "__name__")


def labels_text(labels: Labels) -> str:
    """`{a="1", b="2"}` as Prometheus prints label sets in errors."""
    return "{" + ", ".join(f'{k}="{v}"' for k, v in labels) + "}"


def merge_same_labels(vec: StepVectors, conflict: str) -> StepVectors:
    """Fold rows that ended up with the same labels (after dropping the metric name, a
    label_replace, an `or`) into one; two of them at one step is the error `conflict`."""
    rows: dict[Labels, list[int]] = defaultdict(list)
    for i, labels in enumerate(vec.labels):
        rows[labels].append(i)
    if len(rows) == len(vec.labels):
        return vec
    labels_out, values_out, present_out = [], [], []
    for labels, idx in rows.items():
        if len(idx) == 1:
            values_out.append(vec.values[idx[0]])
            present_out.append(vec.present[idx[0]])
        else:
            present = vec.present[idx]
            if (present.sum(axis=0) > 1).any():
                raise ExecutionError(conflict)
            pick = present.argmax(axis=0)
            values_out.append(vec.values[idx][pick, np.arange(present.shape[1])])
            present_out.append(present.any(axis=0))
        labels_out.append(labels)
    steps = vec.values.shape[1]
    return StepVectors(
        labels_out,
        np.array(values_out).reshape(-1, steps),
        np.array(present_out, dtype=bool).reshape(-1, steps),
    )


def format_value(value: float) -> str:
    """A float as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it, as Prometheus does."""
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "+Inf"
    if value == float("-inf"):
        return "-Inf"
    return np.format_float_positional(value, trim="-")
