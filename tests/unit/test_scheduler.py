from __future__ import annotations

import itertools

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
