"""The PromQL behind each number the screens show, in one place so the TUI, the web
dashboard, the CLI and a Grafana user see (and can reuse) the same expressions.

Rates use a 1-minute window (`RATE`), wide enough for a 10 s poll interval to have several
samples in it. Each fleet-wide expression keeps only the `instance` label, and joins the
Redis and memcached forms with `or`, so one query answers for the whole fleet. Traffic
figures are the application's (cachewatch's own commands taken out) and memory is what a
server evicts by: both as `definitions.py` defines them. Latency percentiles are not PromQL:
see `latency.py`.
"""

from __future__ import annotations

from monitor.readmodel import definitions as d

__all__ = [
    "RATE",
    "FLEET_OPS",
    "fleet_ops",
    "fleet_observer_ops",
    "fleet_hits",
    "fleet_misses",
    "fleet_evictions",
    "FLEET_MEMORY_USED",
    "FLEET_MEMORY_MAX",
    "FLEET_CLIENTS",
    "FLEET_LINK_UP",
    "FLEET_LINK_UP_BY_PRIMARY",
    "FLEET_FIRING",
    "FLEET_UP",
    "REPLICA_OFFSET",
    "REPLICA_ACK_AGE",
    "PRIMARY_OFFSET",
    "REDIS_INFO",
    "MEMCACHED_VERSION",
    "selector",
    "target_ops_by_command",
    "target_observer_ops",
    "target_hit_ratio",
]

RATE = "1m"


def _either(redis: str, memcached: str) -> str:
    return f"{redis} or {memcached}"


def _by_instance(redis: str, memcached: str) -> str:
    return _either(f"sum by (instance) ({redis})", f"sum by (instance) ({memcached})")


def fleet_ops(window: str = RATE) -> str:
    """The application's commands per second, by instance."""
    return _either(
        d.render(d.APP_OPS, "instance", "", window),
        f"sum by (instance) (rate(memcached_commands_total[{window}]))",
    )


def fleet_observer_ops(window: str = RATE) -> str:
    """Of which cachewatch: this process's commands per second to each target."""
    return d.render(d.OBSERVER_OPS, "instance", "", window)


def _memcached_gets(status: str, window: str) -> str:
    selector = f'memcached_commands_total{{command="get",status="{status}"}}'
    return f"sum by (instance) (rate({selector}[{window}]))"


def fleet_hits(window: str = RATE) -> str:
    return _either(
        d.render(d.APP_HITS, "instance", "", window),
        _memcached_gets("hit", window),
    )


def fleet_misses(window: str = RATE) -> str:
    return _either(
        d.render(d.APP_MISSES, "instance", "", window),
        _memcached_gets("miss", window),
    )


def fleet_evictions(window: str = RATE) -> str:
    return _by_instance(
        f"rate(redis_evicted_keys_total[{window}])",
        f"rate(memcached_items_evicted_total[{window}])",
    )


FLEET_OPS = fleet_ops()
FLEET_MEMORY_USED = _either(
    d.render(d.REDIS_MEMORY_USED, "instance", "", RATE),
    d.render(d.MEMCACHED_MEMORY_USED, "instance", "", RATE),
)
FLEET_MEMORY_MAX = _either(
    d.render(d.REDIS_MEMORY_MAX, "instance", "", RATE),
    d.render(d.MEMCACHED_MEMORY_MAX, "instance", "", RATE),
)
FLEET_CLIENTS = _by_instance("redis_connected_clients", "memcached_current_connections")
FLEET_LINK_UP = "min by (instance) (redis_master_link_up)"
#: a replica's link state, with its primary's address in `master_host`/`master_port`
FLEET_LINK_UP_BY_PRIMARY = "redis_master_link_up"
FLEET_FIRING = 'count by (instance) (ALERTS{alertstate="firing"})'
FLEET_UP = "redis_up or memcached_up"
#: on a primary, per replica (`slave_ip`, `slave_port`): the replica's acknowledged offset
REPLICA_OFFSET = "redis_connected_slave_offset_bytes"
#: on a primary, per replica: seconds since its last acknowledgement (Redis's `lag`)
REPLICA_ACK_AGE = "redis_connected_slave_lag_seconds"
PRIMARY_OFFSET = "redis_master_repl_offset"
REDIS_INFO = "redis_instance_info"
MEMCACHED_VERSION = "memcached_version"


def selector(instance: str) -> str:
    """`instance="…"` with the value escaped as a PromQL string literal."""
    escaped = instance.replace("\\", "\\\\").replace('"', '\\"')
    return f'instance="{escaped}"'


def target_ops_by_command(kind: str, sel: str, window: str) -> str:
    """One target's application ops/s by command (`cmd` for Redis, `command` for memcached)."""
    if kind == "memcached":
        return f"sum by (command) (rate(memcached_commands_total{{{sel}}}[{window}]))"
    return d.render(d.APP_CMD_OPS, "cmd", sel, window)


def target_observer_ops(sel: str, window: str) -> str:
    """One target's share of cachewatch's own commands per second."""
    return f"sum(rate(cachewatch_target_commands_total{{{sel}}}[{window}]))"


def target_hit_ratio(kind: str, sel: str, window: str) -> str:
    """One target's application hit ratio (hits / lookups), absent without lookups."""
    template = d.MEMCACHED_HIT_RATIO if kind == "memcached" else d.REDIS_HIT_RATIO
    return d.render(template, "instance", sel, window)
