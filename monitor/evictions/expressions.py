"""The PromQL behind eviction trends, as named templates the summary, the UIs and the recording
rules (`alerts/rules/evictions_recording.yml`) share.

A template has three holes, filled by `render`:
- `$by`: the labels to aggregate by (`instance`, `cluster`, `cluster, instance`...);
- `$sel`: label matchers that pick the target or cluster, written inside a selector's braces
  (`metric{$sel}`, `metric{command="get", $sel}`); empty picks every series;
- `$w`: the range of `rate`/`deriv`/`predict_linear` (`1m`, `15m`, `29500ms`...).

The hit ratio and memory definitions (and `render`) are the read model's
(`monitor/readmodel/definitions.py`), re-exported here: a view and a summary never disagree.

Names are redis_exporter's and memcached_exporter's where they have them, so the same
expressions work against a Prometheus that scrapes those exporters (except the
`cachewatch_memcached_*` values memcached_exporter lacks).
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.readmodel.definitions import (
    MEMCACHED_HIT_RATIO,
    MEMCACHED_MEMORY_MAX,
    MEMCACHED_MEMORY_USED,
    REDIS_HIT_RATIO,
    REDIS_MEMORY_MAX,
    REDIS_MEMORY_USED,
    render,
)

__all__ = [
    "Scope",
    "render",
    "REDIS_EVICTIONS_RATE",
    "REDIS_EXPIRATIONS_RATE",
    "REDIS_HIT_RATIO",
    "REDIS_MEMORY_USED",
    "REDIS_MEMORY_MAX",
    "REDIS_MEMORY_SECONDS_TO_FULL",
    "REDIS_MAXMEMORY_POLICY",
    "MEMCACHED_EVICTIONS_RATE",
    "MEMCACHED_EXPIRATIONS_RATE",
    "MEMCACHED_EVICTED_UNFETCHED_RATE",
    "MEMCACHED_EXPIRED_UNFETCHED_RATE",
    "MEMCACHED_RECLAIMED_RATE",
    "MEMCACHED_STORES_RATE",
    "MEMCACHED_UNFETCHED_EVICTION_SHARE",
    "MEMCACHED_WASTED_WRITE_SHARE",
    "MEMCACHED_HIT_RATIO",
    "MEMCACHED_MEMORY_USED",
    "MEMCACHED_MEMORY_MAX",
    "MEMCACHED_MEMORY_SECONDS_TO_FULL",
    "MEMCACHED_EVICTIONS_ENABLED",
    "MEMCACHED_SLAB_EVICTIONS_RATE",
    "MEMCACHED_SLAB_EVICTED_UNFETCHED_RATE",
    "MEMCACHED_SLAB_EXPIRED_UNFETCHED_RATE",
    "MEMCACHED_SLAB_RECLAIMED_RATE",
    "MEMCACHED_SLAB_UNFETCHED_EVICTION_SHARE",
    "MEMCACHED_SLAB_MEMORY_BYTES",
    "MEMCACHED_SLAB_MEMORY_SHARE",
    "MEMCACHED_SLAB_ITEMS",
    "MEMCACHED_SLABS_MOVED_RATE",
    "MEMCACHED_SLAB_REASSIGN_RESCUES_RATE",
    "MEMCACHED_SLAB_REASSIGN_EVICTIONS_NOMEM_RATE",
    "MEMCACHED_SLAB_AUTOMOVE_MODE",
]

# -- Redis / Valkey ------------------------------------------------------------------------

REDIS_EVICTIONS_RATE = "sum by ($by) (rate(redis_evicted_keys_total{$sel}[$w]))"
REDIS_EXPIRATIONS_RATE = "sum by ($by) (rate(redis_expired_keys_total{$sel}[$w]))"
#: When `predict_linear(used[$w], t)` reaches maxmemory: the line's value now plus its slope
#: times t equals the limit, so t = (limit - value now) / slope. Only where memory grows and
#: a limit is set; 0 once used memory is at or past the limit.
REDIS_MEMORY_SECONDS_TO_FULL = (
    "clamp_min((sum by ($by) (redis_memory_max_bytes{$sel}) > 0)"
    " - sum by ($by) (predict_linear(redis_memory_used_bytes{$sel}[$w], 0)), 0)"
    " / (sum by ($by) (deriv(redis_memory_used_bytes{$sel}[$w])) > 0)"
)
REDIS_MAXMEMORY_POLICY = "group by ($by, maxmemory_policy) (redis_instance_info{$sel})"

# -- memcached -----------------------------------------------------------------------------

MEMCACHED_EVICTIONS_RATE = "sum by ($by) (rate(memcached_items_evicted_total{$sel}[$w]))"
#: memcached counts no expirations as such: expired items are freed either when a store
#: reuses their memory (`reclaimed`) or when the LRU crawler finds them (`crawler_reclaimed`)
MEMCACHED_EXPIRATIONS_RATE = (
    "sum by ($by) (rate(memcached_items_reclaimed_total{$sel}[$w]))"
    " + sum by ($by) (rate(memcached_lru_crawler_reclaimed_total{$sel}[$w]))"
)
MEMCACHED_EVICTED_UNFETCHED_RATE = (
    "sum by ($by) (rate(cachewatch_memcached_items_evicted_unfetched_total{$sel}[$w]))"
)
MEMCACHED_EXPIRED_UNFETCHED_RATE = (
    "sum by ($by) (rate(cachewatch_memcached_items_expired_unfetched_total{$sel}[$w]))"
)
MEMCACHED_RECLAIMED_RATE = "sum by ($by) (rate(memcached_items_reclaimed_total{$sel}[$w]))"
#: items stored (sets, adds, ... that succeeded)
MEMCACHED_STORES_RATE = "sum by ($by) (rate(memcached_items_total{$sel}[$w]))"
#: of the items evicted, the share nobody ever read
MEMCACHED_UNFETCHED_EVICTION_SHARE = (
    "sum by ($by) (rate(cachewatch_memcached_items_evicted_unfetched_total{$sel}[$w]))"
    " / (sum by ($by) (rate(memcached_items_evicted_total{$sel}[$w])) > 0)"
)
#: of the items stored, the share that left (evicted or expired) without ever being read:
#: writes that were wasted
MEMCACHED_WASTED_WRITE_SHARE = (
    "(sum by ($by) (rate(cachewatch_memcached_items_evicted_unfetched_total{$sel}[$w]))"
    " + sum by ($by) (rate(cachewatch_memcached_items_expired_unfetched_total{$sel}[$w])))"
    " / (sum by ($by) (rate(memcached_items_total{$sel}[$w])) > 0)"
)
#: as for Redis; a class's chunk size is fixed, so the line through its memory is its chunk
#: size times the line through its chunk count
MEMCACHED_MEMORY_SECONDS_TO_FULL = (
    "clamp_min((sum by ($by) (memcached_limit_bytes{$sel}) > 0)"
    " - sum by ($by) (memcached_slab_chunk_size_bytes{$sel}"
    " * predict_linear(memcached_slab_current_chunks{$sel}[$w], 0)), 0)"
    " / (sum by ($by) (memcached_slab_chunk_size_bytes{$sel}"
    " * deriv(memcached_slab_current_chunks{$sel}[$w])) > 0)"
)
#: 0 when started with -M (errors instead of evictions)
MEMCACHED_EVICTIONS_ENABLED = "min by ($by) (cachewatch_memcached_evictions_enabled{$sel})"

# -- memcached, per slab class -------------------------------------------------------------

MEMCACHED_SLAB_EVICTIONS_RATE = (
    "sum by ($by, slab) (rate(memcached_slab_items_evicted_total{$sel}[$w]))"
)
MEMCACHED_SLAB_EVICTED_UNFETCHED_RATE = (
    "sum by ($by, slab) (rate(memcached_slab_items_evicted_unfetched_total{$sel}[$w]))"
)
MEMCACHED_SLAB_EXPIRED_UNFETCHED_RATE = (
    "sum by ($by, slab) (rate(memcached_slab_items_expired_unfetched_total{$sel}[$w]))"
)
MEMCACHED_SLAB_RECLAIMED_RATE = (
    "sum by ($by, slab) (rate(memcached_slab_items_reclaimed_total{$sel}[$w]))"
)
MEMCACHED_SLAB_UNFETCHED_EVICTION_SHARE = (
    "sum by ($by, slab) (rate(memcached_slab_items_evicted_unfetched_total{$sel}[$w]))"
    " / (sum by ($by, slab) (rate(memcached_slab_items_evicted_total{$sel}[$w])) > 0)"
)
#: chunk size times chunks: the memory the class's pages hold (used or free)
MEMCACHED_SLAB_MEMORY_BYTES = (
    "sum by ($by, slab) (memcached_slab_chunk_size_bytes{$sel}"
    " * memcached_slab_current_chunks{$sel})"
)
MEMCACHED_SLAB_MEMORY_SHARE = (
    "sum by ($by, slab) (memcached_slab_current_pages{$sel})"
    " / ignoring (slab) group_left sum by ($by) (memcached_slab_current_pages{$sel})"
)
MEMCACHED_SLAB_ITEMS = "sum by ($by, slab) (memcached_slab_current_items{$sel})"
MEMCACHED_SLABS_MOVED_RATE = "sum by ($by) (rate(cachewatch_memcached_slabs_moved_total{$sel}[$w]))"
MEMCACHED_SLAB_REASSIGN_RESCUES_RATE = (
    "sum by ($by) (rate(cachewatch_memcached_slab_reassign_rescues_total{$sel}[$w]))"
)
MEMCACHED_SLAB_REASSIGN_EVICTIONS_NOMEM_RATE = (
    "sum by ($by) (rate(cachewatch_memcached_slab_reassign_evictions_nomem_total{$sel}[$w]))"
)
MEMCACHED_SLAB_AUTOMOVE_MODE = "max by ($by) (cachewatch_memcached_slab_automove_mode{$sel})"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@dataclass(frozen=True, slots=True)
class Scope:
    """What a summary is about: one target (`instance`) or a whole cluster (`cluster`)."""

    label: str
    value: str

    @classmethod
    def instance(cls, instance: str) -> Scope:
        return cls("instance", instance)

    @classmethod
    def cluster(cls, cluster: str) -> Scope:
        return cls("cluster", cluster)

    @property
    def matchers(self) -> str:
        return f"{self.label}={_quote(self.value)}"

    def __str__(self) -> str:
        return self.value if self.label == "instance" else f"cluster {self.value}"


def window_text(seconds: float) -> str:
    """A PromQL duration for a window of `seconds` (whole units where they fit)."""
    ms = max(1, round(seconds * 1000))
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"
