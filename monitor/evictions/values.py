"""What an eviction summary holds: plain frozen values the CLI, web UI and TUI render."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitor.evictions.expressions import Scope
from monitor.evictions.trend import TrendReading

__all__ = [
    "WindowRates",
    "MemoryStatus",
    "SlabRates",
    "NodeRates",
    "SlabActivity",
    "EvictionSummary",
]

#: at least this share of the memory limit counts as full
FULL_RATIO = 0.98


@dataclass(frozen=True, slots=True)
class WindowRates:
    window: str
    window_s: float
    #: seconds of history the figures cover: window_s when complete, less when partial, 0
    covered_s: float
    status: str  # "complete", "partial" or "no data"
    evictions_per_s: float | None = None
    expirations_per_s: float | None = None
    hit_ratio: float | None = None
    # memcached only
    evicted_unfetched_per_s: float | None = None
    expired_unfetched_per_s: float | None = None
    reclaimed_per_s: float | None = None
    unfetched_eviction_share: float | None = None
    wasted_write_share: float | None = None
    slabs_moved_per_s: float | None = None

    @property
    def reported(self) -> bool:
        return self.status != "no data"


@dataclass(frozen=True, slots=True)
class MemoryStatus:
    instance: str
    used_bytes: float | None
    #: None when there is no limit (Redis maxmemory 0)
    max_bytes: float | None
    #: Redis maxmemory-policy; memcached "lru" or "noevict (-M)"
    policy: str | None
    #: None when memory is not growing (or no limit); 0 when full
    seconds_to_full: float | None

    @property
    def used_ratio(self) -> float | None:
        if self.used_bytes is None or not self.max_bytes:
            return None
        return self.used_bytes / self.max_bytes

    @property
    def full(self) -> bool:
        ratio = self.used_ratio
        return ratio is not None and ratio >= FULL_RATIO


@dataclass(frozen=True, slots=True)
class SlabRates:
    """One memcached slab class (summed over the cluster's instances for a cluster)."""

    slab: str
    #: window name -> evictions/s (None where the window lacks data)
    evictions_per_s: dict[str, float | None]
    trend: TrendReading
    # at the summary's detail window
    evicted_unfetched_per_s: float | None
    expired_unfetched_per_s: float | None
    reclaimed_per_s: float | None
    unfetched_eviction_share: float | None
    memory_bytes: float | None
    memory_share: float | None
    items: float | None


@dataclass(frozen=True, slots=True)
class NodeRates:
    """One node of a cluster."""

    instance: str
    evictions_per_s: dict[str, float | None]
    trend: TrendReading


@dataclass(frozen=True, slots=True)
class SlabActivity:
    """memcached page moves between slab classes, at the detail window."""

    moved_per_s: float | None
    rescues_per_s: float | None
    evictions_nomem_per_s: float | None
    #: 0 off, 1 background, 2 aggressive (slow tier: known after the first settings poll)
    automove_mode: float | None


@dataclass(frozen=True, slots=True)
class EvictionSummary:
    scope: Scope
    #: "redis", "memcached", or None when the store has no eviction series for the scope
    kind: str | None
    at_ms: int
    #: seconds of history behind the figures (at most the longest window)
    history_s: float
    interval_s: float | None
    windows: tuple[WindowRates, ...]
    trend: TrendReading
    #: Pearson's r of eviction rate and hit ratio over the trend's points; negative means
    #: evictions cost hits
    hit_ratio_correlation: float | None
    #: the window the per-slab shares and slab activity use
    detail_window: str | None
    memory: tuple[MemoryStatus, ...] = ()
    slabs: tuple[SlabRates, ...] = ()
    nodes: tuple[NodeRates, ...] = ()
    slab_activity: SlabActivity | None = None
    notes: tuple[str, ...] = field(default=())

    def window(self, name: str) -> WindowRates:
        return next(w for w in self.windows if w.window == name)

    @property
    def lacking(self) -> tuple[str, ...]:
        """Windows without enough history to report."""
        return tuple(w.window for w in self.windows if not w.reported)

    def as_json(self) -> dict[str, Any]:
        return _jsonable(self)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Scope):
        return {"label": value.label, "value": value.value}
    if hasattr(value, "__dataclass_fields__"):
        out = {name: _jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
        for extra in ("used_ratio", "full", "lacking"):
            if hasattr(type(value), extra):
                out[extra] = _jsonable(getattr(value, extra))
        return out
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
