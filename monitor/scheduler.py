"""Drive polling with APScheduler (3.x, asyncio): one job per target, never overlapping.

Each target's job runs every `interval` with `max_instances=1` and `coalesce=True`; the
poll's own timeout (shorter than the interval, enforced by config) means a hung target
shows as down within its timeout and never delays anyone else. Targets get a fixed phase
offset derived from their address (not per-run jitter): they don't poll in lock-step, and
each target's timestamps stay exactly `interval` apart, which keeps rates smooth and the
store's timestamp encoding at one bit per sample.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.fleet import Fleet, FleetChange
from monitor.poller import TargetPoller

__all__ = ["PollScheduler", "phase_offset_s", "aligned_ts_ms"]

log = logging.getLogger("cachewatch.scheduler")
logging.getLogger("apscheduler").setLevel(logging.WARNING)
# A run skipped because the previous one is still going is what max_instances=1 is for, not
# a fault: APScheduler warns on every one (80 lines in six minutes of a loaded demo). They
# are counted instead (`cachewatch_scheduler_skipped_runs_total{task}`) and logged at debug.
logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)


def job_kind(job_id: str) -> str:
    """`poll:10.0.0.5:6379` -> `poll`, `periodic:hotkeys` -> `hotkeys` (a bounded label)."""
    kind, _, rest = job_id.partition(":")
    return rest if kind == "periodic" else kind


def phase_offset_s(instance: str, interval_s: float) -> float:
    """A stable offset in [0, interval) for this target, spreading targets over the interval."""
    digest = hashlib.blake2b(instance.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") % 1_000_000) / 1_000_000 * interval_s


def aligned_ts_ms(now_s: float, interval_s: float, offset_s: float) -> int:
    """The scheduled time of the poll running now: a sample's timestamp is when it was due.

    Polls start at or after their slot (never before), so this is the latest slot not after
    now; the 5 ms tolerance absorbs clock jitter between the scheduler and this call.
    """
    slots = math.floor((now_s - offset_s + 0.005) / interval_s)
    return round((offset_s + slots * interval_s) * 1000)


class PollScheduler:
    def __init__(
        self,
        fleet: Fleet,
        discovery_interval_s: float = 30.0,
        mark_stale: Callable[[TargetPoller], None] | None = None,
        on_skipped: Callable[[str], None] | None = None,
    ) -> None:
        self.fleet = fleet
        self._on_skipped = on_skipped
        #: job kind -> runs skipped because the previous run was still going
        self.skipped_runs: dict[str, int] = {}
        self._discovery_interval_s = discovery_interval_s
        self._mark_stale = mark_stale
        self._scheduler: AsyncIOScheduler | None = None
        self._last_discovery_request = 0.0
        self._running: set[asyncio.Task[object]] = set()  # jobs in flight, for stop()
        self._in_flight: set[str] = set()  # keys (`Target.key`) of the targets polled now

    async def start(self) -> None:
        """Start inside the running event loop, with a job for every poller the fleet has."""
        scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1})
        self._scheduler = scheduler
        scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
        scheduler.start()
        for poller in list(self.fleet.pollers.values()):
            self._add_poll_job(poller)
        self.add_periodic("discovery", self._discovery_interval_s, self.refresh_topology)

    def _skipped(self, event: JobSubmissionEvent) -> None:
        kind = job_kind(event.job_id)
        self.skipped_runs[kind] = self.skipped_runs.get(kind, 0) + 1
        log.debug("job %s still running at its next run time: run skipped", event.job_id)
        if self._on_skipped is not None:
            self._on_skipped(kind)

    def add_periodic(
        self, name: str, interval_s: float, func: Callable[[], Awaitable[None]]
    ) -> None:
        """Run `func` every `interval_s` (store maintenance, rule groups, hot-key steps).

        `func` must be a coroutine function (or a `functools.partial` of one): APScheduler
        runs anything else in a thread, where a returned coroutine would never be awaited.
        """
        if not asyncio.iscoroutinefunction(getattr(func, "func", func)):
            raise TypeError(f"add_periodic({name!r}): needs a coroutine function, got {func!r}")
        assert self._scheduler is not None, "start() first"
        self._scheduler.add_job(
            self._tracked,
            IntervalTrigger(seconds=interval_s),
            args=[func],
            id=f"periodic:{name}",
            replace_existing=True,
            misfire_grace_time=max(1, int(interval_s)),
        )

    def _add_poll_job(self, poller: TargetPoller) -> None:
        assert self._scheduler is not None
        target = poller.target
        interval = target.interval_s
        offset = phase_offset_s(target.instance, interval)
        now = time.time()
        first = offset + (int((now - offset) / interval) + 1) * interval
        trigger = IntervalTrigger(
            seconds=interval, start_date=dt.datetime.fromtimestamp(first, dt.UTC)
        )
        self._scheduler.add_job(
            self._poll,
            trigger,
            args=[target.key, interval, offset],
            id=f"poll:{target.key}",
            replace_existing=True,
            misfire_grace_time=max(1, int(interval)),
        )
        # The first poll runs right away, outside the trigger: giving the job
        # `next_run_time=now` would move every later run off the target's phase grid.
        asyncio.get_running_loop().create_task(self._poll(target.key, interval, offset))

    async def _tracked(self, func: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await func()
        finally:
            self._running.discard(task)

    async def _poll(self, key: str, interval_s: float, offset_s: float) -> None:
        if key in self._in_flight:  # the immediate first poll may meet the first slot
            return
        self._in_flight.add(key)
        try:
            await self._tracked(functools.partial(self._poll_now, key, interval_s, offset_s))
        finally:
            self._in_flight.discard(key)

    async def _poll_now(self, key: str, interval_s: float, offset_s: float) -> None:
        poller = self.fleet.pollers.get(key)
        if poller is None:
            return
        await poller.poll(aligned_ts_ms(time.time(), interval_s, offset_s))
        if self.fleet.wants_refresh(poller):
            self.request_discovery()

    def request_discovery(self) -> None:
        """Re-read topologies soon (debounced): a node went down and a failover may follow,
        or a Sentinel reports a primary that discovery has not seen yet."""
        now = time.monotonic()
        if self._scheduler is None or now - self._last_discovery_request < 2.0:
            return
        self._last_discovery_request = now
        self._scheduler.add_job(
            self._tracked,  # so that stop() lets it finish and close its connections
            DateTrigger(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)),
            args=[self.refresh_topology],
            id="discovery:now",
            replace_existing=True,
        )

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
            if self._scheduler is not None and key not in self.fleet.pollers:
                job = self._scheduler.get_job(f"poll:{key}")
                if job is not None:
                    job.remove()
            poller.retire()
            if self._mark_stale is not None:
                self._mark_stale(poller)
            await poller.close()
        for poller in change.added:
            self._add_poll_job(poller)

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop scheduling, let running jobs finish (each is bounded by its own timeout),
        then close the connections: nothing is cancelled half-way through a poll."""
        if self._scheduler is not None:
            self._scheduler.pause()
            if self._running:
                await asyncio.wait(set(self._running), timeout=grace_s)
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        for poller in list(self.fleet.pollers.values()):
            await poller.close()
