"""What a cluster node's `CLUSTER SLOT-STATS` adds to LFU sampling (Valkey 8.0+, Redis 8.2+).

* Every window, the CPU of every slot is read; the slots whose CPU rose the most since the
  last window are busy now, and their keys go to the front of the sampler's queue, so a hot
  key is read early even among millions (without the CPU metric: the busiest slots since
  the stats were reset, `hot_slots`).
* Every step, the CPU of the slots holding candidates at the LFU ceiling is read, so those
  keys rank by their slot's commands per second (`SlotHeat`) where their counters no longer
  can rank them.

Both stop for good, with the sampler carrying on alone, where the metric is missing or off
(`cluster-slot-stats-enabled no`).
"""

from __future__ import annotations

from typing import Any

from collectors.hotkeys.cluster import (
    SlotHeat,
    hot_slots,
    parse_commandstats_totals,
    slot_cpu_usec,
)
from collectors.hotkeys.lfu import LfuSampler

__all__ = ["ClusterSlots"]


class ClusterSlots:
    def __init__(self, sampler: LfuSampler, hot_slot_count: int, window_s: float) -> None:
        self.sampler = sampler
        self.hot_slot_count = hot_slot_count
        self.window_s = window_s
        self._last_hot_slots = float("-inf")
        self._heat_available = True
        #: the last full reading of every slot's CPU µs
        self._previous: dict[int, int] | None = None

    async def queue_hot_slot_keys(self, conn: Any, now: float) -> int:
        """Once a window: the CPU of every slot of the node (one `SLOTSRANGE 0 16383`,
        about 2 ms of server time for 5,461 slots), whose rise since the last window names
        the slots busy now; their keys go first. Returns the commands sent."""
        if not self.hot_slot_count or now - self._last_hot_slots < self.window_s:
            return 0
        self._last_hot_slots = now
        usec = await slot_cpu_usec(conn, [(0, 16383)])
        if not usec:
            if self._previous is None:  # no CPU metric: the busiest slots since reset, if any
                return 2 + await self._queue(conn, await hot_slots(conn, self.hot_slot_count))
            return 1
        self._feed_heat(usec, now)
        sent = 1 + await self._read_command_cost(conn, now)
        previous, self._previous = self._previous or {}, usec
        rising = sorted(usec, key=lambda slot: usec[slot] - previous.get(slot, 0), reverse=True)
        busy = [
            slot for slot in rising[: self.hot_slot_count] if usec[slot] > previous.get(slot, 0)
        ]
        return sent + await self._queue(conn, busy)

    async def _queue(self, conn: Any, slots: list[int]) -> int:
        if not slots:
            return 0
        per_slot = max(1, self.sampler.candidate_capacity // len(slots))
        replies = await conn.pipeline(
            [("CLUSTER", "GETKEYSINSLOT", slot, per_slot) for slot in slots]
        )
        for reply in replies:
            if isinstance(reply, list):
                self.sampler.priority.extend(k for k in reply if isinstance(k, bytes))
        return len(slots)

    def _feed_heat(self, conn_usec: dict[int, int], now: float) -> None:
        if self.sampler.slot_heat is None:
            self.sampler.slot_heat = SlotHeat(self.window_s)
        self.sampler.slot_heat.add(conn_usec, now)

    async def read_heat(self, conn: Any, budget: int, now: float) -> int:
        """The CPU of the slots of the candidates at the ceiling (one command per slot,
        within `budget`) and the node's mean command cost. Returns the commands sent."""
        if not self._heat_available:
            return 0
        slots = self.sampler.ceiling_slots()[: max(0, budget - 1)]
        if not slots:
            return 0
        usec = await slot_cpu_usec(conn, [(slot, slot) for slot in slots])
        if not usec:
            self._heat_available = False
            self.sampler.slot_heat = None
            return len(slots)
        self._feed_heat(usec, now)
        return len(slots) + await self._read_command_cost(conn, now)

    async def _read_command_cost(self, conn: Any, now: float) -> int:
        """The node's command totals, at most once a second (the slots are read up to
        three times a step; the mean command cost moves slowly). Returns the commands sent."""
        heat = self.sampler.slot_heat
        if heat is None or now - heat.commands_read < 1.0:
            return 0
        totals = parse_commandstats_totals((await conn.pipeline([("INFO", "commandstats")]))[0])
        if totals is not None:
            heat.add_commands(*totals, now=now)
        return 1
