"""The charts of the target page, per kind of server, as PromQL over one target
(`{sel}`: its `instance` matcher; `{w}`: the rate window for the chart's step). Traffic,
hit ratio and memory fill are the read model's definitions (`monitor/readmodel/queries.py`),
so a chart and the fleet card show the same number; latency is the read model's exact merge."""

from __future__ import annotations

from functools import partial

from monitor.readmodel import definitions as d
from monitor.readmodel import queries as q
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


def _ops(kind: str, legend: str) -> tuple[SeriesQuery, ...]:
    """The application's ops by command, and cachewatch's own beside them."""
    return (
        SeriesQuery(partial(q.target_ops_by_command, kind), legend),
        SeriesQuery(q.target_observer_ops, "cachewatch (not counted)", "dot"),
    )


def _hit_ratio(kind: str) -> SeriesQuery:
    return SeriesQuery(partial(q.target_hit_ratio, kind), "hit ratio")


def _memcached_slab_memory(sel: str, window: str) -> str:
    return d.render(d.MEMCACHED_MEMORY_USED, "instance", sel, window)


REDIS_CHARTS = (
    ChartSpec(
        "ops",
        "Operations by command",
        Unit.OPS,
        _ops("redis", "{cmd}"),
    ),
    ChartSpec("hit-ratio", "Hit ratio (application)", Unit.RATIO, (_hit_ratio("redis"),)),
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
    ChartSpec(LATENCY_PERCENTILES, "Latency percentiles (application commands)", Unit.USEC, ()),
    ChartSpec(LATENCY_HEATMAP, "Latency heatmap (calls/s per bucket)", Unit.USEC, ()),
)

MEMCACHED_CHARTS = (
    ChartSpec(
        "ops",
        "Operations by command",
        Unit.OPS,
        _ops("memcached", "{command}"),
    ),
    ChartSpec("hit-ratio", "Get hit ratio", Unit.RATIO, (_hit_ratio("memcached"),)),
    ChartSpec(
        "memory",
        "Memory vs limit",
        Unit.BYTES,
        (
            SeriesQuery(_memcached_slab_memory, "slabs (evicts by this)"),
            _q("memcached_current_bytes{{{sel}}}", "items", "dot"),
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
