"""The set of targets being polled, and how it follows the clusters and Sentinel sets it
was seeded with.

`Fleet` starts from the configured targets. A Redis target with `discover=True` that turns
out to be a cluster node is replaced by one target per node (see `monitor/discovery.py`); a
`redis+sentinel://` seed by one target per Sentinel, primary and replica (see
`monitor/sentinel_discovery.py`). `refresh()` re-reads each cluster's topology (from any node
that answers) and each Sentinel set's (from every Sentinel that answers) and adds, removes
or relabels pollers, recording each change as a `topology.*` event. Standalone targets stay
as they are.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from collectors.base import Collector
from monitor.discovery import ClusterTopology, diff_topologies, node_targets, read_topology
from monitor.model import Event, SampleBatch, now_ms
from monitor.poller import PollObserver, SampleSink, TargetPoller, TargetStatus, open_connection
from monitor.sentinel_discovery import (
    SentinelTopology,
    read_sentinel_set,
    sentinel_events,
    sentinel_targets,
    set_name,
)
from monitor.sharding import ALL, Shard
from monitor.targets import Target, TargetKind

__all__ = ["Fleet", "FleetChange"]

log = logging.getLogger("cachewatch.fleet")


@dataclass
class FleetChange:
    added: list[TargetPoller] = field(default_factory=list)
    removed: list[TargetPoller] = field(default_factory=list)

    def extend(self, other: FleetChange) -> None:
        self.added += other.added
        self.removed += other.removed


@dataclass
class _Cluster:
    seed: Target
    topology: ClusterTopology | None = None
    #: keys (`Target.key`) of the pollers this cluster owns
    members: set[str] = field(default_factory=set)


@dataclass
class _SentinelSet:
    seed: Target
    topology: SentinelTopology | None = None
    #: instances of the pollers this set owns: its Sentinels and data nodes
    members: set[str] = field(default_factory=set)
    #: the masters a seed names that no Sentinel knows, already logged
    missing: frozenset[str] = frozenset()
    #: Sentinel instance -> the view (master, primary, replicas) it last asked a refresh for
    reported: dict[str, tuple[tuple[str, str, float], ...]] = field(default_factory=dict)


class Fleet:
    def __init__(
        self,
        targets: list[Target],
        make_collectors: Callable[[Target], list[Collector]],
        sink: SampleSink | None = None,
        observer: PollObserver | None = None,
        slow_interval_s: float = 60.0,
        options: dict[str, Any] | None = None,
        connect: Callable[[Target], Any] = open_connection,
        shard: Shard | None = None,
    ) -> None:
        self._seeds = list(targets)
        # Every instance discovers whole clusters; the shard decides which nodes it polls.
        self._shard = shard or ALL
        self._make_collectors = make_collectors
        self._sink = sink
        self._observer = observer
        self._slow_interval_s = slow_interval_s
        self._options = options or {}
        self._connect = connect
        #: by `Target.key`: kind and address, so a redis and a memcached server on one
        #: address are two pollers
        self.pollers: dict[str, TargetPoller] = {}
        #: shared with every poller: callables adding samples to each successful poll
        self.contributors: list[Callable[[Target, SampleBatch], None]] = []
        self._clusters: dict[str, _Cluster] = {}
        self._sentinel_sets: dict[str, _SentinelSet] = {}

    def statuses(self) -> list[TargetStatus]:
        return [poller.status for poller in list(self.pollers.values())]

    def topologies(self) -> dict[str, ClusterTopology]:
        """Cluster name -> its last known topology."""
        return {
            name: cluster.topology
            for name, cluster in self._clusters.items()
            if cluster.topology is not None
        }

    def sentinel_topologies(self) -> dict[str, SentinelTopology]:
        """Sentinel set name -> its last known topology."""
        return {
            name: group.topology
            for name, group in self._sentinel_sets.items()
            if group.topology is not None
        }

    def _new_poller(self, target: Target) -> TargetPoller:
        return TargetPoller(
            target,
            self._make_collectors(target),
            sink=self._sink,
            observer=self._observer,
            slow_interval_s=self._slow_interval_s,
            options=self._options,
            connect=self._connect,
            contributors=self.contributors,
        )

    async def start(self) -> FleetChange:
        """Discover clusters among the seeds and create the pollers."""
        return await self._add_seeds(self._seeds)

    async def replace_seeds(self, targets: list[Target]) -> FleetChange:
        """The configured targets changed (a config reload). Seeds that are unchanged keep
        their pollers (with their state) and clusters their topology; seeds that are gone
        or changed lose theirs; new and changed seeds are discovered and added."""
        change = FleetChange()
        wanted = {t.key: t for t in targets}
        kept = [seed for seed in self._seeds if wanted.get(seed.key) == seed]
        for seed in self._seeds:
            if seed in kept:
                continue
            cluster_key = next((k for k, c in self._clusters.items() if c.seed == seed), None)
            set_key = next((k for k, g in self._sentinel_sets.items() if g.seed == seed), None)
            if cluster_key is not None or set_key is not None:
                owner = (
                    self._clusters.pop(cluster_key)
                    if cluster_key is not None
                    else self._sentinel_sets.pop(set_key)  # type: ignore[arg-type]
                )
                change.removed += [
                    self.pollers.pop(i) for i in sorted(owner.members) if i in self.pollers
                ]
            elif seed.key in self.pollers:
                change.removed.append(self.pollers.pop(seed.key))
        new_seeds = [t for t in targets if t not in kept]
        self._seeds = list(targets)
        change.added += (await self._add_seeds(new_seeds)).added
        return change

    async def _add_seeds(self, seeds: list[Target]) -> FleetChange:
        change = FleetChange()
        groups = {i: _SentinelSet(seed=s) for i, s in enumerate(seeds) if s.sentinel is not None}
        # Every seed's topology is read at once (at most READS_AT_ONCE at a time), then
        # applied in the seeds' order: 1,000 seeds, some of them hanging until their
        # timeout, are read in seconds, not one after the other.
        reads = await _gather_bounded(
            [
                self._read_sentinels(groups[i])
                if i in groups
                else self._read_topology([seed])
                if seed.kind is TargetKind.REDIS and seed.discover
                else _nothing()
                for i, seed in enumerate(seeds)
            ]
        )
        for i, seed in enumerate(seeds):
            if seed.sentinel is not None:
                # polled even when no Sentinel answers yet: they show (and alert) as down
                group = groups[i]
                self._sentinel_sets[set_name(seed)] = group
                part = self._apply_sentinels(group, reads[i])  # type: ignore[arg-type]
                change.added += part.added
                continue
            if seed.kind is TargetKind.REDIS and seed.discover:
                topology = reads[i]
                if isinstance(topology, ClusterTopology):
                    cluster = _Cluster(seed=seed)
                    self._clusters[seed.name or seed.instance] = cluster
                    change_part = self._apply(cluster, topology)
                    change.added += change_part.added
                    continue
            if seed.key not in self.pollers and self._shard.owns(seed.instance):
                poller = self._new_poller(seed)
                self.pollers[seed.key] = poller
                change.added.append(poller)
        return change

    async def refresh(self) -> FleetChange:
        """Re-read every cluster's topology and apply what changed."""
        change = FleetChange()
        clusters = list(self._clusters.values())
        groups = list(self._sentinel_sets.values())
        topologies = await _gather_bounded(
            [
                self._read_topology(
                    [cluster.seed]
                    + [self.pollers[i].target for i in sorted(cluster.members) if i in self.pollers]
                )
                for cluster in clusters
            ]
        )
        for cluster, topology in zip(clusters, topologies, strict=True):
            if topology is not None:
                change.extend(self._apply(cluster, topology))
        sentinel_topologies = await _gather_bounded([self._read_sentinels(g) for g in groups])
        for group, sentinel_topology in zip(groups, sentinel_topologies, strict=True):
            if sentinel_topology is not None:
                change.extend(self._apply_sentinels(group, sentinel_topology))
        return change

    async def _read_topology(self, candidates: list[Target]) -> ClusterTopology | None:
        for target in candidates:
            try:
                conn = await self._connect(target)
            except Exception as exc:
                log.debug("discovery: %s unreachable: %s", target.url, exc)
                continue
            try:
                return await read_topology(conn)
            except Exception as exc:
                log.warning("discovery: %s: cannot read topology: %s", target.url, exc)
            finally:
                await conn.close()
        return None

    def _apply(self, cluster: _Cluster, topology: ClusterTopology) -> FleetChange:
        events: list[Event] = []
        ts = now_ms()
        if cluster.topology is not None:
            for diff in diff_topologies(cluster.topology, topology):
                log.info(
                    "cluster %s: %s %s %s -> %s",
                    cluster.seed.instance,
                    diff.kind,
                    diff.address,
                    diff.before,
                    diff.after,
                )
                events.append(
                    Event(
                        ts_ms=ts,
                        kind=f"topology.{diff.kind}",
                        target_labels=(("instance", diff.address),),
                        data={
                            "before": diff.before,
                            "after": diff.after,
                            "cluster": cluster.seed.name or cluster.seed.instance,
                        },
                    )
                )
        cluster.topology = topology
        change, cluster.members = self._sync(cluster.members, node_targets(cluster.seed, topology))
        self._record(events)
        return change

    async def _read_sentinels(self, group: _SentinelSet) -> SentinelTopology | None:
        seed = group.seed
        assert seed.sentinel is not None
        topology = await read_sentinel_set(seed, group.topology, self._connect)
        if topology is None:
            return None
        missing = frozenset(seed.sentinel.masters) - {m.name for m in topology.masters}
        if missing - group.missing:
            log.warning(
                "sentinel set %s: no Sentinel monitors %s",
                set_name(seed),
                ", ".join(sorted(missing - group.missing)),
            )
        group.missing = missing
        return topology

    def _apply_sentinels(
        self, group: _SentinelSet, topology: SentinelTopology | None
    ) -> FleetChange:
        name = set_name(group.seed)
        events: list[Event] = []
        if group.topology is not None and topology is not None:
            events = sentinel_events(name, group.topology, topology, now_ms())
            for event in events:
                log.info(
                    "sentinel set %s: %s %s %s -> %s",
                    name,
                    event.kind.removeprefix("topology."),
                    dict(event.target_labels)["instance"],
                    event.data["before"],
                    event.data["after"],
                )
        if topology is not None:
            group.topology = topology
        change, group.members = self._sync(
            group.members, sentinel_targets(group.seed, group.topology)
        )
        self._record(events)
        return change

    def _sync(self, members: set[str], targets: list[Target]) -> tuple[FleetChange, set[str]]:
        """Make the pollers of a group's `members` the given targets (those this shard
        owns): remove the gone ones, add the new ones, replace the relabelled ones. Returns
        the change and the new members."""
        change = FleetChange()
        wanted = {t.key: t for t in targets if self._shard.owns(t.instance)}
        for key in sorted(members - wanted.keys()):
            poller = self.pollers.pop(key, None)
            if poller is not None:
                change.removed.append(poller)
        for key, target in wanted.items():
            current = self.pollers.get(key)
            if current is not None and current.target.labels == target.labels:
                continue
            if current is not None:  # relabelled (failover): old series end, new ones begin
                change.removed.append(current)
            poller = self._new_poller(target)
            self.pollers[key] = poller
            change.added.append(poller)
        return change, set(wanted)

    def _record(self, events: list[Event]) -> None:
        if events and self._sink is not None:
            self._sink.add_events(events)

    def is_cluster_member(self, key: str) -> bool:
        """Whether the poller with this `Target.key` belongs to a discovered cluster."""
        return any(key in c.members for c in self._clusters.values())

    def wants_refresh(self, poller: TargetPoller) -> bool:
        """Whether this poll suggests the topology moved: a cluster node or a Sentinel-managed
        data node stopped answering (a failover may follow), or a Sentinel reports a
        primary, replica count or master that the last discovery did not see."""
        instance, key = poller.target.instance, poller.target.key
        labels = dict(poller.target.labels)
        if poller.status.up is False:
            # a Sentinel-managed node asks once: the Sentinels' own polls report the switch
            return self.is_cluster_member(key) or (
                "sentinel_master" in labels
                and poller.status.consecutive_failures == 1
                and any(key in g.members for g in self._sentinel_sets.values())
            )
        group = self._sentinel_sets.get(labels.get("sentinel_set", ""))
        batch = poller.status.last_batch
        if labels.get("role") != "sentinel" or group is None or batch is None:
            return False
        return _sentinel_disagrees(group, instance, batch)


def _sentinel_disagrees(group: _SentinelSet, instance: str, batch: SampleBatch) -> bool:
    """Whether this Sentinel's poll shows a primary, replica count or master that the last
    discovery did not see, for the first time: a Sentinel that keeps naming a stale primary
    (the set's highest config epoch says otherwise) asks once, not on every poll."""
    wanted = group.seed.sentinel.masters if group.seed.sentinel is not None else ()
    view = tuple(
        sorted(
            (dict(labels).get("master_name", ""), dict(labels).get("master_address", ""), value)
            for name, labels, value in zip(batch.names, batch.labels, batch.values, strict=True)
            if name == "redis_sentinel_master_slaves"
            and (not wanted or dict(labels).get("master_name") in wanted)
        )
    )
    if not _differs(group.topology, view) or group.reported.get(instance) == view:
        return False
    group.reported[instance] = view
    return True


def _differs(topology: SentinelTopology | None, view: tuple[tuple[str, str, float], ...]) -> bool:
    for name, address, replicas in view:
        master = topology.master(name) if topology is not None else None
        if master is None or address != master.primary.address:
            return True
        if replicas != len(master.replicas):
            return True
    return False


#: topology reads (connect, CLUSTER SHARDS or SENTINEL queries) running at once
READS_AT_ONCE = 32
T = TypeVar("T")


async def _nothing() -> None:
    return None


async def _gather_bounded(reads: list[Awaitable[T]]) -> list[T]:
    """Await every read, at most READS_AT_ONCE at a time; results in the reads' order."""
    gate = asyncio.Semaphore(READS_AT_ONCE)

    async def one(read: Awaitable[T]) -> T:
        async with gate:
            return await read

    return list(await asyncio.gather(*(one(r) for r in reads)))
