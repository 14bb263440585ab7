"""Cluster helpers for hot keys: the nodes behind a seed, and a node's hot slots.

Node discovery is `monitor/discovery.py`'s; this module only picks the nodes to sample.
"""

from __future__ import annotations

from typing import Any

from collectors.redis_conn import RedisConnection
from monitor.discovery import node_targets, read_topology
from monitor.targets import Target

__all__ = ["discover_nodes", "parse_slot_stats", "hot_slots"]


async def discover_nodes(seed: Target) -> list[Target]:
    """Every node of the seed's cluster (labelled with `role`), or just the seed when it is
    not a cluster node."""
    conn = await RedisConnection.open(seed)
    try:
        topology = await read_topology(conn)
    finally:
        await conn.close()
    if topology is None:
        return [seed]
    return node_targets(seed, topology)


def parse_slot_stats(reply: Any, metric: str = "cpu-usec") -> list[tuple[int, int]]:
    """`CLUSTER SLOT-STATS` (Valkey 8.0+, Redis 8.2+): [[slot, [name, value, ...]], ...]
    -> [(slot, metric value)], hottest first."""
    if not isinstance(reply, list):
        raise ValueError(f"CLUSTER SLOT-STATS: expected an array, got {type(reply).__name__}")
    found = []
    wanted = metric.encode()
    for entry in reply:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], list)):
            raise ValueError(f"CLUSTER SLOT-STATS: malformed entry {entry!r:.80}")
        stats = entry[1]
        values = {stats[i]: stats[i + 1] for i in range(0, len(stats) - 1, 2)}
        if wanted in values:
            found.append((int(entry[0]), int(values[wanted])))
    found.sort(key=lambda pair: pair[1], reverse=True)
    return found


async def hot_slots(conn: RedisConnection, limit: int) -> list[int]:
    """The node's busiest slots by CPU time; empty when SLOT-STATS is missing or its CPU
    metric is off (`cluster-slot-stats-enabled no`)."""
    reply = (
        await conn.pipeline([("CLUSTER", "SLOT-STATS", "ORDERBY", "cpu-usec", "LIMIT", limit)])
    )[0]
    if isinstance(reply, Exception):
        return []
    return [slot for slot, usec in parse_slot_stats(reply) if usec > 0]
