"""The cluster view: each Redis Cluster's shards, slot ranges, primaries and replicas, the
health of each node and its link to its primary, and which node is hottest."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.readmodel import queries as q
from monitor.readmodel.overview import slot_key
from monitor.readmodel.source import DataSource, Health

__all__ = ["ClusterNodeRow", "ShardRow", "ClusterSummary", "ClusterView", "cluster_view"]


@dataclass(frozen=True, slots=True)
class ClusterNodeRow:
    instance: str
    node_id: str
    role: str
    health: str  # the cluster's own view: online | failed | fail? | loading | handshake
    poll_health: Health  # cachewatch's view: can we poll it
    link_up: bool | None  # a replica's link to its primary
    ops_per_s: float | None
    memory_used: float | None


@dataclass(frozen=True, slots=True)
class ShardRow:
    slots: str  # "0-5460" or "0-100,200-300"
    slot_count: int
    nodes: tuple[ClusterNodeRow, ...]  # primary first

    @property
    def healthy(self) -> bool:
        primaries = [n for n in self.nodes if n.role == "primary"]
        return bool(primaries) and all(
            n.health == "online" and n.poll_health is not Health.DOWN and n.link_up is not False
            for n in self.nodes
        )


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    name: str
    state_ok: bool | None  # `cluster_state:ok` as the nodes report it
    shards: tuple[ShardRow, ...]
    hottest: str  # instance with the most ops/s; "" without traffic
    slots_assigned: int


@dataclass(frozen=True, slots=True)
class ClusterView:
    clusters: tuple[ClusterSummary, ...]


def _slot_count(slots: str) -> int:
    count = 0
    for part in slots.split(","):
        first, _, last = part.partition("-")
        if first.isdigit():
            count += (int(last) if last.isdigit() else int(first)) - int(first) + 1
    return count


def _values(source: DataSource, expr: str, now_ms: int) -> dict[str, float]:
    return {s.labels.get("instance", ""): s.value for s in source.instant(expr, now_ms)}


def cluster_view(source: DataSource, now_ms: int | None = None) -> ClusterView:
    now = source.now_ms() if now_ms is None else now_ms
    topologies = source.topologies()
    if not topologies:
        return ClusterView(())
    health = {s.instance: s.health for s in source.statuses()}
    ops = _values(source, q.FLEET_OPS, now)
    memory = _values(source, q.FLEET_MEMORY_USED, now)
    link = _values(source, q.FLEET_LINK_UP, now)
    state = _values(source, "min by (instance) (redis_cluster_state)", now)
    clusters = []
    for name in sorted(topologies):
        shards: dict[str, list[ClusterNodeRow]] = {}
        for node in topologies[name].nodes:
            address = node.address
            shards.setdefault(node.shard, []).append(
                ClusterNodeRow(
                    instance=address,
                    node_id=node.node_id,
                    role=node.role,
                    health=node.health,
                    poll_health=health.get(address, Health.UNKNOWN),
                    link_up=None if address not in link else link[address] >= 1,
                    ops_per_s=ops.get(address),
                    memory_used=memory.get(address),
                )
            )
        rows = tuple(
            ShardRow(
                slots=slots,
                slot_count=_slot_count(slots),
                nodes=tuple(sorted(nodes, key=lambda n: (n.role != "primary", n.instance))),
            )
            for slots, nodes in sorted(shards.items(), key=lambda kv: slot_key(kv[0]))
        )
        members = [n for shard in rows for n in shard.nodes]
        busiest = max(members, key=lambda n: n.ops_per_s or 0.0, default=None)
        states = [state[n.instance] for n in members if n.instance in state]
        clusters.append(
            ClusterSummary(
                name=name,
                state_ok=None if not states else min(states) >= 1,
                shards=rows,
                hottest=busiest.instance if busiest and (busiest.ops_per_s or 0) > 0 else "",
                slots_assigned=sum(s.slot_count for s in rows if s.slots),
            )
        )
    return ClusterView(tuple(clusters))
