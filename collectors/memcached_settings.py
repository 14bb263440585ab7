"""memcached `stats settings`: configuration, on the slow schedule.

`memcached_max_connections` and the `memcached_lru_crawler_*` settings carry
memcached_exporter's names (it, too, reports the crawler settings only while the crawler is
enabled). Other numeric and yes/no settings are `cachewatch_memcached_…` gauges; the string
settings worth seeing go into one info series, `cachewatch_memcached_settings_info`.
"""

from __future__ import annotations

from collections.abc import Iterable

from collectors.base import Tier
from collectors.memcached_values import Catalog, StatsGroupCollector, emit, parse_flag
from monitor.model import MetricType, SampleBatch

__all__ = ["MemcachedSettingsCollector", "add_settings"]

G = MetricType.GAUGE

_ALWAYS: dict[str, tuple[str, str]] = {
    "maxconns": ("memcached_max_connections", "Maximum number of clients allowed."),
    "lru_crawler": ("memcached_lru_crawler_enabled", "Whether the LRU crawler is enabled."),
    "slab_reassign": (
        "cachewatch_memcached_slab_reassign_enabled",
        "Whether slab pages may move between classes (-o slab_reassign).",
    ),
    "slab_automove": (
        "cachewatch_memcached_slab_automove_mode",
        "Slab automover mode: 0 off, 1 background, 2 aggressive.",
    ),
    "slab_automove_ratio": (
        "cachewatch_memcached_slab_automove_ratio",
        "Free-chunk ratio above which the automover takes pages from a class.",
    ),
    "slab_automove_window": (
        "cachewatch_memcached_slab_automove_window",
        "Automover decision window, in automover runs.",
    ),
    "slab_automove_freeratio": (
        "cachewatch_memcached_slab_automove_free_ratio",
        "Share of memory the automover keeps in the global page pool.",
    ),
    "slab_chunk_max": (
        "cachewatch_memcached_slab_chunk_max_bytes",
        "Largest slab chunk; bigger items are chained.",
    ),
    "chunk_size": (
        "cachewatch_memcached_slab_min_chunk_size_bytes",
        "Minimum space allocated for key, value and flags.",
    ),
    "growth_factor": (
        "cachewatch_memcached_slab_growth_factor",
        "Chunk size factor between consecutive slab classes.",
    ),
    "item_size_max": ("cachewatch_memcached_item_size_max_bytes", "Largest item allowed."),
    "evictions": (
        "cachewatch_memcached_evictions_enabled",
        "Whether the server evicts items when full (off: -M, errors instead).",
    ),
    "cas_enabled": ("cachewatch_memcached_cas_enabled", "Whether CAS is enabled."),
    "flush_enabled": ("cachewatch_memcached_flush_enabled", "Whether flush_all is allowed."),
    "dump_enabled": (
        "cachewatch_memcached_dump_enabled",
        "Whether lru_crawler metadump is allowed.",
    ),
    "lru_segmented": (
        "cachewatch_memcached_lru_segmented",
        "Whether the LRU is split into HOT, WARM and COLD.",
    ),
    "temp_lru": (
        "cachewatch_memcached_temp_lru_enabled",
        "Whether short-TTL items go to a TEMPORARY LRU.",
    ),
    "temporary_ttl": (
        "cachewatch_memcached_temporary_ttl_seconds",
        "TTL below which items go to the TEMPORARY LRU.",
    ),
    "idle_timeout": (
        "cachewatch_memcached_idle_timeout_seconds",
        "Idle client connections are closed after this long (0: never).",
    ),
    "num_threads": ("cachewatch_memcached_worker_threads", "Configured worker threads."),
    "reqs_per_event": (
        "cachewatch_memcached_requests_per_event",
        "Requests handled per connection before yielding (-R).",
    ),
    "tcp_backlog": ("cachewatch_memcached_tcp_backlog", "Listen backlog."),
    "watcher_logbuf_size": (
        "cachewatch_memcached_watcher_logbuf_bytes",
        "Buffer per watch connection; lines beyond it are skipped.",
    ),
    "worker_logbuf_size": (
        "cachewatch_memcached_worker_logbuf_bytes",
        "Log buffer per worker thread.",
    ),
    "auth_enabled_sasl": ("cachewatch_memcached_auth_sasl_enabled", "Whether SASL is required."),
    "auth_enabled_ascii": (
        "cachewatch_memcached_auth_ascii_enabled",
        "Whether ASCII authentication is required.",
    ),
    "ssl_enabled": ("cachewatch_memcached_tls_enabled", "Whether TLS is enabled."),
}
#: memcached_exporter reports these only while the crawler is on
_CRAWLER: dict[str, tuple[str, str]] = {
    "lru_crawler_sleep": (
        "memcached_lru_crawler_sleep",
        "Microseconds to sleep between LRU crawls.",
    ),
    "lru_crawler_tocrawl": (
        "memcached_lru_crawler_to_crawl",
        "Max items to crawl per slab per run.",
    ),
    "lru_maintainer_thread": (
        "memcached_lru_crawler_maintainer_thread",
        "Split LRU mode and background threads.",
    ),
    "hot_lru_pct": (
        "memcached_lru_crawler_hot_percent",
        "Percent of slab memory reserved for HOT LRU.",
    ),
    "warm_lru_pct": (
        "memcached_lru_crawler_warm_percent",
        "Percent of slab memory reserved for WARM LRU.",
    ),
    "hot_max_factor": (
        "memcached_lru_crawler_hot_max_factor",
        "Set idle age of HOT LRU to COLD age * this",
    ),
    "warm_max_factor": (
        "memcached_lru_crawler_warm_max_factor",
        "Set idle age of WARM LRU to COLD age * this",
    ),
}
#: string settings -> label of the info series
_INFO_LABELS = {
    "binding_protocol": "binding_protocol",
    "hash_algorithm": "hash_algorithm",
    "inter": "listen_interface",
    "ssl_min_version": "tls_min_version",
}
_INFO = "cachewatch_memcached_settings_info"

CATALOG: Catalog = {
    _INFO: (MetricType.INFO, "memcached settings that are strings, as labels."),
    **{name: (G, help_text) for name, help_text in (*_ALWAYS.values(), *_CRAWLER.values())},
}


def add_settings(pairs: Iterable[tuple[str, str]], out: SampleBatch) -> None:
    """Turn `stats settings` pairs into samples. Numbers and yes/no/on/off become gauges;
    a value that is neither is skipped."""
    settings = dict(pairs)
    crawler_on = settings.get("lru_crawler") == "yes"
    for key, text in settings.items():
        metric = _ALWAYS.get(key) or (_CRAWLER.get(key) if crawler_on else None)
        if metric is None:
            continue
        value = parse_flag(text)
        if value is not None:
            emit(out, CATALOG, metric[0], value)
    info = tuple(
        sorted((label, settings[key]) for key, label in _INFO_LABELS.items() if key in settings)
    )
    if info:
        emit(out, CATALOG, _INFO, 1.0, info)


class MemcachedSettingsCollector(StatsGroupCollector):
    """`stats settings`, on the slow schedule."""

    name = "memcached_settings"
    tier = Tier.SLOW
    metrics = CATALOG
    group = "settings"
    parse = staticmethod(add_settings)
