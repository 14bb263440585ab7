"""The fleet overview: one row per target, grouped by cluster and shard.

Order: each cluster (by name), its shards by first slot, in each shard the primary then its
replicas; then standalone targets by instance. Every number comes from one fleet-wide PromQL
query (see `queries.py`), so a refresh costs a dozen queries however many targets there are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.readmodel import queries as q
from monitor.readmodel.sentinel import sentinel_group_key
from monitor.readmodel.source import DataSource, Health, InstantSample, TargetState

__all__ = [
    "OverviewRow",
    "fleet_overview",
    "TREND_SPAN_MS",
    "TREND_STEP_MS",
    "group_order",
    "slot_key",
]

TREND_SPAN_MS = 120_000
TREND_STEP_MS = 5_000


@dataclass(frozen=True, slots=True)
class OverviewRow:
    instance: str
    kind: str
    role: str  # "primary" | "replica" | "" (memcached, unknown)
    cluster: str
    shard: str
    health: Health
    last_error: str | None
    version: str
    ops_per_s: float | None
    hit_ratio: float | None  # 0..1; None without get traffic
    memory_used: float | None  # bytes
    memory_max: float | None  # bytes; None or 0 means no limit
    evictions_per_s: float | None
    clients: float | None
    p99_ms: float | None
    replication_lag_s: float | None
    master_link_up: bool | None  # replicas only
    firing_alerts: int
    labels: tuple[tuple[str, str], ...]
    #: ops/s over the last two minutes, one point per 5 s, oldest first (NaN: no data)
    ops_trend: tuple[float, ...] = ()
    #: 0 for a primary or standalone target, 1 for a replica shown under its primary
    depth: int = 0

    @property
    def memory_fraction(self) -> float | None:
        if self.memory_used is None or not self.memory_max:
            return None
        return self.memory_used / self.memory_max

    def matches(self, text: str) -> bool:
        """Filter: every word must occur in the instance, kind, role, status or a label
        (`key=value` words match that label exactly)."""
        haystack = " ".join(
            [self.instance, self.kind, self.role, self.health.value, self.version]
            + [f"{k}={v}" for k, v in self.labels]
        ).lower()
        for word in text.lower().split():
            if "=" in word:
                key, _, value = word.partition("=")
                if dict(self.labels).get(key, "").lower() != value:
                    return False
            elif word not in haystack:
                return False
        return True


def _by_instance(samples: Sequence[InstantSample]) -> dict[str, float]:
    out: dict[str, float] = {}
    for sample in samples:
        instance = sample.labels.get("instance")
        if instance is not None and not math.isnan(sample.value):
            out[instance] = sample.value
    return out


def _role(state: TargetState, info_roles: dict[str, str]) -> str:
    role = state.labels.get("role", "") or info_roles.get(state.instance, "")
    return {"master": "primary", "slave": "replica"}.get(role, role)


def slot_key(shard: str) -> int:
    first = shard.split(",", 1)[0].split("-", 1)[0]
    return int(first) if first.isdigit() else 1 << 20


def group_order(row: OverviewRow) -> tuple[int, str, int, str, int, str]:
    """Sort key: clusters first, then shard by first slot, primary before replicas; a
    Sentinel set like a cluster, its masters as shards and its Sentinels after them."""
    if row.cluster:
        return (0, row.cluster, slot_key(row.shard), row.shard, row.depth, row.instance)
    sentinel = sentinel_group_key(dict(row.labels))
    if sentinel is not None:
        name, master = sentinel
        return (0, name, 0 if master else 1, master, row.depth, row.instance)
    return (1, "", 0, "", 0, row.instance)


def fleet_overview(source: DataSource, now_ms: int, with_trend: bool = True) -> list[OverviewRow]:
    states = source.statuses()
    if not states:
        return []

    def fetch(expr: str) -> dict[str, float]:
        return _by_instance(source.instant(expr, now_ms))

    ops, hits, misses = fetch(q.FLEET_OPS), fetch(q.FLEET_HITS), fetch(q.FLEET_MISSES)
    used, limit = fetch(q.FLEET_MEMORY_USED), fetch(q.FLEET_MEMORY_MAX)
    evictions, clients, p99 = (
        fetch(q.FLEET_EVICTIONS),
        fetch(q.FLEET_CLIENTS),
        fetch(q.FLEET_P99_USEC),
    )
    replica_lag, primary_lag = fetch(q.FLEET_REPLICA_LAG), fetch(q.FLEET_PRIMARY_LAG)
    link_up, firing = fetch(q.FLEET_LINK_UP), fetch(q.FLEET_FIRING)
    info_roles: dict[str, str] = {}
    versions: dict[str, str] = {}
    for sample in source.instant(q.REDIS_INFO, now_ms):
        instance = sample.labels.get("instance", "")
        info_roles[instance] = sample.labels.get("role", "")
        versions[instance] = sample.labels.get("redis_version", "")
    for sample in source.instant(q.MEMCACHED_VERSION, now_ms):
        versions[sample.labels.get("instance", "")] = sample.labels.get("version", "")
    trends = _trends(source, now_ms) if with_trend else {}

    rows = []
    for state in states:
        instance = state.instance
        role = _role(state, info_roles)
        lookups = hits.get(instance, 0.0) + misses.get(instance, 0.0)
        p99_usec = p99.get(instance)
        lag = replica_lag.get(instance) if role == "replica" else primary_lag.get(instance)
        link = link_up.get(instance)
        rows.append(
            OverviewRow(
                instance=instance,
                kind=state.kind,
                role=role,
                cluster=state.labels.get("cluster", ""),
                shard=state.labels.get("shard", ""),
                health=state.health,
                last_error=state.last_error,
                version=state.version or versions.get(instance, ""),
                ops_per_s=ops.get(instance),
                hit_ratio=hits.get(instance, 0.0) / lookups if lookups > 0 else None,
                memory_used=used.get(instance),
                memory_max=limit.get(instance),
                evictions_per_s=evictions.get(instance),
                clients=clients.get(instance),
                p99_ms=p99_usec / 1000 if p99_usec is not None else None,
                replication_lag_s=lag,
                master_link_up=None if link is None else link >= 1,
                firing_alerts=int(firing.get(instance, 0)),
                labels=tuple(sorted(state.labels.items())),
                ops_trend=trends.get(instance, ()),
                depth=1 if role == "replica" and _grouped(state) else 0,
            )
        )
    rows.sort(key=group_order)
    return rows


def _grouped(state: TargetState) -> bool:
    """Shown under a primary: a cluster node, or a Sentinel-managed data node."""
    return bool(state.labels.get("cluster") or state.labels.get("sentinel_master"))


def _trends(source: DataSource, now_ms: int) -> dict[str, tuple[float, ...]]:
    end = now_ms - now_ms % TREND_STEP_MS
    start = end - TREND_SPAN_MS
    steps = range(start, end + 1, TREND_STEP_MS)
    out: dict[str, tuple[float, ...]] = {}
    for series in source.range(q.FLEET_OPS, start, end, TREND_STEP_MS):
        instance = series.labels.get("instance")
        if instance is None:
            continue
        at = dict(zip(series.ts_ms, series.values, strict=True))
        out[instance] = tuple(at.get(t, math.nan) for t in steps)
    return out
