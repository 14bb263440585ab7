"""Which section of the server's own report each metric comes from, so the INFO browsers
(TUI and web) file every field where `INFO` (or memcached's `stats` commands) puts it.

The Redis table lists the plain fields of each `INFO ALL` section as Redis 7.0 and Valkey 8
report them, plus fields of older and newer versions that the name table knows;
tests/integration/test_info_sections.py checks it against live servers. Fields with
structured values (commandstats, keyspace, replicas) have tables of their own.
"""

from __future__ import annotations

import functools

from collectors.redis_info_names import FIELD_PLANS, generic_metric_name
from collectors.registry import load_collector_classes

__all__ = ["REDIS_INFO_SECTIONS", "metric_sections"]


def _fields(text: str) -> tuple[str, ...]:
    return tuple(text.split())


REDIS_INFO_SECTIONS: dict[str, tuple[str, ...]] = {
    "server": _fields("process_id uptime_in_seconds hz configured_hz io_threads_active"),
    "clients": _fields(
        """connected_clients cluster_connections maxclients client_recent_max_input_buffer
        client_recent_max_output_buffer blocked_clients tracking_clients
        clients_in_timeout_table pubsub_clients watching_clients total_watched_keys
        total_blocking_keys total_blocking_keys_on_nokey client_biggest_input_buf
        client_longest_output_list"""
    ),
    "memory": _fields(
        """used_memory used_memory_rss used_memory_peak used_memory_peak_perc
        used_memory_overhead used_memory_startup used_memory_dataset used_memory_dataset_perc
        allocator_allocated allocator_active allocator_resident total_system_memory
        used_memory_lua used_memory_vm_eval used_memory_scripts_eval number_of_cached_scripts
        number_of_functions number_of_libraries used_memory_vm_functions used_memory_vm_total
        used_memory_functions used_memory_scripts maxmemory allocator_frag_ratio
        allocator_frag_bytes allocator_rss_ratio allocator_rss_bytes rss_overhead_ratio
        rss_overhead_bytes mem_fragmentation_ratio mem_fragmentation_bytes
        mem_not_counted_for_evict mem_replication_backlog mem_total_replication_buffers
        mem_clients_slaves mem_clients_normal mem_cluster_links mem_aof_buffer
        active_defrag_running lazyfree_pending_objects lazyfreed_objects allocator_muzzy
        mem_overhead_db_hashtable_rehashing"""
    ),
    "persistence": _fields(
        """loading async_loading current_cow_peak current_cow_size current_cow_size_age
        current_fork_perc current_save_keys_processed current_save_keys_total
        rdb_changes_since_last_save rdb_bgsave_in_progress rdb_last_save_time
        rdb_last_bgsave_status rdb_last_bgsave_time_sec rdb_current_bgsave_time_sec rdb_saves
        rdb_last_cow_size rdb_last_load_keys_expired rdb_last_load_keys_loaded aof_enabled
        aof_rewrite_in_progress aof_rewrite_scheduled aof_last_rewrite_time_sec
        aof_current_rewrite_time_sec aof_last_bgrewrite_status aof_rewrites
        aof_rewrites_consecutive_failures aof_last_write_status aof_last_cow_size
        module_fork_in_progress module_fork_last_cow_size aof_current_size aof_base_size
        aof_pending_rewrite aof_buffer_length aof_rewrite_buffer_length aof_pending_bio_fsync
        aof_delayed_fsync"""
    ),
    "stats": _fields(
        """total_connections_received total_commands_processed instantaneous_ops_per_sec
        total_net_input_bytes total_net_output_bytes total_net_repl_input_bytes
        total_net_repl_output_bytes instantaneous_input_kbps instantaneous_output_kbps
        instantaneous_input_repl_kbps instantaneous_output_repl_kbps rejected_connections
        sync_full sync_partial_ok sync_partial_err expired_keys expired_stale_perc
        expired_time_cap_reached_count expire_cycle_cpu_milliseconds evicted_keys
        evicted_clients total_eviction_exceeded_time current_eviction_exceeded_time
        keyspace_hits keyspace_misses pubsub_channels pubsub_patterns pubsubshard_channels
        latest_fork_usec total_forks migrate_cached_sockets slave_expires_tracked_keys
        active_defrag_hits active_defrag_misses active_defrag_key_hits
        active_defrag_key_misses total_active_defrag_time current_active_defrag_time
        tracking_total_keys tracking_total_items tracking_total_prefixes
        unexpected_error_replies total_error_replies dump_payload_sanitizations
        total_reads_processed total_writes_processed io_threaded_reads_processed
        io_threaded_writes_processed reply_buffer_shrinks reply_buffer_expands evicted_scripts
        io_threaded_freed_objects io_threaded_poll_processed
        io_threaded_total_prefetch_batches io_threaded_total_prefetch_entries
        client_query_buffer_limit_disconnections client_output_buffer_limit_disconnections
        eventloop_cycles eventloop_duration_sum eventloop_duration_cmd_sum
        instantaneous_eventloop_cycles_per_sec instantaneous_eventloop_duration_usec
        acl_access_denied_auth acl_access_denied_cmd acl_access_denied_key
        acl_access_denied_channel"""
    ),
    "replication": _fields(
        """connected_slaves master_failover_state master_repl_offset second_repl_offset
        repl_backlog_active repl_backlog_size repl_backlog_first_byte_offset
        repl_backlog_histlen replicas_waiting_psync master_link_down_since_seconds
        replicas_repl_buffer_size replicas_repl_buffer_peak slave_priority replica_priority
        slave_read_repl_offset slave_repl_offset"""
    ),
    "cpu": _fields(
        """used_cpu_sys used_cpu_user used_cpu_sys_children used_cpu_user_children
        used_cpu_sys_main_thread used_cpu_user_main_thread"""
    ),
    "cluster": ("cluster_enabled",),
}

#: collectors whose every metric belongs to one section of the browser
_COLLECTOR_SECTIONS = {
    "memcached_stats": "stats",
    "memcached_settings": "config",
    "memcached_conns": "clients",
    "redis_config": "config",
    "redis_cluster_info": "cluster",
}


@functools.cache
def metric_sections() -> dict[str, str]:
    """Metric name -> the section its value is reported in."""
    table: dict[str, str] = {}
    for section, fields in REDIS_INFO_SECTIONS.items():
        for field in fields:
            plan = FIELD_PLANS.get(field)
            table[plan.metric if plan else generic_metric_name(field)] = section
    for cls in load_collector_classes():
        owner = _COLLECTOR_SECTIONS.get(cls.name)
        if owner is not None:
            for metric in getattr(cls, "metrics", {}):
                table.setdefault(metric, owner)
    return table
