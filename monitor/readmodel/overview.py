"""The fleet overview: one row per target, grouped by cluster and shard.

Order: each cluster (by name), its shards by first slot, in each shard the primary then its
replicas; then standalone targets by instance. Every number comes from one fleet-wide query
(PromQL from `queries.py`, latency from `latency.py`, replication lag from
`replication.py`), so a refresh costs a dozen queries however many targets there are.

Traffic figures are the application's: cachewatch's own commands are taken out and shown
apart (`observer_ops_per_s`). A target that is down shows no live figures: a rate over the
last minute would still decay from the samples before it went down.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.durations import parse_duration
from monitor.readmodel import queries as q
from monitor.readmodel.latency import LatencyHistogram, fleet_latency
from monitor.readmodel.replication import for_replica, primaries_of, replica_lags, worst
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
    #: the application's commands per second (cachewatch's own taken out)
    ops_per_s: float | None
    #: of which cachewatch: this process's commands per second to the target
    observer_ops_per_s: float | None
    hit_ratio: float | None  # 0..1, the application's; None without lookups
    memory_used: float | None  # bytes
    memory_max: float | None  # bytes; None or 0 means no limit
    evictions_per_s: float | None
    clients: float | None
    p99_ms: float | None  # the application's commands, exact merge of their histograms
    #: a replica: what its primary reports; a primary: its worst replica
    replication_lag_s: float | None
    replication_lag_bytes: float | None
    master_link_up: bool | None  # replicas only
    firing_alerts: int
    labels: tuple[tuple[str, str], ...]
    #: ops/s over the last two minutes, one point per 5 s, oldest first (NaN: no data)
    ops_trend: tuple[float, ...] = ()
    #: 0 for a primary or standalone target, 1 for a replica shown under its primary
    depth: int = 0
    #: when the figures were polled (the target's last poll), epoch ms; 0 before the first
    as_of_ms: int = 0

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


_FULL_WINDOW_MS = round(parse_duration(q.RATE) * 1000)


def rate_window_ms(state: TargetState, now_ms: int) -> int | None:
    """The rate window a target's figures use now: the full minute once it has answered
    every poll for that long; else as far back as it has (a rate over a window the history
    covers only in part is extrapolated from that part: a fresh TUI showed evictions at two
    thirds of their rate); None before it has two polls to take a rate from."""
    if not state.up_since_ms:
        return _FULL_WINDOW_MS  # not known (attached), or down (no figures shown)
    history = now_ms - state.up_since_ms
    if history >= _FULL_WINDOW_MS:
        return _FULL_WINDOW_MS
    return history if history >= state.interval_s * 1000 else None


@dataclass(frozen=True, slots=True)
class _Rates:
    """The fleet's rate-derived figures over one window, by instance."""

    ops: dict[str, float]
    observer_ops: dict[str, float]
    hits: dict[str, float]
    misses: dict[str, float]
    evictions: dict[str, float]
    latency: dict[str, LatencyHistogram]


def _rates(source: DataSource, now_ms: int, window_ms: int) -> _Rates:
    window = f"{window_ms}ms"

    def fetch(expr: str) -> dict[str, float]:
        return _by_instance(source.instant(expr, now_ms))

    return _Rates(
        ops=fetch(q.fleet_ops(window)),
        observer_ops=fetch(q.fleet_observer_ops(window)),
        hits=fetch(q.fleet_hits(window)),
        misses=fetch(q.fleet_misses(window)),
        evictions=fetch(q.fleet_evictions(window)),
        latency=fleet_latency(source, now_ms, window_ms),
    )


def fleet_overview(source: DataSource, now_ms: int, with_trend: bool = True) -> list[OverviewRow]:
    states = source.statuses()
    if not states:
        return []

    def fetch(expr: str) -> dict[str, float]:
        return _by_instance(source.instant(expr, now_ms))

    windows = {state.instance: rate_window_ms(state, now_ms) for state in states}
    # one set of fleet queries over the full minute; while some targets are younger than
    # that, one more over the shortest young history (right for all of them, if noisier)
    young = [w for w in windows.values() if w is not None and w < _FULL_WINDOW_MS]
    by_window = {_FULL_WINDOW_MS: _rates(source, now_ms, _FULL_WINDOW_MS)}
    if young:
        by_window[min(young)] = _rates(source, now_ms, min(young))
    used, limit = fetch(q.FLEET_MEMORY_USED), fetch(q.FLEET_MEMORY_MAX)
    clients = fetch(q.FLEET_CLIENTS)
    lags = replica_lags(source, now_ms)
    link_samples = source.instant(q.FLEET_LINK_UP_BY_PRIMARY, now_ms)
    primaries = primaries_of(link_samples)
    link_up = _by_instance(link_samples)
    firing = fetch(q.FLEET_FIRING)
    info_roles: dict[str, str] = {}
    versions: dict[str, str] = {}
    for sample in source.instant(q.REDIS_INFO, now_ms):
        instance = sample.labels.get("instance", "")
        info_roles[instance] = sample.labels.get("role", "")
        versions[instance] = sample.labels.get("redis_version", "")
    for sample in source.instant(q.MEMCACHED_VERSION, now_ms):
        versions[sample.labels.get("instance", "")] = sample.labels.get("version", "")
    trends = _trends(source, now_ms, states) if with_trend else {}

    rows = []
    for state in states:
        instance = state.instance
        role = _role(state, info_roles)
        live = state.health is not Health.DOWN
        window = windows[instance]
        rates = None
        if live and window is not None:
            rates = by_window[_FULL_WINDOW_MS if window == _FULL_WINDOW_MS else min(young)]
        lookups = hits = 0.0
        p99_usec = None
        if rates is not None:
            hits = rates.hits.get(instance, 0.0)
            lookups = hits + rates.misses.get(instance, 0.0)
            histogram = rates.latency.get(instance)
            p99_usec = histogram.last(0.99) if histogram is not None else None
        if role == "replica":
            lag = for_replica(lags, instance, primaries.get(instance))
        else:
            lag = worst(x for x in lags if x.primary == instance)
        link = link_up.get(instance)

        def now(
            values: dict[str, float], live: bool = live, instance: str = instance
        ) -> float | None:
            return values.get(instance) if live else None

        def rate(pick: str, rates: _Rates | None = rates, instance: str = instance) -> float | None:
            return getattr(rates, pick).get(instance) if rates is not None else None

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
                ops_per_s=rate("ops"),
                observer_ops_per_s=rate("observer_ops"),
                hit_ratio=hits / lookups if lookups > 0 else None,
                memory_used=now(used),
                memory_max=now(limit),
                evictions_per_s=rate("evictions"),
                clients=now(clients),
                p99_ms=p99_usec / 1000 if p99_usec is not None else None,
                replication_lag_s=lag.seconds if live and lag is not None else None,
                replication_lag_bytes=lag.bytes if live and lag is not None else None,
                master_link_up=None if link is None or not live else link >= 1,
                firing_alerts=int(firing.get(instance, 0)),
                labels=tuple(sorted(state.labels.items())),
                ops_trend=trends.get(instance, ()),
                depth=1 if role == "replica" and _grouped(state) else 0,
                as_of_ms=state.last_poll_ms,
            )
        )
    rows.sort(key=group_order)
    return rows


def _grouped(state: TargetState) -> bool:
    """Shown under a primary: a cluster node, or a Sentinel-managed data node."""
    return bool(state.labels.get("cluster") or state.labels.get("sentinel_master"))


def _trends(
    source: DataSource, now_ms: int, states: Sequence[TargetState]
) -> dict[str, tuple[float, ...]]:
    """ops/s at each trend step; a step whose rate window reaches back before the target's
    current run of good polls is left out (NaN): it would show a ramp that never was."""
    end = now_ms - now_ms % TREND_STEP_MS
    start = end - TREND_SPAN_MS
    steps = range(start, end + 1, TREND_STEP_MS)
    since = {s.instance: s.up_since_ms for s in states}
    out: dict[str, tuple[float, ...]] = {}
    for series in source.range(q.FLEET_OPS, start, end, TREND_STEP_MS):
        instance = series.labels.get("instance")
        if instance is None:
            continue
        at = dict(zip(series.ts_ms, series.values, strict=True))
        first = since.get(instance, 0) + _FULL_WINDOW_MS
        out[instance] = tuple(at.get(t, math.nan) if t >= first else math.nan for t in steps)
    return out
