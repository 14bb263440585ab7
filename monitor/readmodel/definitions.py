"""The named PromQL definitions of every traffic and memory figure cachewatch shows or alerts
on: the read model's queries, the eviction summary (`monitor/evictions/`) and the default
rule pack (`alerts/rules/`, checked equal by tests) all render these, so a number means the
same everywhere.

A definition is a template with three holes, filled by `render`:
- `$by`: the labels to aggregate by (`instance`, `cluster, instance`, `instance, cmd`...);
- `$sel`: label matchers inside a selector's braces (`metric{$sel}`), empty for all series;
- `$w`: the range of `rate`/`deriv`/`predict_linear` (`1m`, `5m`...).

**The application's traffic, with cachewatch's own commands taken out.** Every command
cachewatch sends is in the server's own counters (`collectors/observer.py` counts them):
- ops/s: the server's commands processed minus this process's commands to it
  (`cachewatch_target_commands_total`); "of which cachewatch" is the latter alone;
- hit ratio: keyspace hits and misses minus those cachewatch's own lookups caused;
- latency percentiles and the latency alert: every command except `MONITORING_COMMANDS`
  (INFO, LATENCY, SLOWLOG, CONFIG, CLUSTER, CLIENT, OBJECT, MEMORY, COMMAND, MONITOR, ...),
  which no application sends on its request path and every monitoring tool sends on a
  schedule (`monitor/readmodel/latency.py` merges the rest exactly);
- slow commands: entries of connections named `cachewatch` are left out.
Against a Prometheus that scrapes redis_exporter (no `cachewatch_target_*` series) the
subtraction falls back to nothing, so the same expressions work there unchanged. The raw
`redis_*` series stay exactly what the server reports, for exporter compatibility.

**Memory fill** is the memory a server evicts by: Redis `used_memory` against `maxmemory`,
memcached the memory its slab classes hold against `limit_maxbytes` (memcached evicts once
every page is assigned; `bytes` counts only the items' own bytes and reads 85-90 % on a
full cache).
"""

from __future__ import annotations

import re
from string import Template

__all__ = [
    "render",
    "MONITORING_COMMANDS",
    "MONITORING_CMD_REGEX",
    "is_monitoring_command",
    "APP_OPS",
    "OBSERVER_OPS",
    "APP_HITS",
    "APP_MISSES",
    "APP_CMD_OPS",
    "REDIS_HIT_RATIO",
    "MEMCACHED_HIT_RATIO",
    "REDIS_MEMORY_USED",
    "REDIS_MEMORY_MAX",
    "MEMCACHED_MEMORY_USED",
    "MEMCACHED_MEMORY_MAX",
]

_EMPTY_MATCHER_TAIL = re.compile(r",\s*\}")


def render(template: str, by: str, matchers: str = "", window: str = "1m") -> str:
    """Fill a template's holes; with no matchers, `metric{}` becomes plain `metric` and a
    trailing comma in a selector goes, so the text reads like a hand-written rule."""
    text = Template(template).substitute(by=by, sel=matchers, w=window)
    if not matchers:
        text = _EMPTY_MATCHER_TAIL.sub("}", text).replace("{}", "")
    return text


# -- the observer --------------------------------------------------------------------------

#: commands (Redis 7 commandstats names; each stands for itself and its `name|sub` family)
#: that only monitoring and administration send: never the application's request path
MONITORING_COMMANDS: tuple[str, ...] = (
    "info",
    "latency",
    "slowlog",
    "config",
    "cluster",
    "client",
    "object",
    "memory",
    "command",
    "monitor",
    "hotkeys",
    "acl",
    "module",
    "debug",
    "hello",
    "auth",
    "select",
    "readonly",
    "readwrite",
)
#: the `cmd` matcher value for `MONITORING_COMMANDS`, as a PromQL string's content
MONITORING_CMD_REGEX = "(" + "|".join(MONITORING_COMMANDS) + ")(\\\\|.*)?"


def is_monitoring_command(cmd: str) -> bool:
    return cmd.partition("|")[0] in MONITORING_COMMANDS


def _without_observer(server: str, observer: str) -> str:
    """`server - observer`, not below 0; where no observer series exists, `server`."""
    return f"clamp_min({server} - ({observer} or {server} * 0), 0)"


def _sum_rate(metric: str) -> str:
    return f"sum by ($by) (rate({metric}{{$sel}}[$w]))"


APP_OPS = _without_observer(
    _sum_rate("redis_commands_processed_total"), _sum_rate("cachewatch_target_commands_total")
)
#: of which cachewatch: this process's commands per second
OBSERVER_OPS = _sum_rate("cachewatch_target_commands_total")
APP_HITS = _without_observer(
    _sum_rate("redis_keyspace_hits_total"), _sum_rate("cachewatch_target_keyspace_hits_total")
)
APP_MISSES = _without_observer(
    _sum_rate("redis_keyspace_misses_total"), _sum_rate("cachewatch_target_keyspace_misses_total")
)
#: per command (`$by` includes `cmd`): the server's calls minus cachewatch's
APP_CMD_OPS = (
    f"clamp_min({_sum_rate('redis_commands_total')}"
    f" - {_sum_rate('cachewatch_target_commands_total')}, 0)"
    f" or {_sum_rate('redis_commands_total')}"
)

# -- hit ratio -----------------------------------------------------------------------------

#: the application's hits over its lookups; absent without lookups
REDIS_HIT_RATIO = f"({APP_HITS}) / (({APP_HITS}) + ({APP_MISSES}) > 0)"
MEMCACHED_HIT_RATIO = (
    'sum by ($by) (rate(memcached_commands_total{command="get", status="hit", $sel}[$w]))'
    ' / (sum by ($by) (rate(memcached_commands_total{command="get", $sel}[$w])) > 0)'
)

# -- memory fill ---------------------------------------------------------------------------

REDIS_MEMORY_USED = "sum by ($by) (redis_memory_used_bytes{$sel})"
#: 0 means no maxmemory: the server never evicts, and views report no limit
REDIS_MEMORY_MAX = "sum by ($by) (redis_memory_max_bytes{$sel})"
#: chunk size times chunks of every slab class (`total_malloced` says the same, but only in
#: `stats slabs`' totals, which memcached_exporter and cachewatch don't export)
MEMCACHED_MEMORY_USED = (
    "sum by ($by) (memcached_slab_chunk_size_bytes{$sel} * memcached_slab_current_chunks{$sel})"
)
MEMCACHED_MEMORY_MAX = "sum by ($by) (memcached_limit_bytes{$sel})"
