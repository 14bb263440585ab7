from __future__ import annotations

import asyncio
import itertools
import logging
import time

import pytest

from monitor.scheduler import aligned_ts_ms, phase_offset_s


def test_phase_offsets_are_stable_and_spread() -> None:
    offsets = [phase_offset_s(f"10.0.0.{i}:6379", 10.0) for i in range(200)]
    assert offsets == [phase_offset_s(f"10.0.0.{i}:6379", 10.0) for i in range(200)]
    assert all(0 <= o < 10 for o in offsets)
    # targets spread over the interval instead of polling in lock-step
    assert len({int(o) for o in offsets}) == 10


def test_timestamps_are_the_slot_a_poll_belongs_to() -> None:
    offset = 0.25
    # a poll that starts 80 ms late is stamped with its slot, never the next one
    assert aligned_ts_ms(1000.33, 1.0, offset) == 1000_250
    assert aligned_ts_ms(1000.999, 1.0, offset) == 1000_250
    # a poll that fires a hair early (clock jitter) still gets its own slot
    assert aligned_ts_ms(1001.248, 1.0, offset) == 1001_250
    # successive slots are exactly one interval apart
    stamps = [aligned_ts_ms(2000 + k * 10 + offset + 0.05, 10.0, offset) for k in range(5)]
    assert {b - a for a, b in itertools.pairwise(stamps)} == {10_000}


def test_a_job_slower_than_its_interval_is_counted_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A run skipped because the previous one still runs is max_instances=1 doing its job:
    counted per task (and exported), never a warning line per skip (a loaded demo printed
    80 of them in six minutes)."""
    from monitor.exporter import SelfMetrics
    from monitor.fleet import Fleet
    from monitor.scheduler import PollScheduler

    metrics = SelfMetrics()

    async def run() -> dict[str, int]:
        scheduler = PollScheduler(
            Fleet([], lambda target: []), on_skipped=metrics.observe_skipped_run
        )
        await scheduler.start()

        async def slow() -> None:
            await asyncio.sleep(0.35)

        scheduler.add_periodic("slowtask", 0.1, slow)
        deadline = time.monotonic() + 20
        while scheduler.skipped_runs.get("slowtask", 0) < 3:
            assert time.monotonic() < deadline, "no run was ever skipped"
            await asyncio.sleep(0.05)
        await scheduler.stop()
        return dict(scheduler.skipped_runs)

    with caplog.at_level(logging.DEBUG, logger="cachewatch.scheduler"):
        skipped = asyncio.run(run())
    assert skipped["slowtask"] >= 3
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert noisy == [], [r.getMessage() for r in noisy]
    exported = {
        dict(labels).get("task"): value
        for name, labels, value in zip(*_columns(metrics.snapshot()), strict=True)
        if name == "cachewatch_scheduler_skipped_runs_total"
    }
    assert exported["slowtask"] >= 3


def _columns(batch: object) -> tuple[list[str], list[object], list[float]]:
    return batch.names, batch.labels, batch.values  # type: ignore[attr-defined]


def test_phase_groups_quantise_offsets_onto_a_few_slots() -> None:
    from monitor.scheduler import phase_groups, slot_offset_s

    assert phase_groups(1.0) == 4 and phase_groups(10.0) == 40 and phase_groups(0.1) == 1
    offsets = {slot_offset_s(f"10.0.0.{i}:6379", 10.0) for i in range(500)}
    # 1,000 targets at 10 s wake the loop 40 times per interval, not 1,000 times
    assert len(offsets) == 40
    assert all(o >= 0 and round(o / 0.25, 6).is_integer() for o in offsets)
    for i in range(50):
        raw = phase_offset_s(f"10.0.0.{i}:6379", 1.0)
        assert 0 <= raw - slot_offset_s(f"10.0.0.{i}:6379", 1.0) < 0.25


class _RecordingPoller:
    """Stands in for a TargetPoller: records the timestamps it was polled with."""

    def __init__(self, url: str) -> None:
        from monitor.poller import TargetStatus
        from monitor.targets import parse_target_url

        self.target = parse_target_url(url, interval_s=0.5, timeout_s=0.4)
        self.status = TargetStatus(target=self.target)
        self.stamps: list[int] = []

    async def poll(self, ts_ms: int | None = None) -> None:
        assert ts_ms is not None
        self.stamps.append(ts_ms)

    async def close(self) -> None:
        pass

    def retire(self) -> None:
        pass


def test_polls_are_stamped_on_their_target_s_grid_and_counted() -> None:
    from monitor.fleet import Fleet
    from monitor.scheduler import PollScheduler, slot_offset_s

    pollers = [_RecordingPoller(f"redis://10.0.0.{i}:6379") for i in range(12)]

    async def run() -> PollScheduler:
        fleet = Fleet([], lambda target: [])
        for poller in pollers:
            fleet.pollers[poller.target.key] = poller  # type: ignore[assignment]
        slots: list[tuple[int, int]] = []
        scheduler = PollScheduler(fleet, on_slot=lambda due, late: slots.append((due, late)))
        await scheduler.start()
        deadline = time.monotonic() + 20
        while min(len(p.stamps) for p in pollers) < 4:
            assert time.monotonic() < deadline, "the grid never fired"
            await asyncio.sleep(0.05)
        await scheduler.stop()
        assert sum(due for due, _ in slots) == scheduler.polls_due
        return scheduler

    scheduler = asyncio.run(run())
    assert scheduler.polls_due >= 12 * 3
    for poller in pollers:
        offset_ms = round(slot_offset_s(poller.target.instance, 0.5) * 1000)
        # every stamp is a slot of this target's grid, each slot once, in order
        assert all((ts - offset_ms) % 500 == 0 for ts in poller.stamps), poller.stamps
        assert poller.stamps == sorted(set(poller.stamps))


def test_a_removed_target_leaves_nothing_behind_in_the_scheduler() -> None:
    """Targets come and go (cluster failovers, config reloads): the scheduler's per-target
    state must go with them, or a long-running process grows with every churn."""
    from monitor.fleet import Fleet, FleetChange
    from monitor.scheduler import PollScheduler

    pollers = [_RecordingPoller(f"redis://10.0.1.{i}:6379") for i in range(4)]

    async def run() -> PollScheduler:
        fleet = Fleet([], lambda target: [])
        for poller in pollers:
            fleet.pollers[poller.target.key] = poller  # type: ignore[assignment]
        scheduler = PollScheduler(fleet)
        await scheduler.start()
        deadline = time.monotonic() + 20
        while min(len(p.stamps) for p in pollers) < 2:
            assert time.monotonic() < deadline, "the grid never fired"
            await asyncio.sleep(0.05)
        gone = pollers[:2]
        for poller in gone:
            del fleet.pollers[poller.target.key]
        await scheduler.apply(FleetChange(removed=gone))  # type: ignore[arg-type]
        polled = [len(p.stamps) for p in gone]
        stayed = [len(p.stamps) for p in pollers[2:]]
        while min(len(p.stamps) - n for p, n in zip(pollers[2:], stayed, strict=True)) < 2:
            assert time.monotonic() < deadline, "the grid stopped"
            await asyncio.sleep(0.05)
        await scheduler.stop()
        assert [len(p.stamps) for p in gone] == polled  # not polled after removal
        return scheduler

    scheduler = asyncio.run(run())
    assert set(scheduler._last_slot_ms) == {p.target.key for p in pollers[2:]}
    assert set(scheduler._group_of) == {p.target.key for p in pollers[2:]}
