"""Redis Cluster discovery: from one seed to every primary and replica.

`read_topology(conn)` asks one node for the cluster layout (`CLUSTER SHARDS` on 7.0+,
`CLUSTER NODES` before that, or where SHARDS is refused) and returns a `ClusterTopology`.
`node_targets(seed, topology)` turns it into one `Target` per node, each labelled with
`cluster` (the seed's name or address), `shard` (the shard's slot ranges, e.g. `0-5460`:
stable across a failover, unlike node ids) and `role` (`primary` or `replica`).

`diff_topologies(old, new)` names what changed (nodes added, removed, role changes) so the
fleet can follow a failover or a resharding without a restart and record it as events.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from collectors.redis_conn import ReplyError
from monitor.targets import Target

__all__ = [
    "ClusterNode",
    "ClusterTopology",
    "TopologyChange",
    "read_topology",
    "parse_cluster_shards",
    "parse_cluster_nodes",
    "node_targets",
    "diff_topologies",
]


@dataclass(frozen=True, slots=True)
class ClusterNode:
    node_id: str
    host: str
    port: int
    role: str  # "primary" | "replica"
    shard: str  # slot ranges of the shard, e.g. "0-5460" or "0-100,200-300"; "" if none
    health: str = "online"  # online | loading | failed | fail? (pfail) | handshake
    primary_id: str = ""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ClusterTopology:
    nodes: tuple[ClusterNode, ...]

    def by_address(self) -> dict[str, ClusterNode]:
        return {node.address: node for node in self.nodes}


@dataclass(frozen=True, slots=True)
class TopologyChange:
    kind: str  # "node_added" | "node_removed" | "role_changed" | "shard_changed"
    address: str
    before: str = ""
    after: str = ""


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _slot_ranges(pairs: list[tuple[int, int]]) -> str:
    return ",".join(f"{a}-{b}" if a != b else f"{a}" for a, b in sorted(pairs))


def parse_cluster_shards(reply: Any) -> ClusterTopology:
    """Parse a `CLUSTER SHARDS` reply (RESP2 flat maps). Raises ValueError on a bad shape."""
    try:
        return _parse_cluster_shards(reply)
    except (TypeError, AttributeError, KeyError) as exc:
        raise ValueError(f"CLUSTER SHARDS: unexpected reply shape: {exc}") from None


def _parse_cluster_shards(reply: Any) -> ClusterTopology:
    if not isinstance(reply, list):
        raise ValueError(f"CLUSTER SHARDS: expected a list, got {type(reply).__name__}")
    nodes: list[ClusterNode] = []
    for shard in reply:
        fields = _flat_map(shard, "CLUSTER SHARDS shard")
        raw_slots = fields.get("slots", [])
        if not isinstance(raw_slots, list) or len(raw_slots) % 2:
            raise ValueError("CLUSTER SHARDS: slots must be a list of start/end pairs")
        pairs = [(int(raw_slots[i]), int(raw_slots[i + 1])) for i in range(0, len(raw_slots), 2)]
        shard_name = _slot_ranges(pairs)
        shard_nodes = [_flat_map(n, "CLUSTER SHARDS node") for n in fields.get("nodes", [])]
        primary_id = next(
            (_text(n.get("id", b"")) for n in shard_nodes if _text(n.get("role")) == "master"), ""
        )
        for node in shard_nodes:
            role = "primary" if _text(node.get("role")) == "master" else "replica"
            host = _text(node.get("ip") or node.get("endpoint") or b"")
            port = node.get("port") or node.get("tls-port")
            if not host or port is None:
                raise ValueError("CLUSTER SHARDS: node without ip/port")
            nodes.append(
                ClusterNode(
                    node_id=_text(node.get("id", b"")),
                    host=host,
                    port=int(port),
                    role=role,
                    shard=shard_name,
                    health=_text(node.get("health", b"online")),
                    primary_id="" if role == "primary" else primary_id,
                )
            )
    return ClusterTopology(tuple(sorted(nodes, key=lambda n: (n.shard, n.role, n.address))))


def _flat_map(value: Any, what: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return {_text(k): v for k, v in value.items()}
    if not isinstance(value, list) or len(value) % 2:
        raise ValueError(f"{what}: expected a flat key/value list")
    return {_text(value[i]): value[i + 1] for i in range(0, len(value), 2)}


def parse_cluster_nodes(text: str) -> ClusterTopology:
    """Parse `CLUSTER NODES` text (Redis < 7, or where SHARDS is refused)."""
    rows: list[tuple[str, str, int, list[str], str, list[tuple[int, int]], str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 8:
            raise ValueError(f"CLUSTER NODES line {number}: expected at least 8 fields")
        node_id, addr, flags, primary = parts[0], parts[1], parts[2].split(","), parts[3]
        hostport = addr.split("@", 1)[0]
        host, _, port = hostport.rpartition(":")
        if not port.isdigit():
            raise ValueError(f"CLUSTER NODES line {number}: bad address {addr!r}")
        if "noaddr" in flags or not host:
            continue
        link = parts[7]
        pairs = []
        for slot in parts[8:]:
            if slot.startswith("["):  # migrating/importing markers
                continue
            start, _, end = slot.partition("-")
            pairs.append((int(start), int(end or start)))
        health = "failed" if "fail" in flags else ("pfail" if "fail?" in flags else "online")
        if link != "connected" and "myself" not in flags:
            health = "failed" if health == "online" else health
        rows.append((node_id, host, int(port), flags, primary, pairs, health))
    shard_of = {row[0]: _slot_ranges(row[5]) for row in rows if "master" in row[3]}
    nodes = []
    for node_id, host, port_number, flags, primary, _pairs, health in rows:
        is_primary = "master" in flags
        nodes.append(
            ClusterNode(
                node_id=node_id,
                host=host,
                port=port_number,
                role="primary" if is_primary else "replica",
                shard=shard_of.get(node_id if is_primary else primary, ""),
                health=health,
                primary_id="" if is_primary else primary,
            )
        )
    return ClusterTopology(tuple(sorted(nodes, key=lambda n: (n.shard, n.role, n.address))))


async def read_topology(conn: Any, prefer_shards: bool = True) -> ClusterTopology | None:
    """The cluster layout as seen by the node behind `conn`, or None if it is not a cluster
    node. Falls back from CLUSTER SHARDS to CLUSTER NODES when SHARDS is missing or refused."""
    info = await conn.execute("INFO", "cluster")
    if b"cluster_enabled:1" not in info:
        return None
    if prefer_shards:
        (reply,) = await conn.pipeline([("CLUSTER", "SHARDS")])
        if not isinstance(reply, ReplyError):
            return parse_cluster_shards(reply)
    return parse_cluster_nodes(_text(await conn.execute("CLUSTER", "NODES")))


def node_targets(seed: Target, topology: ClusterTopology) -> list[Target]:
    """One target per node, inheriting the seed's credentials, TLS, intervals and labels."""
    cluster = seed.name or seed.instance
    targets = []
    for node in topology.nodes:
        target = replace(
            seed, host=node.host, port=node.port, unix_path=None, discover=False, name=""
        )
        targets.append(target.with_labels(cluster=cluster, shard=node.shard, role=node.role))
    return targets


def diff_topologies(old: ClusterTopology, new: ClusterTopology) -> list[TopologyChange]:
    before, after = old.by_address(), new.by_address()
    changes = []
    for address in sorted(after.keys() - before.keys()):
        changes.append(TopologyChange("node_added", address, after=after[address].role))
    for address in sorted(before.keys() - after.keys()):
        changes.append(TopologyChange("node_removed", address, before=before[address].role))
    for address in sorted(before.keys() & after.keys()):
        old_node, new_node = before[address], after[address]
        if old_node.role != new_node.role:
            changes.append(TopologyChange("role_changed", address, old_node.role, new_node.role))
        elif old_node.shard != new_node.shard:
            changes.append(TopologyChange("shard_changed", address, old_node.shard, new_node.shard))
    return changes
