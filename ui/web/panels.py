"""The charts of the target page, per kind of server, as PromQL over one target
(`{sel}`: its `instance` matcher; `{w}`: the rate window for the chart's step)."""

from __future__ import annotations

from ui.web.charts import ChartSpec, SeriesQuery
from ui.web.units import Unit

__all__ = [
    "REDIS_CHARTS",
    "MEMCACHED_CHARTS",
    "charts_for",
    "LATENCY_PERCENTILES",
    "LATENCY_HEATMAP",
]

#: ids of the two charts computed from the latency histograms rather than from one query each
LATENCY_PERCENTILES = "latency-percentiles"
LATENCY_HEATMAP = "latency-heatmap"


def _q(expr: str, legend: str, dash: str = "solid") -> SeriesQuery:
    return SeriesQuery(expr, legend, dash)


REDIS_CHARTS = (
    ChartSpec(
        "ops",
        "Operations by command",
        Unit.OPS,
        (_q("sum by (cmd) (rate(redis_commands_total{{{sel}}}[{w}]))", "{cmd}"),),
        stacked=True,
    ),
    ChartSpec(
        "hit-ratio",
        "Hit ratio",
        Unit.RATIO,
        (
            _q(
                "sum(rate(redis_keyspace_hits_total{{{sel}}}[{w}])) / "
                "(sum(rate(redis_keyspace_hits_total{{{sel}}}[{w}])) + "
                "sum(rate(redis_keyspace_misses_total{{{sel}}}[{w}])))",
                "hit ratio",
            ),
        ),
    ),
    ChartSpec(
        "memory",
        "Memory vs maxmemory",
        Unit.BYTES,
        (
            _q("redis_memory_used_bytes{{{sel}}}", "used"),
            _q("redis_memory_used_rss_bytes{{{sel}}}", "rss", "dot"),
            _q("redis_memory_max_bytes{{{sel}}} > 0", "maxmemory", "dash"),
        ),
    ),
    ChartSpec(
        "evictions",
        "Evictions and expirations",
        Unit.PER_SECOND,
        (
            _q("rate(redis_evicted_keys_total{{{sel}}}[{w}])", "evicted"),
            _q("rate(redis_expired_keys_total{{{sel}}}[{w}])", "expired"),
        ),
    ),
    ChartSpec(
        "network",
        "Network",
        Unit.BYTES_PER_SECOND,
        (
            _q("rate(redis_net_input_bytes_total{{{sel}}}[{w}])", "in"),
            _q("rate(redis_net_output_bytes_total{{{sel}}}[{w}])", "out"),
        ),
    ),
    ChartSpec(
        "clients",
        "Clients",
        Unit.COUNT,
        (
            _q("redis_connected_clients{{{sel}}}", "connected"),
            _q("redis_blocked_clients{{{sel}}}", "blocked"),
        ),
    ),
    ChartSpec(LATENCY_PERCENTILES, "Latency percentiles (all commands)", Unit.USEC, ()),
    ChartSpec(LATENCY_HEATMAP, "Latency heatmap (calls/s per bucket)", Unit.USEC, ()),
)

MEMCACHED_CHARTS = (
    ChartSpec(
        "ops",
        "Operations by command",
        Unit.OPS,
        (_q("sum by (command) (rate(memcached_commands_total{{{sel}}}[{w}]))", "{command}"),),
        stacked=True,
    ),
    ChartSpec(
        "hit-ratio",
        "Get hit ratio",
        Unit.RATIO,
        (
            _q(
                'sum(rate(memcached_commands_total{{{sel},command="get",status="hit"}}[{w}])) / '
                'sum(rate(memcached_commands_total{{{sel},command="get"}}[{w}]))',
                "hit ratio",
            ),
        ),
    ),
    ChartSpec(
        "memory",
        "Memory vs limit",
        Unit.BYTES,
        (
            _q("memcached_current_bytes{{{sel}}}", "used"),
            _q("memcached_limit_bytes{{{sel}}}", "limit", "dash"),
        ),
    ),
    ChartSpec(
        "evictions",
        "Evictions and reclaims",
        Unit.PER_SECOND,
        (
            _q("rate(memcached_items_evicted_total{{{sel}}}[{w}])", "evicted"),
            _q("rate(memcached_items_reclaimed_total{{{sel}}}[{w}])", "reclaimed (expired)"),
        ),
    ),
    ChartSpec(
        "network",
        "Network",
        Unit.BYTES_PER_SECOND,
        (
            _q("rate(memcached_read_bytes_total{{{sel}}}[{w}])", "in"),
            _q("rate(memcached_written_bytes_total{{{sel}}}[{w}])", "out"),
        ),
    ),
    ChartSpec(
        "clients",
        "Connections",
        Unit.COUNT,
        (_q("memcached_current_connections{{{sel}}}", "connected"),),
    ),
)


def charts_for(kind: str) -> tuple[ChartSpec, ...]:
    return MEMCACHED_CHARTS if kind == "memcached" else REDIS_CHARTS
