"""`[store] backend = "prometheus"`: history from a Prometheus-compatible server, the rest local.

Past one machine, several cachewatch instances each poll a shard of the fleet and a real
Prometheus (or Thanos, Mimir, VictoriaMetrics) scrapes them all. `HybridStore` is what such
an instance uses as its store: series reads (`select`, `series`, labels) go to that server, so
the query engine, the alert engine and the UIs see the whole fleet's history; appends, events
(slowlog, topology), metadata and the store's own stats stay in the local embedded store,
which needs only a short retention in this role.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from monitor.model import Event, Labels, Matcher, MetricType, SampleBatch
from monitor.store.api import ReadBudget, SeriesData, SeriesReader, StoreHealth, StoreStats
from monitor.store.embedded import EmbeddedStore

__all__ = ["HybridStore"]


class HybridStore:
    def __init__(self, local: EmbeddedStore | None, remote: SeriesReader) -> None:
        """`local` may be None for reading commands on a machine that never collected."""
        self.local = local
        self.remote = remote

    def _local(self) -> EmbeddedStore:
        if self.local is None:
            raise PermissionError("no local store: this store only reads from Prometheus")
        return self.local

    # reads: the remote server's history of the whole fleet

    def select(
        self,
        matchers: Sequence[Matcher],
        start_ms: int,
        end_ms: int,
        budget: ReadBudget | None = None,
    ) -> list[SeriesData]:
        return self.remote.select(matchers, start_ms, end_ms, budget)

    def series(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        return self.remote.series(matchers, start_ms, end_ms)

    def label_names(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[str]:
        return self.remote.label_names(matchers, start_ms, end_ms)

    def label_values(
        self, name: str, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[str]:
        return self.remote.label_values(name, matchers, start_ms, end_ms)

    # writes and everything that is not a series: local

    def append(self, batch: SampleBatch) -> None:
        self._local().append(batch)

    def mark_stale(self, target_labels: Labels, ts_ms: int, source: str = "") -> None:
        self._local().mark_stale(target_labels, ts_ms, source)

    def register_metadata(self, entries: dict[str, tuple[MetricType, str]]) -> None:
        self._local().register_metadata(entries)

    def add_events(self, events: Iterable[Event]) -> None:
        self._local().add_events(events)

    def events(
        self,
        kind_prefix: str = "",
        target_labels: Labels | None = None,
        start_ms: int = 0,
        end_ms: int | None = None,
        limit: int = 1000,
    ) -> list[Event]:
        if self.local is None:
            return []
        return self.local.events(kind_prefix, target_labels, start_ms, end_ms, limit)

    def metadata(self) -> dict[str, tuple[MetricType, str]]:
        return {} if self.local is None else self.local.metadata()

    def maintain(self, now: int | None = None) -> None:
        self._local().maintain(now)

    def flush(self) -> None:
        self._local().flush()

    def close(self) -> None:
        if self.local is not None:
            self.local.close()

    def stats(self) -> StoreStats:
        if self.local is None:
            return StoreStats(series=0, samples=0, bytes_on_disk=0, bytes_per_sample=0.0)
        return self.local.stats()

    def health(self) -> StoreHealth:
        return StoreHealth() if self.local is None else self.local.health()
