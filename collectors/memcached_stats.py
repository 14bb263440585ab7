"""memcached `stats`: the general counters, every poll.

Names, labels and types follow prometheus/memcached_exporter (`pkg/exporter/exporter.go`),
including its split of hits and misses into `memcached_commands_total{command,status}` and
its `set` count (`cmd_set` minus the CAS commands, which memcached counts in both). Values
the exporter lacks are named `cachewatch_memcached_…` in the same style.
"""

from __future__ import annotations

from collections.abc import Iterable

from collectors.base import Tier
from collectors.memcached_values import (
    Catalog,
    StatsGroupCollector,
    emit,
    parse_number,
    sum_numbers,
)
from monitor.model import Labels, MetricType, SampleBatch

__all__ = ["MemcachedStatsCollector", "add_general_stats"]


def counter(name: str, help_text: str) -> tuple[str, MetricType, str]:
    return name, MetricType.COUNTER, help_text


def gauge(name: str, help_text: str) -> tuple[str, MetricType, str]:
    return name, MetricType.GAUGE, help_text


#: stat -> (metric, type, help)
_PLAIN: dict[str, tuple[str, MetricType, str]] = {
    # the names memcached_exporter uses
    "uptime": counter("memcached_uptime_seconds", "Number of seconds since the server started."),
    "time": gauge("memcached_time_seconds", "Current UNIX time according to the server."),
    "rusage_user": counter(
        "memcached_process_user_cpu_seconds_total", "Accumulated user time for this process."
    ),
    "rusage_system": counter(
        "memcached_process_system_cpu_seconds_total", "Accumulated system time for this process."
    ),
    "bytes_read": counter(
        "memcached_read_bytes_total", "Total number of bytes read by this server from network."
    ),
    "bytes_written": counter(
        "memcached_written_bytes_total", "Total number of bytes sent by this server to network."
    ),
    "curr_connections": gauge(
        "memcached_current_connections", "Current number of open connections."
    ),
    "total_connections": counter(
        "memcached_connections_total",
        "Total number of connections opened since the server started running.",
    ),
    "rejected_connections": counter(
        "memcached_connections_rejected_total",
        "Total number of connections rejected due to hitting the -c limit in maxconns_fast mode.",
    ),
    "conn_yields": counter(
        "memcached_connections_yielded_total",
        "Total number of connections yielded running due to hitting the -R limit.",
    ),
    "listen_disabled_num": counter(
        "memcached_connections_listener_disabled_total",
        "Number of times memcached hit its connection limit and disabled its listener.",
    ),
    "accepting_conns": gauge(
        "memcached_accepting_connections", "The server is currently accepting new connections."
    ),
    "bytes": gauge("memcached_current_bytes", "Current number of bytes used to store items."),
    "limit_maxbytes": gauge(
        "memcached_limit_bytes", "Number of bytes this server is allowed to use for storage."
    ),
    "total_malloced": gauge(
        "memcached_malloced_bytes", "Number of bytes of memory allocated to slab pages."
    ),
    "curr_items": gauge(
        "memcached_current_items", "Current number of items stored by this instance."
    ),
    "total_items": counter(
        "memcached_items_total", "Total number of items stored during the life of this instance."
    ),
    "evictions": counter(
        "memcached_items_evicted_total",
        "Total number of valid items removed from cache to free memory for new items.",
    ),
    "reclaimed": counter(
        "memcached_items_reclaimed_total",
        "Total number of times an entry was stored using memory from an expired entry.",
    ),
    "store_too_large": counter(
        "memcached_item_too_large_total",
        "The number of times an item exceeded the max-item-size when stored.",
    ),
    "store_no_memory": counter(
        "memcached_item_no_memory_total",
        "The number of times an item could not be stored due to no more memory.",
    ),
    "direct_reclaims": counter(
        "memcached_direct_reclaims_total",
        "Times worker threads had to directly reclaim or evict items.",
    ),
    "lru_crawler_starts": counter(
        "memcached_lru_crawler_starts_total", "Times an LRU crawler was started."
    ),
    "crawler_reclaimed": counter(
        "memcached_lru_crawler_reclaimed_total", "Total items freed by LRU Crawler."
    ),
    "crawler_items_checked": counter(
        "memcached_lru_crawler_items_checked_total", "Total items examined by LRU Crawler."
    ),
    "moves_to_cold": counter(
        "memcached_lru_crawler_moves_to_cold_total",
        "Total number of items moved from HOT/WARM to COLD LRUs.",
    ),
    "moves_to_warm": counter(
        "memcached_lru_crawler_moves_to_warm_total",
        "Total number of items moved from COLD to WARM LRU.",
    ),
    "moves_within_lru": counter(
        "memcached_lru_crawler_moves_within_lru_total",
        "Total number of items reshuffled within HOT or WARM LRUs.",
    ),
    "round_robin_fallback": counter(
        "memcached_round_robin_fallback_total",
        "Total times the proxy fell back to round-robin routing.",
    ),
    "unexpected_napi_ids": counter(
        "memcached_unexpected_napi_ids_total", "Total unexpected internal event-loop IDs seen."
    ),
    # values memcached_exporter lacks
    "get_expired": counter(
        "cachewatch_memcached_get_expired_total",
        "Gets that found an item which had already expired.",
    ),
    "get_flushed": counter(
        "cachewatch_memcached_get_flushed_total",
        "Gets that found an item invalidated by flush_all.",
    ),
    "cmd_meta": counter(
        "cachewatch_memcached_meta_commands_total",
        "Meta protocol commands (mg, ms, md, ...) received.",
    ),
    "evicted_unfetched": counter(
        "cachewatch_memcached_items_evicted_unfetched_total",
        "Items evicted without ever having been fetched.",
    ),
    "expired_unfetched": counter(
        "cachewatch_memcached_items_expired_unfetched_total",
        "Items that expired without ever having been fetched.",
    ),
    "evicted_active": counter(
        "cachewatch_memcached_items_evicted_active_total",
        "Items evicted although recently active (bumped, or locked in use).",
    ),
    "lrutail_reflocked": counter(
        "cachewatch_memcached_lrutail_reflocked_total",
        "Times an item at the LRU tail was found locked by a reference.",
    ),
    "lru_bumps_dropped": counter(
        "cachewatch_memcached_lru_bumps_dropped_total",
        "LRU bumps dropped because the bump queue was full.",
    ),
    "lru_maintainer_juggles": counter(
        "cachewatch_memcached_lru_maintainer_juggles_total", "Times the LRU maintainer thread ran."
    ),
    "slab_reassign_rescues": counter(
        "cachewatch_memcached_slab_reassign_rescues_total",
        "Items rescued (moved) while a slab page was reassigned.",
    ),
    "slab_reassign_chunk_rescues": counter(
        "cachewatch_memcached_slab_reassign_chunk_rescues_total",
        "Chunks of large items rescued during page moves.",
    ),
    "slab_reassign_evictions_nomem": counter(
        "cachewatch_memcached_slab_reassign_evictions_nomem_total",
        "Items evicted during page moves for lack of memory.",
    ),
    "slab_reassign_inline_reclaim": counter(
        "cachewatch_memcached_slab_reassign_inline_reclaim_total",
        "Items reclaimed inline during page moves.",
    ),
    "slab_reassign_busy_items": counter(
        "cachewatch_memcached_slab_reassign_busy_items_total",
        "Items busy (locked) during page moves, retried.",
    ),
    "slab_reassign_busy_deletes": counter(
        "cachewatch_memcached_slab_reassign_busy_deletes_total",
        "Items deleted during page moves because they were busy.",
    ),
    "slab_reassign_running": gauge(
        "cachewatch_memcached_slab_reassign_running", "1 while a slab page move is in progress."
    ),
    "slabs_moved": counter(
        "cachewatch_memcached_slabs_moved_total", "Slab pages moved between slab classes."
    ),
    "slab_global_page_pool": gauge(
        "cachewatch_memcached_slab_global_page_pool_pages",
        "Slab pages free in the global pool, not assigned to a class.",
    ),
    "lru_crawler_running": gauge(
        "cachewatch_memcached_lru_crawler_running", "1 while the LRU crawler is running."
    ),
    "malloc_fails": counter(
        "cachewatch_memcached_malloc_fails_total", "Failed memory allocations."
    ),
    "time_in_listen_disabled_us": counter(
        "cachewatch_memcached_listen_disabled_seconds_total",
        "Time the listener spent disabled at the connection limit.",
    ),
    "threads": gauge("cachewatch_memcached_threads", "Worker threads."),
    "connection_structures": gauge(
        "cachewatch_memcached_connection_structures", "Connection structures allocated."
    ),
    "reserved_fds": gauge(
        "cachewatch_memcached_reserved_fds", "File descriptors reserved for internal use."
    ),
    "hash_power_level": gauge(
        "cachewatch_memcached_hash_power_level", "Hash table size as a power of two."
    ),
    "hash_bytes": gauge("cachewatch_memcached_hash_bytes", "Bytes used by the hash table."),
    "hash_is_expanding": gauge(
        "cachewatch_memcached_hash_expanding", "1 while the hash table is growing."
    ),
    "auth_cmds": counter("cachewatch_memcached_auth_commands_total", "Authentication attempts."),
    "auth_errors": counter(
        "cachewatch_memcached_auth_errors_total", "Failed authentication attempts."
    ),
    "response_obj_oom": counter(
        "cachewatch_memcached_response_objects_oom_total",
        "Times a response object could not be allocated.",
    ),
    "response_obj_count": gauge(
        "cachewatch_memcached_response_objects", "Response objects in use."
    ),
    "response_obj_bytes": gauge(
        "cachewatch_memcached_response_objects_bytes", "Bytes used by response objects."
    ),
    "read_buf_oom": counter(
        "cachewatch_memcached_read_buffers_oom_total", "Times a read buffer could not be allocated."
    ),
    "read_buf_count": gauge("cachewatch_memcached_read_buffers", "Read buffers allocated."),
    "read_buf_bytes": gauge(
        "cachewatch_memcached_read_buffers_bytes", "Bytes allocated to read buffers."
    ),
    "read_buf_bytes_free": gauge(
        "cachewatch_memcached_read_buffers_free_bytes", "Bytes of read buffers not in use."
    ),
    "log_worker_dropped": counter(
        "cachewatch_memcached_log_worker_dropped_total",
        "Log lines dropped by worker threads (watch buffers full).",
    ),
    "log_worker_written": counter(
        "cachewatch_memcached_log_worker_written_total", "Log lines written by worker threads."
    ),
    "log_watcher_skipped": counter(
        "cachewatch_memcached_log_watcher_skipped_total", "Log lines a slow watcher missed."
    ),
    "log_watcher_sent": counter(
        "cachewatch_memcached_log_watcher_sent_total", "Log lines sent to watchers."
    ),
    "log_watchers": gauge("cachewatch_memcached_log_watchers", "Connected watchers."),
}

_EXTSTORE: dict[str, tuple[str, MetricType, str]] = {
    "extstore_compact_lost": counter(
        "memcached_extstore_compact_lost_total",
        "Total number of items lost because they were locked during extstore compaction.",
    ),
    "extstore_compact_rescues": counter(
        "memcached_extstore_compact_rescued_total",
        "Total number of items moved to a new page during extstore compaction.",
    ),
    "extstore_compact_skipped": counter(
        "memcached_extstore_compact_skipped_total",
        "Total number of items dropped due to inactivity during extstore compaction.",
    ),
    "extstore_page_allocs": counter(
        "memcached_extstore_pages_allocated_total",
        "Total number of times a page was allocated in extstore.",
    ),
    "extstore_page_evictions": counter(
        "memcached_extstore_pages_evicted_total",
        "Total number of times a page was evicted from extstore.",
    ),
    "extstore_page_reclaims": counter(
        "memcached_extstore_pages_reclaimed_total",
        "Total number of times an empty extstore page was freed.",
    ),
    "extstore_pages_free": gauge(
        "memcached_extstore_pages_free", "Number of extstore pages not yet containing any items."
    ),
    "extstore_pages_used": gauge(
        "memcached_extstore_pages_used", "Number of extstore pages containing at least one item."
    ),
    "extstore_objects_evicted": counter(
        "memcached_extstore_objects_evicted_total",
        "Total number of items evicted from extstore to free up space.",
    ),
    "extstore_objects_read": counter(
        "memcached_extstore_objects_read_total", "Total number of items read from extstore."
    ),
    "extstore_objects_written": counter(
        "memcached_extstore_objects_written_total", "Total number of items written to extstore."
    ),
    "extstore_objects_used": gauge(
        "memcached_extstore_objects_used", "Number of items stored in extstore."
    ),
    "extstore_bytes_evicted": counter(
        "memcached_extstore_bytes_evicted_total",
        "Total number of bytes evicted from extstore to free up space.",
    ),
    "extstore_bytes_written": counter(
        "memcached_extstore_bytes_written_total", "Total number of bytes written to extstore."
    ),
    "extstore_bytes_read": counter(
        "memcached_extstore_bytes_read_total", "Total number of bytes read from extstore."
    ),
    # memcached_exporter types this gauge-like value as a counter; kept for parity
    "extstore_bytes_used": counter(
        "memcached_extstore_bytes_used", "Current number of bytes used to store items in extstore."
    ),
    "extstore_bytes_fragmented": gauge(
        "memcached_extstore_bytes_fragmented",
        "Current number of bytes in extstore pages allocated but not used to store an object.",
    ),
    "extstore_limit_maxbytes": gauge(
        "memcached_extstore_bytes_limit",
        "Number of bytes of external storage allocated for this server.",
    ),
    "extstore_io_queue": gauge(
        "memcached_extstore_io_queue_depth",
        "Number of items in the I/O queue waiting to be processed.",
    ),
}

#: memcached reports this one in microseconds
_SCALES = {"time_in_listen_disabled_us": 1e-6}

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
    _VERSION: (MetricType.GAUGE, "The version of this memcached server."),
    _COMMANDS: (
        MetricType.COUNTER,
        "Total number of all requests broken down by command (get, set, etc.) and status.",
    ),
    **{name: (kind, help_text) for name, kind, help_text in _PLAIN.values()},
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
                emit(out, CATALOG, plain[0], value * _SCALES.get(key, 1.0))
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


class MemcachedStatsCollector(StatsGroupCollector):
    """`stats`, every poll."""

    name = "memcached_stats"
    tier = Tier.FAST
    metrics = CATALOG
    group = ""
    parse = staticmethod(add_general_stats)
