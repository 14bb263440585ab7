"""Binary operators between scalars and instant vectors, with Prometheus's vector matching
(`on`/`ignoring`, `group_left`/`group_right`, `bool`) and its error messages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from monitor.model import Labels
from monitor.query.errors import ExecutionError
from monitor.query.values import (
    SAME_LABELSET,
    StepVectors,
    drop_name,
    labels_text,
    merge_same_labels,
)

__all__ = ["ARITHMETIC", "COMPARISONS", "SET_OPERATORS", "Matching", "binary"]


ARITHMETIC: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "%": np.fmod,  # Go's math.Mod: the sign follows the dividend
    "^": np.power,
    "atan2": np.arctan2,
}
COMPARISONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
}
SET_OPERATORS = frozenset({"and", "or", "unless"})
#: Prometheus 2.x keeps the metric name for atan2 and for comparisons without bool.
_DROPS_NAME = frozenset({"+", "-", "*", "/", "%", "^"})


@dataclass(frozen=True, slots=True)
class Matching:
    """How two vectors' series are paired: `card` is one-to-one, many-to-one (group_left),
    one-to-many (group_right) or many-to-many (set operators)."""

    card: str = "one-to-one"
    on: bool = False
    labels: frozenset[str] = frozenset()
    include: tuple[str, ...] = ()
    return_bool: bool = False

    def signature(self, labels: Labels) -> Labels:
        if self.on:
            return tuple(p for p in labels if p[0] in self.labels)
        return tuple(p for p in labels if p[0] not in self.labels and p[0] != "__name__")


Operand = StepVectors | np.ndarray


def binary(op: str, lhs: Operand, rhs: Operand, matching: Matching) -> Operand:
    if isinstance(lhs, np.ndarray) and isinstance(rhs, np.ndarray):
        if op in COMPARISONS:
            return COMPARISONS[op](lhs, rhs).astype(np.float64)
        return ARITHMETIC[op](lhs, rhs)
    if isinstance(lhs, StepVectors) and isinstance(rhs, StepVectors):
        if op in SET_OPERATORS:
            return _SET[op](lhs, rhs, matching)
        return _vector_vector(op, lhs, rhs, matching)
    if isinstance(lhs, StepVectors):
        assert isinstance(rhs, np.ndarray)
        return _vector_scalar(op, lhs, rhs, scalar_left=False, return_bool=matching.return_bool)
    assert isinstance(rhs, StepVectors)
    return _vector_scalar(op, rhs, lhs, scalar_left=True, return_bool=matching.return_bool)


def _vector_scalar(
    op: str, vec: StepVectors, scalar: np.ndarray, scalar_left: bool, return_bool: bool
) -> StepVectors:
    left, right = (scalar[None, :], vec.values) if scalar_left else (vec.values, scalar[None, :])
    labels = vec.labels
    if op in COMPARISONS:
        keep = COMPARISONS[op](left, right)
        if return_bool:
            values, present = keep.astype(np.float64), vec.present
            labels = [drop_name(lbl) for lbl in labels]
        else:
            # The vector's value survives the filter, whichever side it was on.
            values, present = vec.values, vec.present & keep
    else:
        values, present = ARITHMETIC[op](left, right), vec.present
        if op in _DROPS_NAME:
            labels = [drop_name(lbl) for lbl in labels]
    out = StepVectors(list(labels), np.broadcast_to(values, vec.values.shape), present)
    return merge_same_labels(out.nonempty_rows(), SAME_LABELSET)


def _result_labels(many: Labels, one: Labels, op: str, m: Matching) -> Labels:
    out = dict(many)
    if op in _DROPS_NAME or m.return_bool:
        out.pop("__name__", None)
    if m.card == "one-to-one":
        if m.on:
            out = {k: v for k, v in out.items() if k in m.labels}
        else:
            for name in m.labels:
                out.pop(name, None)
    one_map = dict(one)
    for name in m.include:
        if one_map.get(name):
            out[name] = one_map[name]
        else:
            out.pop(name, None)
    return tuple(sorted(out.items()))


def _rows_by_signature(vec: StepVectors, m: Matching) -> dict[Labels, list[int]]:
    rows: dict[Labels, list[int]] = defaultdict(list)
    for i, labels in enumerate(vec.labels):
        rows[m.signature(labels)].append(i)
    return rows


def _vector_vector(op: str, lhs: StepVectors, rhs: StepVectors, m: Matching) -> StepVectors:
    swapped = m.card == "one-to-many"
    many, one = (rhs, lhs) if swapped else (lhs, rhs)
    one_rows = _rows_by_signature(one, m)
    for sig, rows in one_rows.items():
        if len(rows) > 1 and (one.present[rows].sum(axis=0) > 1).any():
            side = "left" if swapped else "right"
            pair = ", ".join(labels_text(one.labels[r]) for r in rows[:2])
            raise ExecutionError(
                f"found duplicate series for the match group {labels_text(sig)} on the "
                f"{side} hand-side of the operation: [{pair}];many-to-many matching not "
                "allowed: matching labels must be unique on one side"
            )
    labels: list[Labels] = []
    values: list[np.ndarray] = []
    present: list[np.ndarray] = []
    checks: dict[tuple, list[int]] = defaultdict(list)
    for i, many_labels in enumerate(many.labels):
        sig = m.signature(many_labels)
        for j in one_rows.get(sig, ()):
            both = many.present[i] & one.present[j]
            if not both.any():
                continue
            left, right = many.values[i], one.values[j]
            if swapped:
                left, right = right, left
            if op in COMPARISONS:
                keep = COMPARISONS[op](left, right)
                value = keep.astype(np.float64) if m.return_bool else left
                ok = both if m.return_bool else both & keep
            else:
                value, ok = ARITHMETIC[op](left, right), both
            out_labels = _result_labels(many_labels, one.labels[j], op, m)
            checks[sig if m.card == "one-to-one" else (sig, out_labels)].append(len(labels))
            labels.append(out_labels)
            values.append(value)
            present.append(ok)
    steps = lhs.values.shape[1]
    out = StepVectors(
        labels,
        np.array(values, dtype=np.float64).reshape(-1, steps),
        np.array(present, dtype=bool).reshape(-1, steps),
    )
    for rows in checks.values():
        if len(rows) > 1 and (out.present[rows].sum(axis=0) > 1).any():
            if m.card == "one-to-one":
                raise ExecutionError(
                    "multiple matches for labels: many-to-one matching must be explicit "
                    "(group_left/group_right)"
                )
            raise ExecutionError(
                "multiple matches for matching labels; many-to-one matching must be explicit "
                "(group_left/group_right)"
            )
    return merge_same_labels(out.nonempty_rows(), SAME_LABELSET)


def _presence_by_signature(vec: StepVectors, m: Matching) -> dict[Labels, np.ndarray]:
    return {
        sig: np.asarray(vec.present[rows].any(axis=0))
        for sig, rows in _rows_by_signature(vec, m).items()
    }


def _matched(vec: StepVectors, other: StepVectors, m: Matching) -> np.ndarray:
    """Per row of `vec`, whether `other` has a series with its signature at each step."""
    by_sig = _presence_by_signature(other, m)
    none = np.zeros(vec.values.shape[1], dtype=bool)
    return np.array(
        [by_sig.get(m.signature(labels), none) for labels in vec.labels], dtype=bool
    ).reshape(vec.present.shape)


def _and(lhs: StepVectors, rhs: StepVectors, m: Matching) -> StepVectors:
    present = lhs.present & _matched(lhs, rhs, m)
    return StepVectors(lhs.labels, lhs.values, present).nonempty_rows()


def _unless(lhs: StepVectors, rhs: StepVectors, m: Matching) -> StepVectors:
    present = lhs.present & ~_matched(lhs, rhs, m)
    return StepVectors(lhs.labels, lhs.values, present).nonempty_rows()


def _or(lhs: StepVectors, rhs: StepVectors, m: Matching) -> StepVectors:
    rhs_present = rhs.present & ~_matched(rhs, lhs, m)
    out = StepVectors(
        lhs.labels + rhs.labels,
        np.concatenate([lhs.values, rhs.values]),
        np.concatenate([lhs.present, rhs_present]),
    )
    return merge_same_labels(out.nonempty_rows(), SAME_LABELSET)


_SET = {"and": _and, "or": _or, "unless": _unless}
