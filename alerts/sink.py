"""Rule output into the store, with Prometheus's staleness: a series a group stops
producing gets a stale marker at that evaluation, so `ALERTS` ends when an alert resolves.

The store marks series stale per `target_labels` (a target's series missing from its next
batch end). Rule output has no target, so each distinct label set of a group's output is
written as its own "target": `target_labels` is the series' label set and the sample has
only its name. Series with the same label set and different names (several recording rules
over one instance) share one batch, so they never mark each other stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from monitor.model import Labels, SampleBatch

__all__ = ["StoreSink", "AppendOnlyStore"]


class AppendOnlyStore(Protocol):
    def append(self, batch: SampleBatch) -> None: ...

    def mark_stale(self, target_labels: Labels, ts_ms: int) -> None: ...


class StoreSink:
    def __init__(self, store: AppendOnlyStore) -> None:
        self.store = store
        self._written: dict[str, set[Labels]] = {}

    def write(self, source: str, ts_ms: int, series: Sequence[tuple[str, Labels, float]]) -> None:
        batches: dict[Labels, SampleBatch] = {}
        for name, labels, value in series:
            batch = batches.get(labels)
            if batch is None:
                batch = batches[labels] = SampleBatch(ts_ms=ts_ms, target_labels=labels)
            batch.add(name, value)
        for batch in batches.values():
            self.store.append(batch)
        previous = self._written.get(source, set())
        for ended in previous - batches.keys():
            self.store.mark_stale(ended, ts_ms)
        self._written[source] = set(batches)
