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

    with caplog.at_level(logging.DEBUG, logger="apscheduler"):
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
