"""Drive polling from one grid clock: targets in phase groups, never overlapping.

Every target has a fixed phase on its interval's grid, derived from its address (not
per-run jitter), quantised to one of a few phase groups per interval (`slot_offset_s`):
targets don't poll in lock-step, each target's timestamps stay exactly `interval` apart
(smooth rates, one bit per sample in the store's timestamp encoding), and the targets of
one group share one wake-up of the event loop. One asyncio timer per group, re-armed after
each firing, replaces the one-job-per-target machinery of a general scheduler (job
stores, triggers, executors, a wake-up per job), which cost a large share of the
process's CPU (docs/PERFORMANCE.md, "The whole process").

A poll whose target is still being polled at its next slot is skipped and counted
(`cachewatch_scheduler_skipped_runs_total{task="poll"}`); the poll's own timeout (shorter
than the interval, enforced by config) means a hung target shows as down within its
timeout and never delays anyone else. A poll is on its slot unless it is skipped, its
group fires more than `late_after_s(interval)` after the slot (a blocked loop), or the
slot is missed entirely (the loop blocked for more than an interval: not made up, only
counted); `cachewatch_scheduler_polls_due_total` and `..._late_total` count them.

Periodic tasks (store maintenance, rule groups, hot-key steps) run on their own timers
with the same rule: never two runs of one task at once, a run that would overlap is
skipped and counted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from monitor.fleet import Fleet, FleetChange
from monitor.poller import TargetPoller

__all__ = [
    "PollScheduler",
    "phase_offset_s",
    "slot_offset_s",
    "aligned_ts_ms",
    "late_after_s",
    "FIRST_POLLS_AT_ONCE",
]

log = logging.getLogger("cachewatch.scheduler")

#: at most this many phase groups per interval ...
PHASE_GROUPS_MAX = 40
#: ... and at least this far apart: fewer wake-ups, each polling a few targets
PHASE_GROUP_MIN_S = 0.25
#: first polls (connect, probe) running at once: 1,000 targets do not open 1,000
#: connections in one loop iteration
FIRST_POLLS_AT_ONCE = 32


def job_kind(job_id: str) -> str:
    """`poll:10.0.0.5:6379` -> `poll`, `periodic:hotkeys` -> `hotkeys` (a bounded label)."""
    kind, _, rest = job_id.partition(":")
    return rest if kind == "periodic" else kind


def phase_offset_s(instance: str, interval_s: float) -> float:
    """A stable offset in [0, interval) for this target, spreading targets over the interval."""
    digest = hashlib.blake2b(instance.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") % 1_000_000) / 1_000_000 * interval_s


def phase_groups(interval_s: float) -> int:
    """How many phase groups an interval is cut into (1 s: 4; 10 s and more: 40)."""
    return max(1, min(PHASE_GROUPS_MAX, math.floor(interval_s / PHASE_GROUP_MIN_S + 1e-9)))


def slot_offset_s(instance: str, interval_s: float) -> float:
    """The target's phase (`phase_offset_s`) rounded down to its phase group's start."""
    groups = phase_groups(interval_s)
    width = interval_s / groups
    return math.floor(phase_offset_s(instance, interval_s) / width) * width


def late_after_s(interval_s: float) -> float:
    """A poll starting more than this after its slot is late (a tenth of the interval,
    at most one second)."""
    return min(interval_s / 10, 1.0)


def aligned_ts_ms(now_s: float, interval_s: float, offset_s: float) -> int:
    """The scheduled time of the poll running now: a sample's timestamp is when it was due.

    Polls start at or after their slot (never before), so this is the latest slot not after
    now; the 5 ms tolerance absorbs clock jitter between the scheduler and this call.
    """
    slots = math.floor((now_s - offset_s + 0.005) / interval_s)
    return round((offset_s + slots * interval_s) * 1000)


@dataclass(eq=False)
class _Group:
    """The targets polled on one (interval, offset) slot of the grid."""

    interval_s: float
    offset_s: float
    keys: set[str] = field(default_factory=set)
    due_s: float = 0.0  # wall-clock time of the slot the timer is armed for
    timer: asyncio.TimerHandle | None = None


@dataclass(eq=False)
class _Periodic:
    name: str
    interval_s: float
    func: Callable[[], Awaitable[None]]
    timer: asyncio.TimerHandle | None = None
    task: asyncio.Task[None] | None = None


class PollScheduler:
    def __init__(
        self,
        fleet: Fleet,
        discovery_interval_s: float = 30.0,
        mark_stale: Callable[[TargetPoller], None] | None = None,
        on_skipped: Callable[[str], None] | None = None,
        on_slot: Callable[[int, int], None] | None = None,
    ) -> None:
        self.fleet = fleet
        self._on_skipped = on_skipped
        #: called with (polls due on a slot, how many of them late or missed)
        self._on_slot = on_slot
        #: job kind -> runs skipped because the previous run was still going
        self.skipped_runs: dict[str, int] = {}
        #: polls due on the grid so far, and those that started late or not at all
        self.polls_due = 0
        self.polls_late = 0
        self._discovery_interval_s = discovery_interval_s
        self._mark_stale = mark_stale
        self._loop: asyncio.AbstractEventLoop | None = None
        self._groups: dict[tuple[float, float], _Group] = {}
        self._group_of: dict[str, _Group] = {}  # target key -> its group
        self._periodic: dict[str, _Periodic] = {}
        self._discovery_soon: asyncio.TimerHandle | None = None
        self._first_polls: asyncio.Semaphore | None = None
        self._last_discovery_request = 0.0
        self._running: set[asyncio.Task[object]] = set()  # jobs in flight, for stop()
        self._in_flight: set[str] = set()  # keys (`Target.key`) of the targets polled now
        #: the slot each target was last polled for: a first poll stamped with the slot just
        #: ahead (within the clock tolerance) is not polled again when its group fires there
        self._last_slot_ms: dict[str, int] = {}

    async def start(self) -> None:
        """Start inside the running event loop, with every poller the fleet has."""
        self._loop = asyncio.get_running_loop()
        self._first_polls = asyncio.Semaphore(FIRST_POLLS_AT_ONCE)
        for poller in list(self.fleet.pollers.values()):
            self._add_poller(poller)
        self.add_periodic("discovery", self._discovery_interval_s, self.refresh_topology)

    def _skipped(self, kind: str, key: str) -> None:
        self.skipped_runs[kind] = self.skipped_runs.get(kind, 0) + 1
        log.debug("%s %s still running at its next run time: run skipped", kind, key)
        if self._on_skipped is not None:
            self._on_skipped(kind)

    # -- periodic tasks --------------------------------------------------------------------

    def add_periodic(
        self, name: str, interval_s: float, func: Callable[[], Awaitable[None]]
    ) -> None:
        """Run `func` every `interval_s` (store maintenance, rule groups, hot-key steps).

        `func` must be a coroutine function (or a `functools.partial` of one). A task of
        the same name is replaced.
        """
        if not asyncio.iscoroutinefunction(getattr(func, "func", func)):
            raise TypeError(f"add_periodic({name!r}): needs a coroutine function, got {func!r}")
        assert self._loop is not None, "start() first"
        old = self._periodic.pop(name, None)
        if old is not None and old.timer is not None:
            old.timer.cancel()
        job = _Periodic(name, interval_s, func)
        self._periodic[name] = job
        job.timer = self._loop.call_later(interval_s, self._run_periodic, job)

    def _run_periodic(self, job: _Periodic) -> None:
        if self._periodic.get(job.name) is not job or self._loop is None:
            return
        job.timer = self._loop.call_later(job.interval_s, self._run_periodic, job)
        if job.task is not None and not job.task.done():
            self._skipped(job.name, "task")
            return
        job.task = self._start(job.func())

    def _start(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        assert self._loop is not None
        return self._loop.create_task(self._tracked(coro))

    async def _tracked(self, coro: Awaitable[None]) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await coro
        except Exception:
            log.exception("a scheduled task failed")
        finally:
            self._running.discard(task)

    # -- the poll grid ---------------------------------------------------------------------

    def _add_poller(self, poller: TargetPoller) -> None:
        assert self._loop is not None
        target = poller.target
        interval = target.interval_s
        offset = slot_offset_s(target.instance, interval)
        old = self._group_of.pop(target.key, None)
        if old is not None:
            old.keys.discard(target.key)
        group = self._groups.get((interval, offset))
        if group is None:
            group = _Group(interval, offset)
            self._groups[(interval, offset)] = group
        group.keys.add(target.key)
        self._group_of[target.key] = group
        if group.timer is None:
            self._arm(group, time.time())
        # The first poll runs right away (at most FIRST_POLLS_AT_ONCE at a time), outside
        # the grid; it is stamped with the slot it falls in, so the grid stays intact.
        if target.key not in self._in_flight:
            self._in_flight.add(target.key)
            self._start(self._first_poll(target.key, interval, offset))

    def _arm(self, group: _Group, now_s: float) -> None:
        """Arm the group's timer for its next slot after `now_s`."""
        assert self._loop is not None
        slots = math.floor((now_s - group.offset_s) / group.interval_s) + 1
        group.due_s = group.offset_s + slots * group.interval_s
        self._arm_at(group, now_s)

    def _arm_at(self, group: _Group, now_s: float) -> None:
        assert self._loop is not None
        # wall-clock slot -> loop time, recomputed each time: no drift between the clocks
        group.timer = self._loop.call_at(
            self._loop.time() + (group.due_s - now_s), self._fire, group
        )

    def _fire(self, group: _Group) -> None:
        if not group.keys or self._loop is None:
            group.timer = None
            self._groups.pop((group.interval_s, group.offset_s), None)
            return
        now = time.time()
        due = group.due_s
        interval = group.interval_s
        missed = max(0, math.floor((now - due) / interval + 0.001))
        if missed:  # the loop was blocked: poll now, on the latest slot, and say so
            due += missed * interval
        ts_ms = round(due * 1000)
        late = now - due > late_after_s(interval)
        keys = list(group.keys)
        self.polls_due += len(keys) * (missed + 1)
        late_count = len(keys) * missed + (len(keys) if late else 0)
        for key in keys:
            if key in self._in_flight:  # the previous poll still runs: this one is not made
                self._skipped("poll", key)
                late_count += 0 if late else 1
                continue
            self._in_flight.add(key)
            self._start(self._poll_now(key, ts_ms))
        self.polls_late += late_count
        if self._on_slot is not None:
            self._on_slot(len(keys) * (missed + 1), late_count)
        group.due_s = due + interval
        self._arm_at(group, now)

    async def _first_poll(self, key: str, interval_s: float, offset_s: float) -> None:
        assert self._first_polls is not None
        try:
            async with self._first_polls:
                ts_ms = aligned_ts_ms(time.time(), interval_s, offset_s)
                await self._poll_body(key, ts_ms)
        finally:
            self._in_flight.discard(key)

    async def _poll_now(self, key: str, ts_ms: int) -> None:
        try:
            await self._poll_body(key, ts_ms)
        finally:
            self._in_flight.discard(key)

    async def _poll_body(self, key: str, ts_ms: int) -> None:
        poller = self.fleet.pollers.get(key)
        if poller is None or ts_ms <= self._last_slot_ms.get(key, -1):
            return  # gone, or this slot was polled already (one sample per slot)
        self._last_slot_ms[key] = ts_ms
        await poller.poll(ts_ms)
        if self.fleet.wants_refresh(poller):
            self.request_discovery()

    # -- topology --------------------------------------------------------------------------

    def request_discovery(self) -> None:
        """Re-read topologies soon (debounced): a node went down and a failover may follow,
        or a Sentinel reports a primary that discovery has not seen yet."""
        now = time.monotonic()
        if self._loop is None or now - self._last_discovery_request < 2.0:
            return
        self._last_discovery_request = now
        if self._discovery_soon is not None:
            self._discovery_soon.cancel()
        self._discovery_soon = self._loop.call_later(1.0, self._discover_now)

    def _discover_now(self) -> None:
        if self._loop is not None:
            self._start(self.refresh_topology())

    async def refresh_topology(self) -> None:
        try:
            change = await self.fleet.refresh()
        except Exception:
            log.exception("topology refresh failed")
            return
        await self.apply(change)

    async def apply(self, change: FleetChange) -> None:
        for poller in change.removed:
            key = poller.target.key
            if key not in self.fleet.pollers:
                group = self._group_of.pop(key, None)
                if group is not None:
                    group.keys.discard(key)
                # a target that comes back starts afresh (the store refuses a sample
                # not after the target's last one anyway): churn must not grow this
                self._last_slot_ms.pop(key, None)
            poller.retire()
            if self._mark_stale is not None:
                self._mark_stale(poller)
            await poller.close()
        for poller in change.added:
            self._add_poller(poller)

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop scheduling, let running jobs finish (each is bounded by its own timeout),
        then close the connections: nothing is cancelled half-way through a poll."""
        if self._loop is not None:
            for group in self._groups.values():
                if group.timer is not None:
                    group.timer.cancel()
            for job in self._periodic.values():
                if job.timer is not None:
                    job.timer.cancel()
            if self._discovery_soon is not None:
                self._discovery_soon.cancel()
            self._groups.clear()
            self._periodic.clear()
            self._loop = None
            if self._running:
                await asyncio.wait(set(self._running), timeout=grace_s)
        # closed together: 1,000 connections one after the other held up a stop for seconds
        results = await asyncio.gather(
            *(poller.close() for poller in list(self.fleet.pollers.values())),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, Exception):
                log.debug("error while closing a connection: %s", result)
