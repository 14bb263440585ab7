"""A `SeriesReader` that keeps series in memory: for tests, benchmarks, and anything that
wants to run PromQL over samples it already holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from monitor.model import Labels, Matcher, SampleBatch, labels_of
from monitor.query.matchers import compile_matchers
from monitor.store.api import ReadBudget, SeriesData

__all__ = ["MemoryReader"]


class _Series:
    __slots__ = ("labels", "pending_ts", "pending_values", "ts", "values")

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels
        self.ts = np.empty(0, dtype=np.int64)
        self.values = np.empty(0, dtype=np.float64)
        self.pending_ts: list[np.ndarray] = []
        self.pending_values: list[np.ndarray] = []

    def settle(self) -> None:
        """Fold appended chunks into the sorted arrays; a later sample at an existing
        timestamp replaces the earlier one."""
        if not self.pending_ts:
            return
        ts = np.concatenate([self.ts, *self.pending_ts])
        values = np.concatenate([self.values, *self.pending_values])
        self.pending_ts.clear()
        self.pending_values.clear()
        order = np.argsort(ts, kind="stable")
        ts, values = ts[order], values[order]
        keep = np.ones(len(ts), dtype=bool)
        keep[:-1] = ts[1:] != ts[:-1]
        self.ts, self.values = ts[keep], values[keep]


class MemoryReader:
    """Series keyed by their full label set (including `__name__`)."""

    def __init__(self) -> None:
        self._series: dict[Labels, _Series] = {}

    def add_series(
        self,
        labels: Mapping[str, str],
        ts_ms: Sequence[int] | np.ndarray,
        values: Sequence[float] | np.ndarray,
    ) -> None:
        """Add samples to the series with these labels (created on first use)."""
        ts = np.asarray(ts_ms, dtype=np.int64)
        vals = np.asarray(values, dtype=np.float64)
        if ts.shape != vals.shape or ts.ndim != 1:
            raise ValueError(
                f"series {dict(labels)}: {ts.shape} timestamps but {vals.shape} values"
            )
        if "__name__" not in labels:
            raise ValueError(f"series {dict(labels)} has no __name__ label")
        key = labels_of({k: v for k, v in labels.items() if v != ""})
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series(dict(key))
        series.pending_ts.append(ts)
        series.pending_values.append(vals)

    def append(self, batch: SampleBatch) -> None:
        """Add one poll; the target's labels are merged into each sample's labels."""
        for name, own, value in zip(batch.names, batch.labels, batch.values, strict=True):
            labels = dict(batch.target_labels)
            labels.update(own)
            labels["__name__"] = name
            self.add_series(labels, [batch.ts_ms], [value])

    def _matching(self, matchers: Sequence[Matcher]) -> Iterable[_Series]:
        accept = compile_matchers(matchers)
        return (s for s in self._series.values() if accept(s.labels))

    def select(
        self,
        matchers: Sequence[Matcher],
        start_ms: int,
        end_ms: int,
        budget: ReadBudget | None = None,
    ) -> list[SeriesData]:
        out = []
        for series in self._matching(matchers):
            series.settle()
            lo = int(np.searchsorted(series.ts, start_ms, side="left"))
            hi = int(np.searchsorted(series.ts, end_ms, side="right"))
            if hi > lo:
                if budget is not None:
                    budget.check_time()
                    budget.charge(hi - lo)
                out.append(SeriesData(dict(series.labels), series.ts[lo:hi], series.values[lo:hi]))
        out.sort(key=lambda s: labels_of(s.labels))
        return out

    def series(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        return [s.labels for s in self.select(matchers, start_ms, end_ms)]

    def label_names(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[str]:
        names = {name for labels in self.series(matchers, start_ms, end_ms) for name in labels}
        return sorted(names)

    def label_values(
        self, name: str, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[str]:
        found = {labels.get(name, "") for labels in self.series(matchers, start_ms, end_ms)}
        return sorted(found - {""})
