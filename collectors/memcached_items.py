"""memcached `stats items`: per slab class item counts, ages, evictions and LRU hits, every poll.

Names, labels and types follow prometheus/memcached_exporter, with the slab class in the
`slab` label (and the LRU segment in `lru` for hits). Two of its values are typed as gauges
here although the exporter calls them counters, because they go down:
`memcached_slab_mem_requested_bytes` and `memcached_slab_items_evicted_time_seconds`.
"""

from __future__ import annotations

from collections.abc import Iterable

from collectors.base import Tier
from collectors.memcached_values import (
    Catalog,
    SlabRoutes,
    StatsGroupCollector,
    emit_slab_fields,
    group_by_number,
)
from monitor.model import MetricType, SampleBatch

__all__ = ["MemcachedItemsCollector", "add_item_stats"]

C, G = MetricType.COUNTER, MetricType.GAUGE

#: per-slab field -> (metric, type, help)
_FIELDS: dict[str, tuple[str, MetricType, str]] = {
    "number": (
        "memcached_slab_current_items",
        G,
        "Number of items currently stored in this slab class.",
    ),
    "age": (
        "memcached_slab_items_age_seconds",
        G,
        "Number of seconds the oldest item has been in the slab class.",
    ),
    "number_hot": (
        "memcached_slab_hot_items",
        G,
        "Number of items presently stored in the HOT LRU.",
    ),
    "number_warm": (
        "memcached_slab_warm_items",
        G,
        "Number of items presently stored in the WARM LRU.",
    ),
    "number_cold": (
        "memcached_slab_cold_items",
        G,
        "Number of items presently stored in the COLD LRU.",
    ),
    "number_temp": (
        "memcached_slab_temporary_items",
        G,
        "Number of items presently stored in the TEMPORARY LRU.",
    ),
    "age_hot": ("memcached_slab_hot_age_seconds", G, "Age of the oldest item in HOT LRU."),
    "age_warm": ("memcached_slab_warm_age_seconds", G, "Age of the oldest item in WARM LRU."),
    "mem_requested": (
        "memcached_slab_mem_requested_bytes",
        G,
        "Number of bytes of memory actual items take up within a slab.",
    ),
    "crawler_reclaimed": (
        "memcached_slab_items_crawler_reclaimed_total",
        C,
        "Number of items freed by the LRU Crawler.",
    ),
    "evicted": (
        "memcached_slab_items_evicted_total",
        C,
        "Total number of times an item had to be evicted from the LRU before it expired.",
    ),
    "evicted_nonzero": (
        "memcached_slab_items_evicted_nonzero_total",
        C,
        "Total number of times an item which had an explicit expire time set "
        "had to be evicted from the LRU before it expired.",
    ),
    "evicted_time": (
        "memcached_slab_items_evicted_time_seconds",
        G,
        "Seconds since the last access for the most recent item evicted from this class.",
    ),
    "evicted_unfetched": (
        "memcached_slab_items_evicted_unfetched_total",
        C,
        "Total number of items evicted and never fetched.",
    ),
    "expired_unfetched": (
        "memcached_slab_items_expired_unfetched_total",
        C,
        "Total number of valid items evicted from the LRU which were never "
        "touched after being set.",
    ),
    "outofmemory": (
        "memcached_slab_items_outofmemory_total",
        C,
        "Total number of items for this slab class that have triggered an out of memory error.",
    ),
    "reclaimed": ("memcached_slab_items_reclaimed_total", C, "Total number of items reclaimed."),
    "tailrepairs": (
        "memcached_slab_items_tailrepairs_total",
        C,
        "Total number of times the entries for a particular ID need repairing.",
    ),
    # memcached_exporter's names, without _total, kept for dashboard compatibility
    "moves_to_cold": (
        "memcached_slab_items_moves_to_cold",
        C,
        "Number of items moved from HOT or WARM into COLD.",
    ),
    "moves_to_warm": (
        "memcached_slab_items_moves_to_warm",
        C,
        "Number of items moves from COLD into WARM.",
    ),
    "moves_within_lru": (
        "memcached_slab_items_moves_within_lru",
        C,
        "Number of times active items were bumped within HOT or WARM.",
    ),
    # values memcached_exporter lacks
    "evicted_active": (
        "cachewatch_memcached_slab_items_evicted_active_total",
        C,
        "Items evicted from this class although recently active.",
    ),
    "crawler_items_checked": (
        "cachewatch_memcached_slab_crawler_items_checked_total",
        C,
        "Items of this class examined by the LRU crawler.",
    ),
    "lrutail_reflocked": (
        "cachewatch_memcached_slab_lrutail_reflocked_total",
        C,
        "Times an item at this class's LRU tail was found locked.",
    ),
    "direct_reclaims": (
        "cachewatch_memcached_slab_direct_reclaims_total",
        C,
        "Times worker threads directly reclaimed or evicted items of this class.",
    ),
}
_LRU_HITS = "memcached_slab_lru_hits_total"
_HIT_FIELDS = {
    "hits_to_hot": "hot",
    "hits_to_warm": "warm",
    "hits_to_cold": "cold",
    "hits_to_temp": "temporary",
}

_ROUTES: SlabRoutes = {
    **{field: (metric, ()) for field, (metric, _, _) in _FIELDS.items()},
    **{field: (_LRU_HITS, (("lru", lru),)) for field, lru in _HIT_FIELDS.items()},
}

CATALOG: Catalog = {
    _LRU_HITS: (C, "Number of get_hits to the LRU."),
    **{name: (kind, help_text) for name, kind, help_text in _FIELDS.values()},
}


def add_item_stats(pairs: Iterable[tuple[str, str]], out: SampleBatch) -> None:
    """Turn `stats items` pairs into per-slab samples; non-numeric values are skipped."""
    slabs, _ = group_by_number(pairs)
    for slab, fields in slabs.items():
        emit_slab_fields(out, CATALOG, _ROUTES, slab, fields)


class MemcachedItemsCollector(StatsGroupCollector):
    """`stats items`, every poll."""

    name = "memcached_items"
    tier = Tier.FAST
    metrics = CATALOG
    group = "items"
    parse = staticmethod(add_item_stats)
