"""The INFO field → metric table: which series each plain `field:value` line of INFO becomes.

Names, types and scales follow oliver006/redis_exporter (as Debian's 1.45 exports them from
Redis 7.0, plus the few later additions noted below) so Grafana dashboards and alert rules
written against it keep working. Fields redis_exporter ignores get a `cachewatch_redis_` name
in the same style. Sections with structured values (commandstats, errorstats, latencystats,
keyspace, replicas, the replica's master link) are handled in `redis_info.py`.

The table is compiled once into `FIELD_PLANS`: field → (metric, is_counter, scale), so the
parser does one dict lookup per line.
"""

from __future__ import annotations

from typing import NamedTuple

from monitor.model import MetricType

__all__ = ["FieldPlan", "FIELD_PLANS", "IGNORED_FIELDS", "plain_catalog", "generic_metric_name"]

G = MetricType.GAUGE
C = MetricType.COUNTER


class FieldPlan(NamedTuple):
    metric: str
    kind: MetricType
    scale: float


# (INFO field, metric name, type, scale, help)
_REDIS_EXPORTER_FIELDS: tuple[tuple[str, str, MetricType, float, str], ...] = (
    # Server
    ("uptime_in_seconds", "redis_uptime_in_seconds", G, 1, "Seconds since the server started"),
    ("process_id", "redis_process_id", G, 1, "Server process id"),
    ("io_threads_active", "redis_io_threads_active", G, 1, "1 if I/O threads are active"),
    ("configured_hz", "redis_configured_hz", G, 1, "Configured server frequency"),
    ("hz", "redis_hz", G, 1, "Current server frequency"),
    # Clients
    ("connected_clients", "redis_connected_clients", G, 1, "Client connections"),
    ("blocked_clients", "redis_blocked_clients", G, 1, "Clients blocked in a blocking call"),
    ("tracking_clients", "redis_tracking_clients", G, 1, "Clients being tracked"),
    (
        "clients_in_timeout_table",
        "redis_clients_in_timeout_table",
        G,
        1,
        "Clients in the clients timeout table",
    ),
    ("cluster_connections", "redis_cluster_connections", G, 1, "Cluster bus connections"),
    ("maxclients", "redis_max_clients", G, 1, "maxclients setting"),
    (
        "client_longest_output_list",
        "redis_client_longest_output_list",
        G,
        1,
        "Longest output list among clients (Redis < 5)",
    ),
    (
        "client_biggest_input_buf",
        "redis_client_biggest_input_buf",
        G,
        1,
        "Biggest input buffer among clients (Redis < 5)",
    ),
    (
        "client_recent_max_input_buffer",
        "redis_client_recent_max_input_buffer_bytes",
        G,
        1,
        "Biggest recent client input buffer",
    ),
    (
        "client_recent_max_output_buffer",
        "redis_client_recent_max_output_buffer_bytes",
        G,
        1,
        "Biggest recent client output buffer",
    ),
    # Memory
    ("used_memory", "redis_memory_used_bytes", G, 1, "Bytes allocated by the server"),
    ("used_memory_rss", "redis_memory_used_rss_bytes", G, 1, "Resident set size"),
    ("used_memory_peak", "redis_memory_used_peak_bytes", G, 1, "Peak of used_memory"),
    ("used_memory_lua", "redis_memory_used_lua_bytes", G, 1, "Memory used by the Lua engine"),
    (
        "used_memory_overhead",
        "redis_memory_used_overhead_bytes",
        G,
        1,
        "Memory used for internal overhead",
    ),
    ("used_memory_startup", "redis_memory_used_startup_bytes", G, 1, "Memory used at startup"),
    ("used_memory_dataset", "redis_memory_used_dataset_bytes", G, 1, "Memory used by the data"),
    ("used_memory_scripts", "redis_memory_used_scripts_bytes", G, 1, "Memory used by scripts"),
    (
        "used_memory_vm_total",
        "redis_memory_used_vm_total",
        G,
        1,
        "Memory used by script VMs (bytes)",
    ),
    ("maxmemory", "redis_memory_max_bytes", G, 1, "maxmemory setting (0 = no limit)"),
    ("total_system_memory", "redis_total_system_memory_bytes", G, 1, "Host memory"),
    ("allocator_active", "redis_allocator_active_bytes", G, 1, "Allocator active bytes"),
    ("allocator_allocated", "redis_allocator_allocated_bytes", G, 1, "Allocator allocated bytes"),
    ("allocator_resident", "redis_allocator_resident_bytes", G, 1, "Allocator resident bytes"),
    ("allocator_frag_ratio", "redis_allocator_frag_ratio", G, 1, "Allocator fragmentation ratio"),
    ("allocator_frag_bytes", "redis_allocator_frag_bytes", G, 1, "Allocator fragmentation bytes"),
    ("allocator_rss_ratio", "redis_allocator_rss_ratio", G, 1, "Allocator RSS ratio"),
    ("allocator_rss_bytes", "redis_allocator_rss_bytes", G, 1, "Allocator RSS bytes"),
    ("mem_fragmentation_ratio", "redis_mem_fragmentation_ratio", G, 1, "RSS / used_memory"),
    ("mem_fragmentation_bytes", "redis_mem_fragmentation_bytes", G, 1, "RSS - used_memory"),
    ("mem_clients_slaves", "redis_mem_clients_slaves", G, 1, "Memory used by replica clients"),
    ("mem_clients_normal", "redis_mem_clients_normal", G, 1, "Memory used by normal clients"),
    (
        "mem_not_counted_for_evict",
        "redis_mem_not_counted_for_eviction_bytes",
        G,
        1,
        "Memory not counted for eviction",
    ),
    (
        "expired_stale_perc",
        "redis_expired_stale_percentage",
        G,
        1,
        "Estimated percentage of expired keys still in memory",
    ),
    (
        "lazyfree_pending_objects",
        "redis_lazyfree_pending_objects",
        G,
        1,
        "Objects waiting to be freed",
    ),
    ("active_defrag_running", "redis_active_defrag_running", G, 1, "Active defrag CPU percent"),
    (
        "migrate_cached_sockets",
        "redis_migrate_cached_sockets_total",
        G,
        1,
        "Sockets open for MIGRATE",
    ),
    ("active_defrag_hits", "redis_defrag_hits", G, 1, "Values reallocated by active defrag"),
    ("active_defrag_misses", "redis_defrag_misses", G, 1, "Values skipped by active defrag"),
    ("active_defrag_key_hits", "redis_defrag_key_hits", G, 1, "Keys defragmented"),
    ("active_defrag_key_misses", "redis_defrag_key_misses", G, 1, "Keys skipped by defrag"),
    (
        "expired_time_cap_reached_count",
        "redis_expired_time_cap_reached_total",
        G,
        1,
        "Times the active expire cycle hit its time limit",
    ),
    ("number_of_cached_scripts", "redis_number_of_cached_scripts", G, 1, "Cached Lua scripts"),
    # Persistence
    ("loading", "redis_loading_dump_file", G, 1, "1 while loading a dump"),
    (
        "rdb_changes_since_last_save",
        "redis_rdb_changes_since_last_save",
        G,
        1,
        "Changes since the last RDB save",
    ),
    ("rdb_bgsave_in_progress", "redis_rdb_bgsave_in_progress", G, 1, "1 during a BGSAVE"),
    (
        "rdb_last_save_time",
        "redis_rdb_last_save_timestamp_seconds",
        G,
        1,
        "Unix time of the last successful RDB save",
    ),
    ("rdb_last_bgsave_status", "redis_rdb_last_bgsave_status", G, 1, "1 if the last BGSAVE ok"),
    (
        "rdb_last_bgsave_time_sec",
        "redis_rdb_last_bgsave_duration_sec",
        G,
        1,
        "Duration of the last BGSAVE",
    ),
    (
        "rdb_current_bgsave_time_sec",
        "redis_rdb_current_bgsave_duration_sec",
        G,
        1,
        "Duration of the running BGSAVE",
    ),
    ("rdb_last_cow_size", "redis_rdb_last_cow_size_bytes", G, 1, "Copy-on-write of last BGSAVE"),
    ("aof_enabled", "redis_aof_enabled", G, 1, "1 if AOF is on"),
    ("aof_rewrite_in_progress", "redis_aof_rewrite_in_progress", G, 1, "1 during a rewrite"),
    ("aof_rewrite_scheduled", "redis_aof_rewrite_scheduled", G, 1, "1 if a rewrite is queued"),
    (
        "aof_last_rewrite_time_sec",
        "redis_aof_last_rewrite_duration_sec",
        G,
        1,
        "Duration of the last AOF rewrite",
    ),
    (
        "aof_current_rewrite_time_sec",
        "redis_aof_current_rewrite_duration_sec",
        G,
        1,
        "Duration of the running AOF rewrite",
    ),
    ("aof_last_cow_size", "redis_aof_last_cow_size_bytes", G, 1, "Copy-on-write of last rewrite"),
    ("aof_current_size", "redis_aof_current_size_bytes", G, 1, "AOF size"),
    ("aof_base_size", "redis_aof_base_size_bytes", G, 1, "AOF size at the last rewrite"),
    ("aof_pending_rewrite", "redis_aof_pending_rewrite", G, 1, "1 if a rewrite is pending"),
    ("aof_buffer_length", "redis_aof_buffer_length", G, 1, "AOF buffer length"),
    (
        "aof_rewrite_buffer_length",
        "redis_aof_rewrite_buffer_length",
        G,
        1,
        "AOF rewrite buffer length",
    ),
    ("aof_pending_bio_fsync", "redis_aof_pending_bio_fsync", G, 1, "Pending fsync jobs"),
    ("aof_delayed_fsync", "redis_aof_delayed_fsync", G, 1, "Delayed fsyncs"),
    (
        "aof_last_bgrewrite_status",
        "redis_aof_last_bgrewrite_status",
        G,
        1,
        "1 if the last AOF rewrite ok",
    ),
    ("aof_last_write_status", "redis_aof_last_write_status", G, 1, "1 if the last AOF write ok"),
    ("module_fork_in_progress", "redis_module_fork_in_progress", G, 1, "1 during a module fork"),
    (
        "module_fork_last_cow_size",
        "redis_module_fork_last_cow_size",
        G,
        1,
        "Copy-on-write of the last module fork (bytes)",
    ),
    # Stats
    (
        "total_connections_received",
        "redis_connections_received_total",
        C,
        1,
        "Connections accepted",
    ),
    ("total_commands_processed", "redis_commands_processed_total", C, 1, "Commands processed"),
    (
        "rejected_connections",
        "redis_rejected_connections_total",
        C,
        1,
        "Connections rejected because of maxclients",
    ),
    ("total_net_input_bytes", "redis_net_input_bytes_total", C, 1, "Bytes read from the network"),
    (
        "total_net_output_bytes",
        "redis_net_output_bytes_total",
        C,
        1,
        "Bytes written to the network",
    ),
    ("expired_keys", "redis_expired_keys_total", C, 1, "Keys expired"),
    ("evicted_keys", "redis_evicted_keys_total", C, 1, "Keys evicted because of maxmemory"),
    ("keyspace_hits", "redis_keyspace_hits_total", C, 1, "Successful key lookups"),
    ("keyspace_misses", "redis_keyspace_misses_total", C, 1, "Failed key lookups"),
    ("pubsub_channels", "redis_pubsub_channels", G, 1, "Pub/sub channels with subscribers"),
    ("pubsub_patterns", "redis_pubsub_patterns", G, 1, "Pub/sub pattern subscriptions"),
    ("latest_fork_usec", "redis_latest_fork_seconds", G, 1e-6, "Duration of the latest fork"),
    (
        "slave_expires_tracked_keys",
        "redis_slave_expires_tracked_keys",
        G,
        1,
        "Keys tracked for expiry on a writable replica",
    ),
    ("sync_full", "redis_replica_resyncs_full", G, 1, "Full resyncs with replicas"),
    (
        "sync_partial_ok",
        "redis_replica_partial_resync_accepted",
        G,
        1,
        "Accepted partial resync requests",
    ),
    (
        "sync_partial_err",
        "redis_replica_partial_resync_denied",
        G,
        1,
        "Denied partial resync requests",
    ),
    ("tracking_total_keys", "redis_tracking_total_keys", G, 1, "Keys tracked for clients"),
    ("tracking_total_items", "redis_tracking_total_items", G, 1, "Items tracked for clients"),
    ("tracking_total_prefixes", "redis_tracking_total_prefixes", G, 1, "Tracked prefixes"),
    (
        "unexpected_error_replies",
        "redis_unexpected_error_replies",
        C,
        1,
        "Unexpected error replies (AOF load, replication)",
    ),
    ("total_error_replies", "redis_total_error_replies", C, 1, "Error replies sent"),
    (
        "dump_payload_sanitizations",
        "redis_dump_payload_sanitizations",
        C,
        1,
        "Deep integrity validations of RESTORE payloads",
    ),
    ("total_reads_processed", "redis_total_reads_processed", C, 1, "Read events processed"),
    ("total_writes_processed", "redis_total_writes_processed", C, 1, "Write events processed"),
    (
        "io_threaded_reads_processed",
        "redis_io_threaded_reads_processed",
        C,
        1,
        "Reads processed by I/O threads",
    ),
    (
        "io_threaded_writes_processed",
        "redis_io_threaded_writes_processed",
        C,
        1,
        "Writes processed by I/O threads",
    ),
    # Replication
    ("connected_slaves", "redis_connected_slaves", G, 1, "Connected replicas"),
    ("repl_backlog_size", "redis_replication_backlog_bytes", G, 1, "Replication backlog size"),
    ("repl_backlog_active", "redis_repl_backlog_is_active", G, 1, "1 if the backlog is active"),
    (
        "repl_backlog_first_byte_offset",
        "redis_repl_backlog_first_byte_offset",
        G,
        1,
        "Master offset of the backlog's first byte",
    ),
    ("repl_backlog_histlen", "redis_repl_backlog_history_bytes", G, 1, "Bytes in the backlog"),
    ("master_repl_offset", "redis_master_repl_offset", G, 1, "Replication offset"),
    (
        "second_repl_offset",
        "redis_second_repl_offset",
        G,
        1,
        "Offset up to which the previous replication id is accepted",
    ),
    ("slave_priority", "redis_slave_priority", G, 1, "Replica priority for failover"),
    # CPU
    ("used_cpu_sys", "redis_cpu_sys_seconds_total", C, 1, "System CPU"),
    ("used_cpu_user", "redis_cpu_user_seconds_total", C, 1, "User CPU"),
    (
        "used_cpu_sys_children",
        "redis_cpu_sys_children_seconds_total",
        C,
        1,
        "System CPU of child processes",
    ),
    (
        "used_cpu_user_children",
        "redis_cpu_user_children_seconds_total",
        C,
        1,
        "User CPU of child processes",
    ),
    (
        "used_cpu_sys_main_thread",
        "redis_cpu_sys_main_thread_seconds_total",
        C,
        1,
        "System CPU of the main thread",
    ),
    (
        "used_cpu_user_main_thread",
        "redis_cpu_user_main_thread_seconds_total",
        C,
        1,
        "User CPU of the main thread",
    ),
    # Cluster
    ("cluster_enabled", "redis_cluster_enabled", G, 1, "1 if cluster mode is on"),
    # Sentinel (the per-master `masterN:` lines are in `collectors/redis_sentinel.py`)
    ("sentinel_masters", "redis_sentinel_masters", G, 1, "Masters this Sentinel watches"),
    ("sentinel_tilt", "redis_sentinel_tilt", G, 1, "1 while the Sentinel is in TILT mode"),
    (
        "sentinel_running_scripts",
        "redis_sentinel_running_scripts",
        G,
        1,
        "Sentinel scripts running now",
    ),
    (
        "sentinel_scripts_queue_length",
        "redis_sentinel_scripts_queue_length",
        G,
        1,
        "Sentinel scripts waiting to run",
    ),
    (
        "sentinel_simulate_failure_flags",
        "redis_sentinel_simulate_failure_flags",
        G,
        1,
        "Failure simulation flags (SENTINEL SIMULATE-FAILURE)",
    ),
)

# Fields redis_exporter does not export, with names in its style.
_CACHEWATCH_FIELDS: tuple[tuple[str, str, MetricType, float, str], ...] = (
    ("instantaneous_ops_per_sec", "ops_per_second", G, 1, "Server-side ops/s (moving sample)"),
    ("instantaneous_input_kbps", "instantaneous_input_kbps", G, 1, "Network input KB/s"),
    ("instantaneous_output_kbps", "instantaneous_output_kbps", G, 1, "Network output KB/s"),
    (
        "instantaneous_input_repl_kbps",
        "instantaneous_input_repl_kbps",
        G,
        1,
        "Replication input KB/s",
    ),
    (
        "instantaneous_output_repl_kbps",
        "instantaneous_output_repl_kbps",
        G,
        1,
        "Replication output KB/s",
    ),
    (
        "instantaneous_eventloop_cycles_per_sec",
        "eventloop_cycles_per_second",
        G,
        1,
        "Event loop cycles per second",
    ),
    (
        "instantaneous_eventloop_duration_usec",
        "eventloop_duration_seconds",
        G,
        1e-6,
        "Mean event loop cycle duration",
    ),
    ("total_net_repl_input_bytes", "net_repl_input_bytes_total", C, 1, "Replication bytes read"),
    (
        "total_net_repl_output_bytes",
        "net_repl_output_bytes_total",
        C,
        1,
        "Replication bytes written",
    ),
    ("evicted_clients", "evicted_clients_total", C, 1, "Clients evicted (maxmemory-clients)"),
    ("evicted_scripts", "evicted_scripts_total", C, 1, "Scripts evicted"),
    ("total_forks", "forks_total", C, 1, "Forks since start"),
    (
        "expire_cycle_cpu_milliseconds",
        "expire_cycle_cpu_seconds_total",
        C,
        1e-3,
        "CPU spent in active expiry",
    ),
    (
        "total_eviction_exceeded_time",
        "eviction_exceeded_time_seconds_total",
        C,
        1e-3,
        "Time used_memory was above maxmemory",
    ),
    (
        "current_eviction_exceeded_time",
        "current_eviction_exceeded_time_seconds",
        G,
        1e-3,
        "Time used_memory has been above maxmemory",
    ),
    (
        "total_active_defrag_time",
        "active_defrag_time_seconds_total",
        C,
        1e-3,
        "Time spent in active defrag",
    ),
    (
        "current_active_defrag_time",
        "current_active_defrag_time_seconds",
        G,
        1e-3,
        "Time the running active defrag has taken",
    ),
    ("pubsubshard_channels", "pubsubshard_channels", G, 1, "Sharded pub/sub channels"),
    ("pubsub_clients", "pubsub_clients", G, 1, "Clients in pub/sub mode"),
    ("watching_clients", "watching_clients", G, 1, "Clients in WATCH"),
    ("total_watched_keys", "watched_keys", G, 1, "Keys being watched"),
    ("total_blocking_keys", "blocking_keys", G, 1, "Keys clients are blocked on"),
    (
        "total_blocking_keys_on_nokey",
        "blocking_keys_on_nokey",
        G,
        1,
        "Keys clients are blocked on, unblocking when deleted",
    ),
    ("reply_buffer_shrinks", "reply_buffer_shrinks_total", C, 1, "Reply buffer shrinks"),
    ("reply_buffer_expands", "reply_buffer_expands_total", C, 1, "Reply buffer expands"),
    ("eventloop_cycles", "eventloop_cycles_total", C, 1, "Event loop cycles"),
    (
        "eventloop_duration_sum",
        "eventloop_duration_seconds_total",
        C,
        1e-6,
        "Time spent in the event loop",
    ),
    (
        "eventloop_duration_cmd_sum",
        "eventloop_duration_cmd_seconds_total",
        C,
        1e-6,
        "Time spent executing commands",
    ),
    ("acl_access_denied_auth", "acl_access_denied_auth_total", C, 1, "Failed AUTHs"),
    ("acl_access_denied_cmd", "acl_access_denied_cmd_total", C, 1, "Commands denied by ACL"),
    ("acl_access_denied_key", "acl_access_denied_key_total", C, 1, "Key accesses denied by ACL"),
    (
        "acl_access_denied_channel",
        "acl_access_denied_channel_total",
        C,
        1,
        "Channel accesses denied by ACL",
    ),
    (
        "client_query_buffer_limit_disconnections",
        "client_query_buffer_limit_disconnections_total",
        C,
        1,
        "Clients disconnected for exceeding the query buffer limit",
    ),
    (
        "client_output_buffer_limit_disconnections",
        "client_output_buffer_limit_disconnections_total",
        C,
        1,
        "Clients disconnected for exceeding the output buffer limit",
    ),
    (
        "io_threaded_freed_objects",
        "io_threaded_freed_objects_total",
        C,
        1,
        "Objects freed by I/O threads",
    ),
    (
        "io_threaded_poll_processed",
        "io_threaded_poll_processed_total",
        C,
        1,
        "Polls processed by I/O threads",
    ),
    (
        "io_threaded_total_prefetch_batches",
        "io_threaded_prefetch_batches_total",
        C,
        1,
        "Prefetch batches of I/O threads",
    ),
    (
        "io_threaded_total_prefetch_entries",
        "io_threaded_prefetch_entries_total",
        C,
        1,
        "Prefetch entries of I/O threads",
    ),
    ("lazyfreed_objects", "lazyfreed_objects_total", C, 1, "Objects freed lazily"),
    ("rdb_saves", "rdb_saves_total", C, 1, "RDB saves since start"),
    ("aof_rewrites", "aof_rewrites_total", C, 1, "AOF rewrites since start"),
    (
        "aof_rewrites_consecutive_failures",
        "aof_rewrites_consecutive_failures",
        G,
        1,
        "Consecutive failed AOF rewrites",
    ),
    ("async_loading", "async_loading", G, 1, "1 while loading a dump asynchronously"),
    ("current_cow_peak", "current_cow_peak_bytes", G, 1, "Peak copy-on-write of the running fork"),
    ("current_cow_size", "current_cow_size_bytes", G, 1, "Copy-on-write of the running fork"),
    ("current_cow_size_age", "current_cow_size_age_seconds", G, 1, "Age of current_cow_size"),
    ("current_fork_perc", "current_fork_percent", G, 1, "Progress of the running fork"),
    (
        "current_save_keys_processed",
        "current_save_keys_processed",
        G,
        1,
        "Keys processed by the running save",
    ),
    ("current_save_keys_total", "current_save_keys", G, 1, "Keys at the start of the save"),
    (
        "rdb_last_load_keys_expired",
        "rdb_last_load_keys_expired",
        G,
        1,
        "Volatile keys deleted during the last load",
    ),
    (
        "rdb_last_load_keys_loaded",
        "rdb_last_load_keys_loaded",
        G,
        1,
        "Keys loaded during the last load",
    ),
    ("rss_overhead_ratio", "rss_overhead_ratio", G, 1, "RSS / allocator resident"),
    ("rss_overhead_bytes", "rss_overhead_bytes", G, 1, "RSS - allocator resident"),
    ("allocator_muzzy", "allocator_muzzy_bytes", G, 1, "Allocator muzzy pages"),
    (
        "mem_replication_backlog",
        "mem_replication_backlog_bytes",
        G,
        1,
        "Memory of the replication backlog",
    ),
    (
        "mem_total_replication_buffers",
        "mem_total_replication_buffers_bytes",
        G,
        1,
        "Memory of all replication buffers",
    ),
    ("mem_cluster_links", "mem_cluster_links_bytes", G, 1, "Memory of cluster bus links"),
    ("mem_aof_buffer", "mem_aof_buffer_bytes", G, 1, "Memory of AOF buffers"),
    (
        "mem_overhead_db_hashtable_rehashing",
        "mem_overhead_db_hashtable_rehashing_bytes",
        G,
        1,
        "Memory of hash tables being rehashed",
    ),
    ("used_memory_vm_eval", "memory_used_vm_eval_bytes", G, 1, "Memory of the EVAL VM"),
    (
        "used_memory_vm_functions",
        "memory_used_vm_functions_bytes",
        G,
        1,
        "Memory of the functions VM",
    ),
    (
        "used_memory_scripts_eval",
        "memory_used_scripts_eval_bytes",
        G,
        1,
        "Overhead of EVAL scripts",
    ),
    ("used_memory_functions", "memory_used_functions_bytes", G, 1, "Overhead of functions"),
    ("number_of_functions", "functions", G, 1, "Loaded functions"),
    ("number_of_libraries", "function_libraries", G, 1, "Loaded function libraries"),
    (
        "slave_read_repl_offset",
        "slave_read_repl_offset",
        G,
        1,
        "Replication offset read by this replica",
    ),
    ("replicas_waiting_psync", "replicas_waiting_psync", G, 1, "Replicas waiting for psync"),
    (
        "replicas_repl_buffer_size",
        "replicas_repl_buffer_bytes",
        G,
        1,
        "Replica-side replication buffer size",
    ),
    (
        "replicas_repl_buffer_peak",
        "replicas_repl_buffer_peak_bytes",
        G,
        1,
        "Peak of the replica-side replication buffer",
    ),
    (
        "master_link_down_since_seconds",
        "master_link_down_seconds",
        G,
        1,
        "Seconds since the link to the master went down",
    ),
    (
        "sentinel_tilt_since_seconds",
        "sentinel_tilt_since_seconds",
        G,
        1,
        "Seconds the Sentinel has been in TILT mode (-1 when not)",
    ),
)

#: Fields that look numeric but are identities, clocks or duplicates, not measurements.
IGNORED_FIELDS = frozenset(
    {
        "redis_git_sha1",
        "redis_git_dirty",
        "redis_build_id",
        "arch_bits",
        "uptime_in_days",
        "lru_clock",
        "server_time_usec",
        "tcp_port",
        "run_id",
        "master_replid",
        "master_replid2",
        "master_port",
        "slave_read_only",
        "replica_read_only",
        "master_sync_total_bytes",
        "master_sync_read_bytes",
        "master_sync_left_bytes",
        "master_sync_perc",
        "master_sync_last_io_seconds_ago",
        "slave_announced",
        "replica_announced",
    }
)

_HELP: dict[str, tuple[MetricType, str]] = {}


def _compile() -> dict[str, FieldPlan]:
    plans: dict[str, FieldPlan] = {}
    for field, metric, kind, scale, help_text in _REDIS_EXPORTER_FIELDS:
        plans[field] = FieldPlan(metric, kind, scale)
        _HELP[metric] = (kind, help_text)
    for field, suffix, kind, scale, help_text in _CACHEWATCH_FIELDS:
        metric = "cachewatch_redis_" + suffix
        plans[field] = FieldPlan(metric, kind, scale)
        _HELP[metric] = (kind, help_text)
    return plans


FIELD_PLANS: dict[str, FieldPlan] = _compile()


def plain_catalog() -> dict[str, tuple[MetricType, str]]:
    """Type and help of every metric a plain INFO field can map to."""
    return dict(_HELP)


def generic_metric_name(field: str) -> str:
    """The name of a numeric INFO field that neither table knows (newer servers, forks)."""
    safe = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in field.lower())
    return "cachewatch_redis_" + safe
