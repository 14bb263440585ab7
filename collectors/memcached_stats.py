"""memcached `stats`: the general counters, every poll.

Names, labels and types follow prometheus/memcached_exporter (`pkg/exporter/exporter.go`),
including its split of hits and misses into `memcached_commands_total{command,status}` and
its `set` count (`cmd_set` minus the CAS commands, which memcached counts in both). Values
the exporter lacks are named `cachewatch_memcached_…` in the same style.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from collectors.base import CollectContext, Tier
from collectors.memcached_conn import MemcachedConnection
from collectors.memcached_values import Catalog, emit, parse_number, sum_numbers
from monitor.model import Labels, MetricType, SampleBatch
from monitor.targets import TargetKind

__all__ = ["MemcachedStatsCollector", "add_general_stats"]

C, G = MetricType.COUNTER, MetricType.GAUGE

#: stat -> (metric, type, help, scale)
_PLAIN: dict[str, tuple[str, MetricType, str, float]] = {
    # the names memcached_exporter uses
    "uptime": ("memcached_uptime_seconds", C, "Number of seconds since the server started.", 1),
    "time": ("memcached_time_seconds", G, "Current UNIX time according to the server.", 1),
    "rusage_user": (
        "memcached_process_user_cpu_seconds_total",
        C,
        "Accumulated user time for this process.",
        1,
    ),
    "rusage_system": (
        "memcached_process_system_cpu_seconds_total",
        C,
        "Accumulated system time for this process.",
        1,
    ),
    "bytes_read": (
        "memcached_read_bytes_total",
        C,
        "Total number of bytes read by this server from network.",
        1,
    ),
    "bytes_written": (
        "memcached_written_bytes_total",
        C,
        "Total number of bytes sent by this server to network.",
        1,
    ),
    "curr_connections": (
        "memcached_current_connections",
        G,
        "Current number of open connections.",
        1,
    ),
    "total_connections": (
        "memcached_connections_total",
        C,
        "Total number of connections opened since the server started running.",
        1,
    ),
    "rejected_connections": (
        "memcached_connections_rejected_total",
        C,
        "Total number of connections rejected due to hitting the -c limit in maxconns_fast mode.",
        1,
    ),
    "conn_yields": (
        "memcached_connections_yielded_total",
        C,
        "Total number of connections yielded running due to hitting the -R limit.",
        1,
    ),
    "listen_disabled_num": (
        "memcached_connections_listener_disabled_total",
        C,
        "Number of times memcached hit its connection limit and disabled its listener.",
        1,
    ),
    "accepting_conns": (
        "memcached_accepting_connections",
        G,
        "The server is currently accepting new connections.",
        1,
    ),
    "bytes": ("memcached_current_bytes", G, "Current number of bytes used to store items.", 1),
    "limit_maxbytes": (
        "memcached_limit_bytes",
        G,
        "Number of bytes this server is allowed to use for storage.",
        1,
    ),
    "total_malloced": (
        "memcached_malloced_bytes",
        G,
        "Number of bytes of memory allocated to slab pages.",
        1,
    ),
    "curr_items": (
        "memcached_current_items",
        G,
        "Current number of items stored by this instance.",
        1,
    ),
    "total_items": (
        "memcached_items_total",
        C,
        "Total number of items stored during the life of this instance.",
        1,
    ),
    "evictions": (
        "memcached_items_evicted_total",
        C,
        "Total number of valid items removed from cache to free memory for new items.",
        1,
    ),
    "reclaimed": (
        "memcached_items_reclaimed_total",
        C,
        "Total number of times an entry was stored using memory from an expired entry.",
        1,
    ),
    "store_too_large": (
        "memcached_item_too_large_total",
        C,
        "The number of times an item exceeded the max-item-size when stored.",
        1,
    ),
    "store_no_memory": (
        "memcached_item_no_memory_total",
        C,
        "The number of times an item could not be stored due to no more memory.",
        1,
    ),
    "direct_reclaims": (
        "memcached_direct_reclaims_total",
        C,
        "Times worker threads had to directly reclaim or evict items.",
        1,
    ),
    "lru_crawler_starts": (
        "memcached_lru_crawler_starts_total",
        C,
        "Times an LRU crawler was started.",
        1,
    ),
    "crawler_reclaimed": (
        "memcached_lru_crawler_reclaimed_total",
        C,
        "Total items freed by LRU Crawler.",
        1,
    ),
    "crawler_items_checked": (
        "memcached_lru_crawler_items_checked_total",
        C,
        "Total items examined by LRU Crawler.",
        1,
    ),
    "moves_to_cold": (
        "memcached_lru_crawler_moves_to_cold_total",
        C,
        "Total number of items moved from HOT/WARM to COLD LRU's.",
        1,
    ),
    "moves_to_warm": (
        "memcached_lru_crawler_moves_to_warm_total",
        C,
        "Total number of items moved from COLD to WARM LRU.",
        1,
    ),
    "moves_within_lru": (
        "memcached_lru_crawler_moves_within_lru_total",
        C,
        "Total number of items reshuffled within HOT or WARM LRU's.",
        1,
    ),
    "round_robin_fallback": (
        "memcached_round_robin_fallback_total",
        C,
        "Total times the proxy fell back to round-robin routing.",
        1,
    ),
    "unexpected_napi_ids": (
        "memcached_unexpected_napi_ids_total",
        C,
        "Total unexpected internal event-loop IDs seen.",
        1,
    ),
    # values memcached_exporter lacks
    "get_expired": (
        "cachewatch_memcached_get_expired_total",
        C,
        "Gets that found an item which had already expired.",
        1,
    ),
    "get_flushed": (
        "cachewatch_memcached_get_flushed_total",
        C,
        "Gets that found an item invalidated by flush_all.",
        1,
    ),
    "cmd_meta": (
        "cachewatch_memcached_meta_commands_total",
        C,
        "Meta protocol commands (mg, ms, md, ...) received.",
        1,
    ),
    "evicted_unfetched": (
        "cachewatch_memcached_items_evicted_unfetched_total",
        C,
        "Items evicted without ever having been fetched.",
        1,
    ),
    "expired_unfetched": (
        "cachewatch_memcached_items_expired_unfetched_total",
        C,
        "Items that expired without ever having been fetched.",
        1,
    ),
    "evicted_active": (
        "cachewatch_memcached_items_evicted_active_total",
        C,
        "Items evicted although recently active (bumped, or locked in use).",
        1,
    ),
    "lrutail_reflocked": (
        "cachewatch_memcached_lrutail_reflocked_total",
        C,
        "Times an item at the LRU tail was found locked by a reference.",
        1,
    ),
    "lru_bumps_dropped": (
        "cachewatch_memcached_lru_bumps_dropped_total",
        C,
        "LRU bumps dropped because the bump queue was full.",
        1,
    ),
    "lru_maintainer_juggles": (
        "cachewatch_memcached_lru_maintainer_juggles_total",
        C,
        "Times the LRU maintainer thread ran.",
        1,
    ),
    "slab_reassign_rescues": (
        "cachewatch_memcached_slab_reassign_rescues_total",
        C,
        "Items rescued (moved) while a slab page was reassigned.",
        1,
    ),
    "slab_reassign_chunk_rescues": (
        "cachewatch_memcached_slab_reassign_chunk_rescues_total",
        C,
        "Chunks of large items rescued during page moves.",
        1,
    ),
    "slab_reassign_evictions_nomem": (
        "cachewatch_memcached_slab_reassign_evictions_nomem_total",
        C,
        "Items evicted during page moves for lack of memory.",
        1,
    ),
    "slab_reassign_inline_reclaim": (
        "cachewatch_memcached_slab_reassign_inline_reclaim_total",
        C,
        "Items reclaimed inline during page moves.",
        1,
    ),
    "slab_reassign_busy_items": (
        "cachewatch_memcached_slab_reassign_busy_items_total",
        C,
        "Items busy (locked) during page moves, retried.",
        1,
    ),
    "slab_reassign_busy_deletes": (
        "cachewatch_memcached_slab_reassign_busy_deletes_total",
        C,
        "Items deleted during page moves because they were busy.",
        1,
    ),
    "slab_reassign_running": (
        "cachewatch_memcached_slab_reassign_running",
        G,
        "1 while a slab page move is in progress.",
        1,
    ),
    "slabs_moved": (
        "cachewatch_memcached_slabs_moved_total",
        C,
        "Slab pages moved between slab classes.",
        1,
    ),
    "slab_global_page_pool": (
        "cachewatch_memcached_slab_global_page_pool_pages",
        G,
        "Slab pages free in the global pool, not assigned to a class.",
        1,
    ),
    "lru_crawler_running": (
        "cachewatch_memcached_lru_crawler_running",
        G,
        "1 while the LRU crawler is running.",
        1,
    ),
    "malloc_fails": ("cachewatch_memcached_malloc_fails_total", C, "Failed memory allocations.", 1),
    "time_in_listen_disabled_us": (
        "cachewatch_memcached_listen_disabled_seconds_total",
        C,
        "Time the listener spent disabled at the connection limit.",
        1e-6,
    ),
    "threads": ("cachewatch_memcached_threads", G, "Worker threads.", 1),
    "connection_structures": (
        "cachewatch_memcached_connection_structures",
        G,
        "Connection structures allocated.",
        1,
    ),
    "reserved_fds": (
        "cachewatch_memcached_reserved_fds",
        G,
        "File descriptors reserved for internal use.",
        1,
    ),
    "hash_power_level": (
        "cachewatch_memcached_hash_power_level",
        G,
        "Hash table size as a power of two.",
        1,
    ),
    "hash_bytes": ("cachewatch_memcached_hash_bytes", G, "Bytes used by the hash table.", 1),
    "hash_is_expanding": (
        "cachewatch_memcached_hash_expanding",
        G,
        "1 while the hash table is growing.",
        1,
    ),
    "auth_cmds": ("cachewatch_memcached_auth_commands_total", C, "Authentication attempts.", 1),
    "auth_errors": (
        "cachewatch_memcached_auth_errors_total",
        C,
        "Failed authentication attempts.",
        1,
    ),
    "response_obj_oom": (
        "cachewatch_memcached_response_objects_oom_total",
        C,
        "Times a response object could not be allocated.",
        1,
    ),
    "response_obj_count": (
        "cachewatch_memcached_response_objects",
        G,
        "Response objects in use.",
        1,
    ),
    "response_obj_bytes": (
        "cachewatch_memcached_response_objects_bytes",
        G,
        "Bytes used by response objects.",
        1,
    ),
    "read_buf_oom": (
        "cachewatch_memcached_read_buffers_oom_total",
        C,
        "Times a read buffer could not be allocated.",
        1,
    ),
    "read_buf_count": ("cachewatch_memcached_read_buffers", G, "Read buffers allocated.", 1),
    "read_buf_bytes": (
        "cachewatch_memcached_read_buffers_bytes",
        G,
        "Bytes allocated to read buffers.",
        1,
    ),
    "read_buf_bytes_free": (
        "cachewatch_memcached_read_buffers_free_bytes",
        G,
        "Bytes of read buffers not in use.",
        1,
    ),
    "log_worker_dropped": (
        "cachewatch_memcached_log_worker_dropped_total",
        C,
        "Log lines dropped by worker threads (watch buffers full).",
        1,
    ),
    "log_worker_written": (
        "cachewatch_memcached_log_worker_written_total",
        C,
        "Log lines written by worker threads.",
        1,
    ),
    "log_watcher_skipped": (
        "cachewatch_memcached_log_watcher_skipped_total",
        C,
        "Log lines a slow watcher missed.",
        1,
    ),
    "log_watcher_sent": (
        "cachewatch_memcached_log_watcher_sent_total",
        C,
        "Log lines sent to watchers.",
        1,
    ),
    "log_watchers": ("cachewatch_memcached_log_watchers", G, "Connected watchers.", 1),
}

_EXTSTORE: dict[str, tuple[str, MetricType, str]] = {
    "extstore_compact_lost": (
        "memcached_extstore_compact_lost_total",
        C,
        "Total number of items lost because they were locked during extstore compaction.",
    ),
    "extstore_compact_rescues": (
        "memcached_extstore_compact_rescued_total",
        C,
        "Total number of items moved to a new page during extstore compaction.",
    ),
    "extstore_compact_skipped": (
        "memcached_extstore_compact_skipped_total",
        C,
        "Total number of items dropped due to inactivity during extstore compaction.",
    ),
    "extstore_page_allocs": (
        "memcached_extstore_pages_allocated_total",
        C,
        "Total number of times a page was allocated in extstore.",
    ),
    "extstore_page_evictions": (
        "memcached_extstore_pages_evicted_total",
        C,
        "Total number of times a page was evicted from extstore.",
    ),
    "extstore_page_reclaims": (
        "memcached_extstore_pages_reclaimed_total",
        C,
        "Total number of times an empty extstore page was freed.",
    ),
    "extstore_pages_free": (
        "memcached_extstore_pages_free",
        G,
        "Number of extstore pages not yet containing any items.",
    ),
    "extstore_pages_used": (
        "memcached_extstore_pages_used",
        G,
        "Number of extstore pages containing at least one item.",
    ),
    "extstore_objects_evicted": (
        "memcached_extstore_objects_evicted_total",
        C,
        "Total number of items evicted from extstore to free up space.",
    ),
    "extstore_objects_read": (
        "memcached_extstore_objects_read_total",
        C,
        "Total number of items read from extstore.",
    ),
    "extstore_objects_written": (
        "memcached_extstore_objects_written_total",
        C,
        "Total number of items written to extstore.",
    ),
    "extstore_objects_used": (
        "memcached_extstore_objects_used",
        G,
        "Number of items stored in extstore.",
    ),
    "extstore_bytes_evicted": (
        "memcached_extstore_bytes_evicted_total",
        C,
        "Total number of bytes evicted from extstore to free up space.",
    ),
    "extstore_bytes_written": (
        "memcached_extstore_bytes_written_total",
        C,
        "Total number of bytes written to extstore.",
    ),
    "extstore_bytes_read": (
        "memcached_extstore_bytes_read_total",
        C,
        "Total number of bytes read from extstore.",
    ),
    # memcached_exporter types this gauge-like value as a counter; we keep its type for parity
    "extstore_bytes_used": (
        "memcached_extstore_bytes_used",
        C,
        "Current number of bytes used to store items in extstore.",
    ),
    "extstore_bytes_fragmented": (
        "memcached_extstore_bytes_fragmented",
        G,
        "Current number of bytes in extstore pages allocated but not used to store an object.",
    ),
    "extstore_limit_maxbytes": (
        "memcached_extstore_bytes_limit",
        G,
        "Number of bytes of external storage allocated for this server.",
    ),
    "extstore_io_queue": (
        "memcached_extstore_io_queue_depth",
        G,
        "Number of items in the I/O queue waiting to be processed.",
    ),
}

_COMMANDS = "memcached_commands_total"
_VERSION = "memcached_version"


def _command_labels(command: str, status: str) -> Labels:
    return (("command", command), ("status", status))


#: stat -> labels of memcached_commands_total
_COMMAND_STATS: dict[str, Labels] = {
    f"{op}_{outcome}": _command_labels(op, status)
    for op in ("get", "delete", "incr", "decr", "cas", "touch")
    for outcome, status in (("hits", "hit"), ("misses", "miss"))
}
_COMMAND_STATS["cas_badval"] = _command_labels("cas", "badval")
_COMMAND_STATS["cmd_flush"] = _command_labels("flush", "hit")
_SET_HIT = _command_labels("set", "hit")

CATALOG: Catalog = {
    _VERSION: (G, "The version of this memcached server."),
    _COMMANDS: (
        C,
        "Total number of all requests broken down by command (get, set, etc.) and status.",
    ),
    **{name: (kind, help_text) for name, kind, help_text, _ in _PLAIN.values()},
    **{name: (kind, help_text) for name, kind, help_text in _EXTSTORE.values()},
}


def add_general_stats(pairs: Iterable[tuple[str, str]], out: SampleBatch) -> None:
    """Turn `stats` pairs into samples. Non-numeric values are skipped (see
    `collectors/memcached_values.py`); the `set` count needs `cmd_set` and the three CAS
    counts, and is left out if any is missing or bad."""
    stats = dict(pairs)
    version = stats.get("version")
    if version:
        emit(out, CATALOG, _VERSION, 1.0, (("version", version),))
    for key, text in stats.items():
        plain = _PLAIN.get(key)
        if plain is not None:
            value = parse_number(text)
            if value is not None:
                emit(out, CATALOG, plain[0], value * plain[3])
            continue
        command = _COMMAND_STATS.get(key)
        if command is not None:
            value = parse_number(text)
            if value is not None:
                emit(out, CATALOG, _COMMANDS, value, command)
            continue
        extstore = _EXTSTORE.get(key)
        if extstore is not None:
            value = parse_number(text)
            if value is not None:
                emit(out, CATALOG, extstore[0], value)
    cmd_set = parse_number(stats.get("cmd_set", ""))
    cas = sum_numbers(stats, ("cas_misses", "cas_hits", "cas_badval"))
    if cmd_set is not None and cas is not None:
        emit(out, CATALOG, _COMMANDS, cmd_set - cas, _SET_HIT)


class MemcachedStatsCollector:
    """`stats`, every poll."""

    name: ClassVar[str] = "memcached_stats"
    kinds: ClassVar[frozenset[TargetKind]] = frozenset({TargetKind.MEMCACHED})
    tier: ClassVar[Tier] = Tier.FAST
    metrics: ClassVar[Catalog] = CATALOG

    async def collect(
        self, conn: MemcachedConnection, ctx: CollectContext, out: SampleBatch
    ) -> None:
        add_general_stats(await conn.stats(), out)
