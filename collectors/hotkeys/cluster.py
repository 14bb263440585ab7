"""Cluster helpers for hot keys: the nodes behind a seed, and a node's hot slots.

Node discovery is `monitor/discovery.py`'s; this module only picks the nodes to sample.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from collectors.redis_conn import RedisConnection
from collectors.redis_info import parse_commandstats
from monitor.discovery import node_targets, read_topology
from monitor.targets import Target

__all__ = [
    "SlotHeat",
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


async def slot_cpu_usec(conn: RedisConnection, ranges: list[tuple[int, int]]) -> dict[int, int]:
    """CPU microseconds spent on each slot of `ranges` (first, last) that the node owns,
    since the stats were reset: one pipelined `CLUSTER SLOT-STATS SLOTSRANGE` per range.
    Empty when SLOT-STATS or its CPU metric is missing, or a reply cannot be read."""
    replies = await conn.pipeline(
        [("CLUSTER", "SLOT-STATS", "SLOTSRANGE", first, last) for first, last in ranges]
    )
    usec: dict[int, int] = {}
    for reply in replies:
        if not isinstance(reply, Exception):
            try:
                usec.update(parse_slot_stats(reply))
            except ValueError:  # a reply we cannot read ranks nothing
                return {}
    return usec


class _Cumulative:
    """Readings of one ever-growing counter over the last `window_s` (at least two kept),
    started again when the counter goes back (the stats were reset)."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._readings: deque[tuple[float, float]] = deque()

    def add(self, now: float, value: float) -> None:
        if self._readings and value < self._readings[-1][1]:
            self._readings.clear()
        self._readings.append((now, value))
        while len(self._readings) > 2 and self._readings[1][0] <= now - self.window_s:
            self._readings.popleft()

    @property
    def last_read(self) -> float:
        return self._readings[-1][0] if self._readings else float("-inf")

    def change(self) -> tuple[float, float] | None:
        """(seconds, growth) between the oldest and newest reading; None until read twice."""
        if len(self._readings) < 2:
            return None
        (t0, first), (t1, last) = self._readings[0], self._readings[-1]
        return t1 - t0, last - first


class SlotHeat:
    """CPU time per second per slot over the last `window_s`, from successive readings of
    the cumulative `cpu-usec` counters. A key lives in one slot, so a hot key at the LFU
    ceiling makes its slot hot: the slot's CPU rate ranks keys whose counters no longer can
    (an upper bound on the key's part, shared with the slot's other keys)."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._slots: dict[int, _Cumulative] = {}
        #: the node's total command µs and calls, from INFO commandstats
        self._usec = _Cumulative(window_s)
        self._calls = _Cumulative(window_s)

    def add_commands(self, usec: float, calls: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._usec.add(now, usec)
        self._calls.add(now, calls)

    @property
    def commands_read(self) -> float:
        """When the node's command totals were last read (monotonic)."""
        return self._calls.last_read

    def usec_per_command(self) -> float | None:
        """The node's mean command CPU time over the window (None until read twice)."""
        usec, calls = self._usec.change(), self._calls.change()
        if usec is None or calls is None or calls[1] <= 0:
            return None
        return usec[1] / calls[1]

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
            self._slots.setdefault(slot, _Cumulative(self.window_s)).add(now, value)
        stale = [s for s, r in self._slots.items() if r.last_read < now - self.window_s]
        for slot in stale:
            del self._slots[slot]

    def rate(self, slot: int) -> float | None:
        """CPU µs per second on `slot` over the window; None until it was read twice."""
        readings = self._slots.get(slot)
        change = readings.change() if readings is not None else None
        if change is None or change[0] <= 0:
            return None
        return change[1] / change[0]


def parse_commandstats_totals(reply: Any) -> tuple[float, float] | None:
    """(total µs, total calls) over every command of `INFO commandstats`."""
    if not isinstance(reply, bytes):
        return None
    stats = parse_commandstats(reply.decode("utf-8", "replace")).values()
    return sum(usec for _, usec in stats), sum(calls for calls, _ in stats)
