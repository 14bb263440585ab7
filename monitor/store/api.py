"""The store's public surface, as a Protocol, so readers (query engine, exporter, UIs, alerts)
depend on this and not on the embedded implementation. `[store] backend = "prometheus"`
provides the same reading surface over a remote Prometheus HTTP API.

Times are int64 milliseconds since the epoch, as in Prometheus. Values are float64; a stale
marker is the NaN with bit pattern `monitor.model.STALE_NAN_BITS`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from monitor.model import Event, Labels, Matcher, MetricType, SampleBatch

__all__ = [
    "SeriesData",
    "StoreStats",
    "StoreHealth",
    "HealthReporter",
    "SeriesReader",
    "Store",
    "ReadBudget",
    "SampleLimitError",
    "ReadTimeoutError",
    "StoreCorruptionError",
]


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


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """Whether the store can write: `failing` says why the last write failed (None once
    writes work again); `fenced` means another process took the store over and this one
    stopped writing for good."""

    write_errors: int = 0
    failing: str | None = None
    fenced: bool = False

    @property
    def ok(self) -> bool:
        return self.failing is None and not self.fenced


@runtime_checkable
class HealthReporter(Protocol):
    """A store that can say whether its writes work (readers of other kinds cannot)."""

    def health(self) -> StoreHealth: ...


class SampleLimitError(Exception):
    """A read would hold more samples than its budget allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} samples")
        self.limit = limit


class ReadTimeoutError(Exception):
    """A read ran past its deadline."""


class StoreCorruptionError(Exception):
    """Stored data failed its checksum; the message names the file (moved aside when the
    store is the writer)."""


class ReadBudget:
    """What one query may still read: samples it holds (charged before they are decoded,
    refunded when fewer came) and time. Shared by every read of the query."""

    def __init__(self, max_samples: int, deadline: float) -> None:
        self.max_samples = max_samples
        self.deadline = deadline  # time.monotonic()
        self.used = 0

    def reserve(self, count: int) -> None:
        """Refuse, before allocating them, `count` more samples than the budget allows."""
        if self.used + count > self.max_samples:
            raise SampleLimitError(self.max_samples)

    def charge(self, count: int) -> None:
        self.reserve(count)
        self.used += count

    def refund(self, count: int) -> None:
        self.used -= count

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise ReadTimeoutError("the query ran past its time limit while reading")


class SeriesReader(Protocol):
    """What the query engine needs."""

    def select(
        self,
        matchers: Sequence[Matcher],
        start_ms: int,
        end_ms: int,
        budget: ReadBudget | None = None,
    ) -> list[SeriesData]:
        """Series matching all matchers (one must constrain `__name__` or another label),
        with their samples in [start_ms, end_ms] inclusive, stale markers included.
        The store picks the finest retention tier that still covers `start_ms`. With a
        `budget`, the samples are charged to it as they are read (SampleLimitError,
        ReadTimeoutError), so a query too big stops before it holds them all."""
        ...

    def label_names(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[str]:
        """Label names of the series with samples in the range that match; with no
        matchers, of every such series (as Prometheus answers `/api/v1/labels`)."""
        ...

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

    def mark_stale(self, target_labels: Labels, ts_ms: int, source: str = "") -> None:
        """End every series of this target (it was removed or relabelled); `source` as in
        `SampleBatch.source`."""
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

    def health(self) -> StoreHealth: ...
