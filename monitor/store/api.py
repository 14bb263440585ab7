"""The store's public surface, as a Protocol, so readers (query engine, exporter, UIs, alerts)
depend on this and not on the embedded implementation. `[store] backend = "prometheus"`
provides the same reading surface over a remote Prometheus HTTP API.

Times are int64 milliseconds since the epoch, as in Prometheus. Values are float64; a stale
marker is the NaN with bit pattern `monitor.model.STALE_NAN_BITS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from monitor.model import Event, Labels, Matcher, MetricType, SampleBatch

__all__ = ["SeriesData", "StoreStats", "SeriesReader", "Store"]


@dataclass(frozen=True, slots=True)
class SeriesData:
    """One series' samples in a time range. `labels` includes `__name__`."""

    labels: dict[str, str]
    ts: np.ndarray  # int64 ms, ascending
    values: np.ndarray  # float64, same length


@dataclass(frozen=True, slots=True)
class StoreStats:
    series: int
    samples: int
    bytes_on_disk: int
    bytes_per_sample: float


class SeriesReader(Protocol):
    """What the query engine needs."""

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        """Series matching all matchers (one must constrain `__name__` or another label),
        with their samples in [start_ms, end_ms] inclusive, stale markers included.
        The store picks the finest retention tier that still covers `start_ms`."""
        ...

    def label_names(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[str]: ...

    def label_values(
        self, name: str, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[str]: ...

    def series(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]: ...


class Store(SeriesReader, Protocol):
    def append(self, batch: SampleBatch) -> None:
        """Append one target's poll. Series of the same `target_labels` that were in the
        previous batch but are missing from this one get a stale marker at `batch.ts_ms`."""
        ...

    def mark_stale(self, target_labels: Labels, ts_ms: int) -> None:
        """End every series of this target (it was removed or relabelled)."""
        ...

    def add_events(self, events: Iterable[Event]) -> None: ...

    def events(
        self,
        kind_prefix: str = "",
        target_labels: Labels | None = None,
        start_ms: int = 0,
        end_ms: int | None = None,
        limit: int = 1000,
    ) -> list[Event]:
        """Newest first."""
        ...

    def metadata(self) -> dict[str, tuple[MetricType, str]]: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def stats(self) -> StoreStats: ...
