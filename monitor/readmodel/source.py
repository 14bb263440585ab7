"""The seam between the screens and where their data comes from.

A `DataSource` answers four kinds of questions: which targets exist and how their polling
goes (`statuses`), PromQL (`instant`, `range`), events (`events`: slowlog entries, topology
changes) and cluster layouts (`topologies`), plus the alerts panel's (`alerts`, `silence`).
`LocalSource` reads a running `Runtime` in this process; `RemoteSource` reads a running
`cachewatch serve` through its Prometheus-compatible query API (`--attach URL`).

Everything here is plain values, so the TUI, the web dashboard and tests share one model.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from collectors.hotkeys.report import HotKeyReport
from monitor.discovery import ClusterTopology
from monitor.model import Event

__all__ = [
    "Health",
    "TargetState",
    "InstantSample",
    "RangeSeries",
    "AlertRow",
    "DataSource",
    "SilenceUnsupported",
    "HotKeySampling",
    "HotKeySampler",
]


class Health(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"  # not polled yet, or no recent sample


@dataclass(frozen=True, slots=True)
class TargetState:
    """One target as the poller sees it. `labels` are the target's series labels
    (`instance`, user labels, and `cluster`/`shard`/`role` for cluster nodes)."""

    instance: str
    kind: str  # "redis" | "memcached"
    labels: Mapping[str, str]
    health: Health
    last_poll_ms: int = 0
    last_error: str | None = None
    version: str = ""
    timeout_s: float = 0.0
    #: the poll interval (charts' rate windows cover several polls); 10 s when not known
    interval_s: float = 10.0
    #: since when the target has answered every poll, epoch ms; 0 when down or not known
    #: (an attached source): rates only look back this far
    up_since_ms: int = 0


@dataclass(frozen=True, slots=True)
class InstantSample:
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class RangeSeries:
    labels: Mapping[str, str]
    ts_ms: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class AlertRow:
    """A pending or firing alert; `silenced_by` lists the ids of silences muting it."""

    name: str
    state: str  # "pending" | "firing"
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    value: float | None
    active_at_ms: int
    silenced_by: tuple[str, ...] = ()

    @property
    def instance(self) -> str:
        return self.labels.get("instance", "")


class SilenceUnsupported(RuntimeError):
    """The source cannot create silences (no alerting attached, or a remote source)."""


class DataSource(Protocol):
    def now_ms(self) -> int:
        """The time screens treat as now (fixed for recorded sources)."""
        ...

    def statuses(self) -> list[TargetState]: ...

    def instant(self, expr: str, at_ms: int) -> list[InstantSample]:
        """PromQL instant vector; raises `monitor.query.QueryError` on a bad expression."""
        ...

    def range(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> list[RangeSeries]: ...

    def events(
        self, kind_prefix: str, instance: str | None, start_ms: int, limit: int
    ) -> list[Event]:
        """Newest first; `instance` narrows to one target's events."""
        ...

    def topologies(self) -> dict[str, ClusterTopology]: ...

    def alerts(self, now_ms: int) -> list[AlertRow]: ...

    def silence(self, matchers: dict[str, str], duration_ms: int, comment: str) -> str:
        """Silence alerts whose labels equal `matchers`; returns the silence id or raises
        `SilenceUnsupported`."""
        ...


class HotKeySampling(Protocol):
    """The running hot-key detectors, as the UIs and the HTTP API reach them."""

    def reports(self) -> Sequence[HotKeyReport]:
        """The latest report of every target, keys masked for showing."""
        ...

    def sample(self, instance: str, duration_s: float | None) -> HotKeyReport:
        """A person's "hot keys now" for `instance` (blocking for its duration); raises
        LookupError for a target that is not polled, RuntimeError when it cannot run."""
        ...


@runtime_checkable
class HotKeySampler(Protocol):
    """A source that can take a hot-key sample now (a local runtime, or an attached
    server's `/api/v1/cachewatch/hotkeys`)."""

    def sample_hot_keys(self, instance: str, duration_s: float | None) -> HotKeyReport: ...
