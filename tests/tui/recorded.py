"""A fixed, synthetic fleet for snapshot tests and the TUI benchmark: deterministic series
in a `MemoryReader`, a fixed clock, fixed statuses, events, topology and alerts, so the same
screens render byte-for-byte on every run.

`recorded_fleet(shards=3, standalone=1, memcached=1)` gives a cluster of `shards` primaries
with one replica each, standalone Redis servers (the first one down), and memcached servers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.discovery import ClusterNode, ClusterTopology
from monitor.model import Event, SampleBatch, labels_of
from monitor.query import Engine, MemoryReader
from monitor.readmodel.alerts import alerts_from_series
from monitor.readmodel.source import (
    AlertRow,
    Health,
    InstantSample,
    RangeSeries,
    SilenceUnsupported,
    TargetState,
)

NOW_MS = 1_800_000_000_000
SPAN_MS = 15 * 60_000
STEP_MS = 10_000
CLUSTER = "10.0.0.1:7000"
_COMMANDS = ("get", "set", "del", "expire")
_BUCKETS = ("16", "64", "256", "1024", "4096", "16384", "+Inf")


class RecordedSource:
    def __init__(self) -> None:
        self.reader: Any = MemoryReader()
        self.engine = Engine(self.reader)
        self._series: list[tuple[dict[str, str], np.ndarray]] = []
        self.states: list[TargetState] = []
        self.event_log: list[Event] = []
        self.topology: dict[str, ClusterTopology] = {}
        self.silences: list[tuple[dict[str, str], int, str]] = []

    def now_ms(self) -> int:
        return NOW_MS

    def statuses(self) -> list[TargetState]:
        return list(self.states)

    def instant(self, expr: str, at_ms: int) -> list[InstantSample]:
        result = self.engine.instant(expr, at_ms)
        return [InstantSample(labels, value) for labels, value in result.samples]

    def range(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> list[RangeSeries]:
        result = self.engine.range(expr, start_ms, end_ms, step_ms)
        return [
            RangeSeries(labels, tuple(int(t) for t in ts), tuple(float(v) for v in vs))
            for labels, ts, vs in result.series
        ]

    def events(
        self, kind_prefix: str, instance: str | None, start_ms: int, limit: int
    ) -> list[Event]:
        found = [
            e
            for e in self.event_log
            if e.kind.startswith(kind_prefix)
            and e.ts_ms >= start_ms
            and (instance is None or dict(e.target_labels).get("instance") == instance)
        ]
        return sorted(found, key=lambda e: -e.ts_ms)[:limit]

    def topologies(self) -> dict[str, ClusterTopology]:
        return dict(self.topology)

    def alerts(self, now_ms: int) -> list[AlertRow]:
        return alerts_from_series(self.instant, now_ms)

    def silence(self, matchers: dict[str, str], duration_ms: int, comment: str) -> str:
        if not comment:
            raise SilenceUnsupported("no comment")
        self.silences.append((matchers, duration_ms, comment))
        return f"s{len(self.silences)}"

    # -- building ----------------------------------------------------------------------

    def _ts(self) -> np.ndarray:
        return np.arange(NOW_MS - SPAN_MS, NOW_MS + 1, STEP_MS, dtype=np.int64)

    def _gauge(
        self, base: dict[str, str], name: str, values: np.ndarray | float, **labels: str
    ) -> None:
        ts = self._ts()
        vals = np.broadcast_to(np.asarray(values, dtype=np.float64), ts.shape)
        self.reader.add_series({**base, **labels, "__name__": name}, ts, vals)
        self._series.append(({**base, **labels, "__name__": name}, vals))

    def copy_into(self, store: Any) -> None:
        """Write every series into `store` (e.g. an `EmbeddedStore`) as one batch per target
        and instant, and read from it from now on: the benchmark's indexed, realistic path."""
        by_instance: dict[str, list[tuple[dict[str, str], np.ndarray]]] = {}
        for labels, values in self._series:
            by_instance.setdefault(labels["instance"], []).append((labels, values))
        for index, ts in enumerate(self._ts()):
            for instance, series in by_instance.items():
                batch = SampleBatch(int(ts), (("instance", instance),))
                for labels, values in series:
                    own = tuple(
                        sorted(
                            (k, v) for k, v in labels.items() if k not in ("__name__", "instance")
                        )
                    )
                    batch.add(labels["__name__"], float(values[index]), own)
                store.append(batch)
        self.reader = store
        self.engine = Engine(store)

    def _counter(
        self, base: dict[str, str], name: str, per_s: np.ndarray | float, **labels: str
    ) -> None:
        rate = np.broadcast_to(np.asarray(per_s, dtype=np.float64), self._ts().shape)
        self._gauge(base, name, np.cumsum(rate * STEP_MS / 1000), **labels)

    def _wave(self, seed: int, mean: float) -> np.ndarray:
        """A deterministic, gently varying rate around `mean`."""
        x = np.arange(len(self._ts()), dtype=np.float64)
        return mean * (1 + 0.3 * np.sin(x / (5 + seed % 7) + seed))

    def add_redis(
        self,
        instance: str,
        seed: int,
        role: str,
        labels: dict[str, str],
        health: Health = Health.UP,
        maxmemory: float = 256 << 20,
        replicas: tuple[str, ...] = (),
    ) -> None:
        base = {"instance": instance, **labels}
        self.states.append(
            TargetState(
                instance,
                "redis",
                base,
                health,
                last_poll_ms=NOW_MS - 1000,
                last_error="timeout after 0.4s" if health is Health.DOWN else None,
                version="7.0.15",
                timeout_s=0.4,
            )
        )
        # as the poller records a failed poll: `redis_up 0` and no other series
        self._gauge(base, "redis_up", 0.0 if health is Health.DOWN else 1.0)
        if health is Health.DOWN:
            return
        ops = self._wave(seed, 1000.0 + 500 * seed)
        # cachewatch's own commands are in the server's counts (20 OBJECT FREQ hits and
        # 2 INFO/LATENCY calls a second) and in its own ledger, which views take out
        own_lookups, own_polls = 20.0, 2.0
        self._counter(base, "redis_commands_processed_total", ops + own_lookups + own_polls)
        self._counter(
            base, "redis_keyspace_hits_total", ops * (0.9 - 0.1 * (seed % 5)) + own_lookups
        )
        self._counter(base, "redis_keyspace_misses_total", ops * (0.1 + 0.1 * (seed % 5)))
        self._counter(base, "cachewatch_target_commands_total", own_lookups, cmd="object|freq")
        self._counter(base, "cachewatch_target_commands_total", own_polls, cmd="info")
        self._counter(base, "cachewatch_target_keyspace_hits_total", own_lookups)
        self._counter(base, "cachewatch_target_keyspace_misses_total", 0.0)
        used = maxmemory * (0.5 + 0.1 * (seed % 5))
        self._gauge(base, "redis_memory_used_bytes", used)
        self._gauge(base, "redis_memory_used_rss_bytes", used * 1.2)
        self._gauge(base, "redis_memory_max_bytes", maxmemory)
        self._counter(base, "redis_evicted_keys_total", 3.0 if seed % 4 == 3 else 0.0)
        self._counter(base, "redis_expired_keys_total", 5.0)
        self._counter(base, "redis_net_input_bytes_total", ops * 40)
        self._counter(base, "redis_net_output_bytes_total", ops * 120)
        self._gauge(base, "redis_connected_clients", 10.0 + seed)
        self._gauge(base, "redis_blocked_clients", 0.0)
        self._gauge(base, "redis_uptime_in_seconds", 86400.0 + seed)
        self._gauge(base, "redis_db_keys", 10000.0 * (seed + 1), db="db0")
        self._gauge(base, "redis_db_keys_expiring", 2000.0, db="db0")
        self._gauge(base, "redis_db_avg_ttl_seconds", 3600.0, db="db0")
        self._gauge(
            base,
            "redis_instance_info",
            1.0,
            role="master" if role == "primary" else "slave",
            redis_version="7.0.15",
            maxmemory_policy="allkeys-lru",
            os="Linux",
        )
        primary_offset = np.cumsum(np.full(self._ts().shape, 1000.0 * STEP_MS / 1000))
        self._gauge(base, "redis_master_repl_offset", primary_offset)
        for replica in replicas:
            host, _, port = replica.rpartition(":")
            # each replica 500 bytes behind, acknowledged a second ago
            where = {"slave_ip": host, "slave_port": port, "slave_state": "online"}
            self._gauge(base, "redis_connected_slave_offset_bytes", primary_offset - 500, **where)
            self._gauge(base, "redis_connected_slave_lag_seconds", 1.0, **where)
        if role == "replica":
            self._gauge(
                base, "redis_master_link_up", 1.0, master_host="10.0.0.1", master_port="7000"
            )
            self._gauge(
                base,
                "redis_master_last_io_seconds_ago",
                float(seed % 3),
                master_host="10.0.0.1",
                master_port="7000",
            )
        for index, cmd in enumerate(_COMMANDS):
            share = ops / (2 + index)
            self._counter(base, "redis_commands_total", share, cmd=cmd)
            self._counter(base, "redis_commands_duration_seconds_total", share * 2e-6, cmd=cmd)
            cumulative = 0.0
            for bucket_index, le in enumerate(_BUCKETS):
                cumulative += share * (0.6 if bucket_index == 0 else 0.4 / 2**bucket_index)
                if le == "+Inf":
                    cumulative = share
                self._counter(
                    base, "redis_commands_latencies_usec_bucket", cumulative, cmd=cmd, le=le
                )
        self._gauge(
            base, "redis_latency_spike_last", (NOW_MS - 120_000) / 1000, event_name="command"
        )
        self._gauge(base, "redis_latency_spike_duration_seconds", 0.012, event_name="command")
        self.event_log.append(
            Event(
                NOW_MS - 60_000,
                "slowlog",
                labels_of(base),
                {
                    "id": seed,
                    "command": "keys",
                    "duration_us": 15000,
                    "client_addr": "10.0.1.5:50000",
                    "client_name": "",
                    "ts": 0,
                },
            )
        )

    def add_memcached(self, instance: str, seed: int) -> None:
        base = {"instance": instance}
        self.states.append(
            TargetState(
                instance,
                "memcached",
                base,
                Health.UP,
                NOW_MS - 1000,
                version="1.6.18",
                timeout_s=0.4,
            )
        )
        gets = self._wave(seed, 2000.0)
        self._gauge(base, "memcached_up", 1.0)
        self._counter(base, "memcached_commands_total", gets * 0.8, command="get", status="hit")
        self._counter(base, "memcached_commands_total", gets * 0.2, command="get", status="miss")
        self._counter(base, "memcached_commands_total", gets * 0.1, command="set", status="hit")
        self._gauge(base, "memcached_current_bytes", float(60 << 20))
        self._gauge(base, "memcached_limit_bytes", float(64 << 20))
        self._counter(base, "memcached_items_evicted_total", 12.0)
        self._counter(base, "memcached_items_reclaimed_total", 2.0)
        self._counter(base, "memcached_read_bytes_total", gets * 30)
        self._counter(base, "memcached_written_bytes_total", gets * 300)
        self._gauge(base, "memcached_current_connections", 42.0)
        self._gauge(base, "memcached_version", 1.0, version="1.6.18")
        for slab, chunk in (("1", 96.0), ("5", 240.0), ("12", 1184.0)):
            self._gauge(base, "memcached_slab_chunk_size_bytes", chunk, slab=slab)
            self._gauge(base, "memcached_slab_current_pages", 10.0, slab=slab)
            # ten 1 MiB pages of chunks per class: 30 MiB of the 64 MiB limit in all
            self._gauge(
                base, "memcached_slab_current_chunks", float(10 * (1 << 20) // chunk), slab=slab
            )
            self._gauge(base, "memcached_slab_chunks_used", 1000.0, slab=slab)
            self._gauge(base, "memcached_slab_current_items", 990.0, slab=slab)
            self._counter(
                base, "memcached_slab_items_evicted_total", 4.0 if slab == "5" else 0.0, slab=slab
            )
            self._gauge(base, "memcached_slab_items_age_seconds", 600.0, slab=slab)

    def add_alert(self, name: str, instance: str, state: str = "firing") -> None:
        self._gauge(
            {"instance": instance},
            "ALERTS",
            1.0,
            alertname=name,
            alertstate=state,
            severity="warning",
        )


def recorded_fleet(shards: int = 3, standalone: int = 1, memcached: int = 1) -> RecordedSource:
    source = RecordedSource()
    nodes = []
    seed = 0
    per_shard = 16384 // shards
    for shard in range(shards):
        first = shard * per_shard
        last = 16383 if shard == shards - 1 else first + per_shard - 1
        slots = f"{first}-{last}"
        for role, offset in (("primary", 0), ("replica", 1)):
            port = 7000 + 2 * shard + offset
            instance = f"10.0.0.{1 + shard % 250}:{port}"
            labels = {"cluster": CLUSTER, "shard": slots, "role": role}
            replicas = (f"10.0.0.{1 + shard % 250}:{port + 1}",) if role == "primary" else ()
            source.add_redis(instance, seed, role, labels, replicas=replicas)
            host, _, port_text = instance.rpartition(":")
            nodes.append(ClusterNode(f"{seed:040x}", host, int(port_text), role, slots))
            seed += 1
    if shards:
        source.topology[CLUSTER] = ClusterTopology(tuple(nodes))
    for index in range(standalone):
        health = Health.DOWN if index == 0 else Health.UP
        source.add_redis(f"10.1.0.{index + 1}:6379", seed, "primary", {}, health)
        seed += 1
    for index in range(memcached):
        source.add_memcached(f"10.2.0.{index + 1}:11211", seed)
        seed += 1
    if shards:
        source.add_alert("RedisHighMemory", nodes[0].address)
    return source


SENTINEL_SET = "sessions"


def recorded_sentinel_set(disagreeing: bool = False) -> RecordedSource:
    """A Sentinel set `sessions` watching master `cache`: a primary and two replicas (the
    second down: the primary killed by the recorded failover), three Sentinels (the third
    down), one failover ten minutes ago, one Sentinel in TILT. `disagreeing`: that Sentinel
    still names the old primary, and sees it down."""
    source = RecordedSource()
    primary, replica, old_primary = "10.3.0.2:6379", "10.3.0.3:6379", "10.3.0.1:6379"
    for seed, (instance, role, health) in enumerate(
        (
            (primary, "primary", Health.UP),
            (replica, "replica", Health.UP),
            (old_primary, "replica", Health.DOWN),
        )
    ):
        labels = {"sentinel_set": SENTINEL_SET, "sentinel_master": "cache", "role": role}
        source.add_redis(instance, seed, role, labels, health)
    for index in range(3):
        instance = f"10.3.1.{index + 1}:26379"
        base = {"instance": instance, "sentinel_set": SENTINEL_SET, "role": "sentinel"}
        health = Health.DOWN if index == 2 else Health.UP
        source.states.append(
            TargetState(instance, "redis", base, health, NOW_MS - 1000, version="7.0.15")
        )
        source._gauge(base, "redis_up", 1.0 if health is Health.UP else 0.0)
        if health is Health.DOWN:
            continue
        stale = disagreeing and index == 1
        master = {"master_name": "cache", "master_address": old_primary if stale else primary}
        source._gauge(
            base,
            "redis_sentinel_master_status",
            0.0 if stale else 1.0,
            **master,
            master_status="sdown" if stale else "ok",
        )
        source._gauge(base, "redis_sentinel_master_ok_sentinels", 2.0, **master)
        source._gauge(base, "redis_sentinel_master_sentinels", 3.0, **master)
        source._gauge(
            base,
            "redis_sentinel_master_ckquorum_status",
            1.0,
            master_name="cache",
            message="OK 2 usable Sentinels. Quorum and failover authorization can be reached",
        )
        source._gauge(base, "cachewatch_redis_sentinel_master_failover_in_progress", 0.0, **master)
        source._gauge(base, "redis_sentinel_tilt", 1.0 if index == 1 else 0.0)
    changes = (
        ("failover", primary, old_primary, primary),
        ("role_changed", old_primary, "primary", "replica"),
        ("role_changed", primary, "replica", "primary"),
    )
    for kind, instance, before, after in changes:
        source.event_log.append(
            Event(
                NOW_MS - 600_000,
                f"topology.{kind}",
                (("instance", instance),),
                {
                    "before": before,
                    "after": after,
                    "sentinel_set": SENTINEL_SET,
                    "sentinel_master": "cache",
                },
            )
        )
    return source
