"""The PromQL behind each number the screens show, in one place so the TUI, the web
dashboard and a Grafana user can see (and reuse) the same expressions.

Rates use a 1-minute window (`RATE`), wide enough for a 10 s poll interval to have several
samples in it. Each fleet-wide expression keeps only the `instance` label, and joins the
Redis and memcached forms with `or`, so one query answers for the whole fleet.
"""

from __future__ import annotations

__all__ = [
    "RATE",
    "FLEET_OPS",
    "FLEET_HITS",
    "FLEET_MISSES",
    "FLEET_MEMORY_USED",
    "FLEET_MEMORY_MAX",
    "FLEET_EVICTIONS",
    "FLEET_CLIENTS",
    "FLEET_P99_USEC",
    "FLEET_REPLICA_LAG",
    "FLEET_PRIMARY_LAG",
    "FLEET_LINK_UP",
    "FLEET_FIRING",
    "FLEET_UP",
    "REDIS_INFO",
    "MEMCACHED_VERSION",
    "selector",
]

RATE = "1m"


def _by_instance(redis: str, memcached: str) -> str:
    return f"sum by (instance) ({redis}) or sum by (instance) ({memcached})"


FLEET_OPS = _by_instance(
    f"rate(redis_commands_processed_total[{RATE}])", f"rate(memcached_commands_total[{RATE}])"
)
FLEET_HITS = _by_instance(
    f"rate(redis_keyspace_hits_total[{RATE}])",
    f'rate(memcached_commands_total{{command="get",status="hit"}}[{RATE}])',
)
FLEET_MISSES = _by_instance(
    f"rate(redis_keyspace_misses_total[{RATE}])",
    f'rate(memcached_commands_total{{command="get",status="miss"}}[{RATE}])',
)
FLEET_MEMORY_USED = _by_instance("redis_memory_used_bytes", "memcached_current_bytes")
FLEET_MEMORY_MAX = _by_instance("redis_memory_max_bytes", "memcached_limit_bytes")
FLEET_EVICTIONS = _by_instance(
    f"rate(redis_evicted_keys_total[{RATE}])", f"rate(memcached_items_evicted_total[{RATE}])"
)
FLEET_CLIENTS = _by_instance("redis_connected_clients", "memcached_current_connections")
FLEET_P99_USEC = (
    "histogram_quantile(0.99, sum by (instance, le) "
    f"(rate(redis_commands_latencies_usec_bucket[{RATE}])))"
)
#: a replica: seconds since it last heard from its primary
FLEET_REPLICA_LAG = "max by (instance) (redis_master_last_io_seconds_ago)"
#: a primary: the largest lag (seconds since the last ack) among its replicas
FLEET_PRIMARY_LAG = "max by (instance) (redis_connected_slave_lag_seconds)"
FLEET_LINK_UP = "min by (instance) (redis_master_link_up)"
FLEET_FIRING = 'count by (instance) (ALERTS{alertstate="firing"})'
FLEET_UP = "redis_up or memcached_up"
REDIS_INFO = "redis_instance_info"
MEMCACHED_VERSION = "memcached_version"


def selector(instance: str) -> str:
    """`instance="…"` with the value escaped as a PromQL string literal."""
    escaped = instance.replace("\\", "\\\\").replace('"', '\\"')
    return f'instance="{escaped}"'
