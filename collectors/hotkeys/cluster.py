"""Cluster helpers for hot keys: the nodes behind a seed, and a node's hot slots.

Node discovery is `monitor/discovery.py`'s; this module only picks the nodes to sample.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from collectors.redis_conn import RedisConnection
from monitor.discovery import node_targets, read_topology
from monitor.targets import Target

__all__ = [
    "SlotHeat",
    "all_slots_cpu_usec",
    "discover_nodes",
    "hot_slots",
    "parse_commandstats_totals",
    "parse_slot_stats",
    "slot_cpu_usec",
]


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
    try:
        return [slot for slot, usec in parse_slot_stats(reply) if usec > 0]
    except ValueError:
        return []


async def slot_cpu_usec(conn: RedisConnection, slots: list[int]) -> dict[int, int]:
    """CPU microseconds spent on each of `slots` since the stats were reset (one pipelined
    `CLUSTER SLOT-STATS SLOTSRANGE s s` each); slots without the metric are left out."""
    replies = await conn.pipeline(
        [("CLUSTER", "SLOT-STATS", "SLOTSRANGE", slot, slot) for slot in slots]
    )
    usec: dict[int, int] = {}
    for reply in replies:
        if not isinstance(reply, Exception):
            try:
                usec.update(parse_slot_stats(reply))
            except ValueError:  # a reply we cannot read ranks nothing
                return {}
    return usec


async def all_slots_cpu_usec(conn: RedisConnection) -> dict[int, int]:
    """CPU microseconds of every slot the node owns (`SLOTSRANGE 0 16383`); empty when
    SLOT-STATS or its CPU metric is missing."""
    reply = (await conn.pipeline([("CLUSTER", "SLOT-STATS", "SLOTSRANGE", 0, 16383)]))[0]
    if isinstance(reply, Exception):
        return {}
    try:
        return dict(parse_slot_stats(reply))
    except ValueError:
        return {}


class SlotHeat:
    """CPU time per second per slot over the last `window_s`, from successive readings of
    the cumulative `cpu-usec` counters. A key lives in one slot, so a hot key at the LFU
    ceiling makes its slot hot: the slot's CPU rate ranks keys whose counters no longer can
    (an upper bound on the key's part, shared with the slot's other keys)."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._readings: dict[int, deque[tuple[float, int]]] = {}
        #: the node's (total command µs, total calls) readings, from INFO commandstats
        self._commands: deque[tuple[float, float, float]] = deque()

    def add_commands(self, usec: float, calls: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self._commands and calls < self._commands[-1][2]:
            self._commands.clear()  # the stats were reset
        self._commands.append((now, usec, calls))
        while len(self._commands) > 2 and self._commands[1][0] <= now - self.window_s:
            self._commands.popleft()

    def usec_per_command(self) -> float | None:
        """The node's mean command CPU time over the window (None until read twice)."""
        if len(self._commands) < 2:
            return None
        (_, usec0, calls0), (_, usec1, calls1) = self._commands[0], self._commands[-1]
        return (usec1 - usec0) / (calls1 - calls0) if calls1 > calls0 else None

    def ops(self, slot: int) -> float | None:
        """Commands per second on `slot`: its CPU rate over the node's mean command cost.
        An upper bound for any one key of the slot (the others share it)."""
        rate, per_command = self.rate(slot), self.usec_per_command()
        if rate is None or not per_command:
            return None
        return rate / per_command

    def add(self, usec: dict[int, int], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for slot, value in usec.items():
            readings = self._readings.setdefault(slot, deque())
            if readings and value < readings[-1][1]:
                readings.clear()  # the stats were reset
            readings.append((now, value))
            while len(readings) > 2 and readings[1][0] <= now - self.window_s:
                readings.popleft()
        stale = [s for s, r in self._readings.items() if r[-1][0] < now - self.window_s]
        for slot in stale:
            del self._readings[slot]

    def rate(self, slot: int) -> float | None:
        """CPU µs per second on `slot` over the window; None until it was read twice."""
        readings = self._readings.get(slot)
        if not readings or len(readings) < 2:
            return None
        (t0, first), (t1, last) = readings[0], readings[-1]
        return (last - first) / (t1 - t0) if t1 > t0 else None


def parse_commandstats_totals(reply: Any) -> tuple[float, float] | None:
    """(total µs, total calls) over every `cmdstat_*` line of `INFO commandstats`."""
    if not isinstance(reply, bytes):
        return None
    usec = calls = 0.0
    for line in reply.decode("utf-8", "replace").splitlines():
        if not line.startswith("cmdstat_"):
            continue
        fields = dict(
            part.split("=", 1) for part in line.partition(":")[2].split(",") if "=" in part
        )
        try:
            usec += float(fields["usec"])
            calls += float(fields["calls"])
        except (KeyError, ValueError):
            continue
    return usec, calls
