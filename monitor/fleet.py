"""The set of targets being polled, and how it follows the clusters it was seeded with.

`Fleet` starts from the configured targets. A Redis target with `discover=True` that turns
out to be a cluster node is replaced by one target per node (see `monitor/discovery.py`);
`refresh()` re-reads each cluster's topology (from any node that answers) and adds, removes
or relabels pollers, recording each change as a `topology.*` event. Standalone targets stay
as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collectors.base import Collector
from monitor.discovery import ClusterTopology, diff_topologies, node_targets, read_topology
from monitor.model import Event, SampleBatch, now_ms
from monitor.poller import PollObserver, SampleSink, TargetPoller, TargetStatus, open_connection
from monitor.sharding import ALL, Shard
from monitor.targets import Target, TargetKind

__all__ = ["Fleet", "FleetChange"]

log = logging.getLogger("cachewatch.fleet")


@dataclass
class FleetChange:
    added: list[TargetPoller] = field(default_factory=list)
    removed: list[TargetPoller] = field(default_factory=list)


@dataclass
class _Cluster:
    seed: Target
    topology: ClusterTopology | None = None
    #: keys (`Target.key`) of the pollers this cluster owns
    members: set[str] = field(default_factory=set)


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

    def statuses(self) -> list[TargetStatus]:
        return [poller.status for poller in list(self.pollers.values())]

    def topologies(self) -> dict[str, ClusterTopology]:
        """Cluster name -> its last known topology."""
        return {
            name: cluster.topology
            for name, cluster in self._clusters.items()
            if cluster.topology is not None
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
        change = FleetChange()
        for seed in self._seeds:
            if seed.kind is TargetKind.REDIS and seed.discover:
                topology = await self._read_topology([seed])
                if topology is not None:
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
        for cluster in self._clusters.values():
            candidates = [cluster.seed] + [
                self.pollers[i].target for i in sorted(cluster.members) if i in self.pollers
            ]
            topology = await self._read_topology(candidates)
            if topology is None:
                continue
            part = self._apply(cluster, topology)
            change.added += part.added
            change.removed += part.removed
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
        change = FleetChange()
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
        wanted = {
            t.key: t for t in node_targets(cluster.seed, topology) if self._shard.owns(t.instance)
        }
        for key in sorted(cluster.members - wanted.keys()):
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
        cluster.members = set(wanted)
        if events and self._sink is not None:
            self._sink.add_events(events)
        return change

    def is_cluster_member(self, key: str) -> bool:
        """Whether the poller with this `Target.key` belongs to a discovered cluster."""
        return any(key in c.members for c in self._clusters.values())
