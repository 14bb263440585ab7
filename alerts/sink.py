"""Rule output into the store, with Prometheus's staleness: a series a group stops
producing gets a stale marker at that evaluation, so `ALERTS` ends when an alert resolves.

The store marks series stale per `target_labels` (a target's series missing from its next
batch end) and keeps one row per target and timestamp. Rule output has no target, so each
distinct label set is written as its own "target": `target_labels` is the series' label set
with the store source `rules`, and the samples carry only their names. The source keeps the
row apart from a polled target's: a rule aggregated `by (instance)` yields exactly the label
set of a target given as a bare URL, and sharing its row would end (mark stale) all of that
target's raw series at every evaluation.

Series with one label set and different names
(`instance:hits:rate5m{instance="a"}` and `instance:misses:rate5m{instance="a"}`) may come
from different groups; every batch for a label set therefore carries all of its current
series — the other groups' last values repeated — so none marks another stale, and a label
set written twice in one millisecond moves to the next one rather than being rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from monitor.model import Labels, SampleBatch

__all__ = ["StoreSink", "AppendOnlyStore", "RULES_SOURCE"]

#: the store source of rule output (`SampleBatch.source`): never a polled target's row
RULES_SOURCE = "rules"


class AppendOnlyStore(Protocol):
    def append(self, batch: SampleBatch) -> None: ...

    def mark_stale(self, target_labels: Labels, ts_ms: int, source: str = "") -> None: ...


class StoreSink:
    def __init__(self, store: AppendOnlyStore) -> None:
        self.store = store
        #: source -> label set -> metric name -> value
        self._owned: dict[str, dict[Labels, dict[str, float]]] = {}
        self._holders: dict[Labels, set[str]] = {}
        self._last_ts: dict[Labels, int] = {}

    def write(self, source: str, ts_ms: int, series: Sequence[tuple[str, Labels, float]]) -> None:
        fresh: dict[Labels, dict[str, float]] = {}
        for name, labels, value in series:
            fresh.setdefault(labels, {})[name] = value
        previous = self._owned.get(source, {})
        self._owned[source] = fresh
        for labels in fresh.keys() | previous.keys():
            holders = self._holders.setdefault(labels, set())
            if labels in fresh:
                holders.add(source)
            else:
                holders.discard(source)
            merged: dict[str, float] = {}
            for holder in sorted(holders):
                merged.update(self._owned[holder][labels])
            at = max(ts_ms, self._last_ts.get(labels, ts_ms - 1) + 1)
            self._last_ts[labels] = at
            if not merged:
                self.store.mark_stale(labels, at, source=RULES_SOURCE)
                del self._holders[labels]
                del self._last_ts[labels]
                continue
            batch = SampleBatch(ts_ms=at, target_labels=labels, source=RULES_SOURCE)
            for name, value in merged.items():
                batch.add(name, value)
            self.store.append(batch)
