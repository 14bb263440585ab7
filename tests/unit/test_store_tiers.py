"""Rollup tiers on disk: leveled compaction, raw blocks standing in for an identical rollup,
and what queries, retention, corruption and read-only opens see of both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monitor.model import Matcher, SampleBatch
from monitor.store import EmbeddedStore, RollupTier, StoreConfig
from monitor.store.api import StoreCorruptionError
from monitor.store.blockfile import BlockReader

#: aligned to every span below, so windows start where the data does
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 3_840_000
TIERS = (
    RollupTier("10s", 10_000, 3_600_000, 480_000),
    RollupTier("1m", 60_000, 7_200_000, 960_000),
)
#: blocks of 2 min, raw files of 4 min; rollups through 4 and 8 min files (10 s) and 4, 8
#: and 16 min files (1 min)
SMALL = StoreConfig(
    chunk_duration_ms=60_000,
    block_duration_ms=120_000,
    raw_compact_to_ms=240_000,
    raw_retention_ms=1_500_000,
    tiers=TIERS,
)
#: the same, but rollup blocks are never merged (what every rollup query is compared with)
UNMERGED = StoreConfig(
    chunk_duration_ms=60_000,
    block_duration_ms=120_000,
    raw_compact_to_ms=240_000,
    raw_retention_ms=1_500_000,
    tiers=tuple(RollupTier(t.name, t.resolution_ms, t.retention_ms, 120_000) for t in TIERS),
)
EVERYTHING = [Matcher("instance", "=", "a")]


def _feed(store: EmbeddedStore, start_s: int, end_s: int, every_s: int) -> dict[int, float]:
    """Poll one target from `start_s` to before `end_s`; returns the gauge as fed."""
    fed = {}
    for second in range(start_s, end_s, every_s):
        ts = T0 + second * 1000
        batch = SampleBatch(ts, (("instance", "a"),))
        batch.add("ops_total", float(second * 7 if second < 500 else (second - 500) * 3))
        batch.add("mem", float(second % 17))
        batch.add("up", 1.0)
        fed[ts] = float(second % 17)
        store.append(batch)
        store.maintain(ts)
    return fed


def _advance(store: EmbeddedStore, now: int) -> None:
    """Maintenance at `now` with a block to cut (retention runs after a cut): a sample of
    another target, which no query here reads, far enough back."""
    batch = SampleBatch(now - 200_000, (("instance", "b"),))
    batch.add("up", 1.0)
    store.append(batch)
    store.maintain(now)


def _files(path: Path, tier: str) -> list[tuple[int, int]]:
    """The tier's block windows (from T0) of target a's time."""
    windows = (
        (int(f.stem.split("-")[0]) - T0, int(f.stem.split("-")[1]) - T0)
        for f in sorted((path / tier).glob("*.blk"))
    )
    return [w for w in windows if w[1] <= 1_200_000]


def _read(store: EmbeddedStore, start_ms: int = T0) -> dict[str, tuple[list[int], list[float]]]:
    return {
        s.labels["__name__"]: (s.ts.tolist(), s.values.tolist())
        for s in store.select(EVERYTHING, start_ms, T0 + 10_000_000)
    }


def test_rollups_are_merged_level_by_level_as_soon_as_each_window_is_over(
    tmp_path: Path,
) -> None:
    store = EmbeddedStore.open(tmp_path / "s", SMALL)
    _feed(store, 0, 1200, 1)
    store.close()
    # cut up to 1080 s: every 4-minute window before 960 s is over, and so are the 8- and
    # 16-minute ones; the last block waits for its window
    assert _files(tmp_path / "s", "raw") == [
        (0, 240_000),
        (240_000, 480_000),
        (480_000, 720_000),
        (720_000, 960_000),
        (960_000, 1_080_000),
    ]
    assert _files(tmp_path / "s", "10s") == [
        (0, 480_000),
        (480_000, 960_000),
        (960_000, 1_080_000),
    ]
    assert _files(tmp_path / "s", "1m") == [(0, 960_000), (960_000, 1_080_000)]


def test_queries_over_merged_rollups_equal_those_over_unmerged_ones(tmp_path: Path) -> None:
    answers = []
    for name, config in (("merged", SMALL), ("unmerged", UNMERGED)):
        store = EmbeddedStore.open(tmp_path / name, config)
        _feed(store, 0, 1200, 1)
        store.maintain(T0 + 2_650_000)  # raw retention passes: reads come from 10 s
        from_10s = _read(store)
        assert len(from_10s["mem"][0]) < 200
        _advance(store, T0 + 4_900_000)  # and 10 s retention: reads come from 1 min
        from_1m = _read(store)
        assert len(from_1m["mem"][0]) < 40
        assert _files(tmp_path / name, "raw") == []
        assert _files(tmp_path / name, "10s") == []  # retention still goes by tier
        assert _files(tmp_path / name, "1m")
        _advance(store, T0 + 8_500_000)
        assert _files(tmp_path / name, "1m") == []
        store.close()
        answers.append((from_10s, from_1m))
    assert answers[0] == answers[1]
    for ts, ops in (answers[0][0]["ops_total"], answers[0][1]["ops_total"]):
        # the counter's increase over the rollup is the raw increase (reset at 500 s kept)
        steps = np.diff(ops)
        increase = np.where(steps >= 0, steps, np.array(ops[1:])).sum()
        assert increase + ops[0] == 499 * 7 + 699 * 3
        assert ts[-1] == T0 + 1_199_000


def test_a_raw_block_stands_in_for_a_rollup_it_equals_until_raw_retention(
    tmp_path: Path,
) -> None:
    """Polled every 10 s, the 10 s rollup is the raw data: no second copy is written while
    the raw blocks exist; when raw retention drops them, the tier gets theirs."""
    store = EmbeddedStore.open(tmp_path / "s", SMALL)
    fed = _feed(store, 0, 1200, 10)
    assert _files(tmp_path / "s", "10s") == []
    assert _files(tmp_path / "s", "1m")  # not equal to raw at 10 s: written as always
    raw = [BlockReader(f, lambda key: 0) for f in sorted((tmp_path / "s" / "raw").glob("*.blk"))]
    assert [b.stands_in for b in raw] == [("10s",)] * len(raw)
    for reader in raw:
        reader.close()
    before = _read(store, T0 - 3_600_000)
    reader = EmbeddedStore.open(tmp_path / "s", SMALL, read_only=True)
    assert _read(reader, T0 - 3_600_000) == before
    reader.close()
    store.maintain(T0 + 2_650_000)  # raw retention passes: the 10 s tier gets copies
    # (the last window was cut and its raw file merged first: 960-1200 s stays)
    assert _files(tmp_path / "s", "raw") == [(960_000, 1_200_000)]
    copies = [(0, 240_000), (240_000, 480_000), (480_000, 720_000), (720_000, 960_000)]
    assert _files(tmp_path / "s", "10s") == copies
    assert _read(store) == before
    _advance(store, T0 + 3_000_000)  # which are merged like the tier's own blocks
    merged = [(0, 480_000), (480_000, 960_000), (960_000, 1_200_000)]
    assert _files(tmp_path / "s", "10s") == merged
    after = _read(store)
    assert after["mem"] == (list(fed), list(fed.values()))  # every sample, read from 10 s
    assert after == before
    store.close()
    reopened = EmbeddedStore.open(tmp_path / "s", SMALL)
    assert _read(reopened) == before
    reopened.close()


def test_polled_every_minute_a_block_stands_in_for_both_tiers_in_turn(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path / "s", SMALL)
    fed = _feed(store, 0, 1200, 60)
    assert _files(tmp_path / "s", "10s") == _files(tmp_path / "s", "1m") == []
    store.maintain(T0 + 2_650_000)  # raw retention: the 10 s tier's copy stands in for 1 m
    assert _files(tmp_path / "s", "10s") and _files(tmp_path / "s", "1m") == []
    assert _read(store)["mem"] == (list(fed), list(fed.values()))
    _advance(store, T0 + 4_900_000)  # 10 s retention: 1 m gets its copy
    assert _files(tmp_path / "s", "10s") == [] and _files(tmp_path / "s", "1m")
    assert _read(store)["mem"] == (list(fed), list(fed.values()))
    store.close()


def test_a_window_that_differs_from_its_rollup_ends_the_standing_in(tmp_path: Path) -> None:
    """10 s polls, then 1 s polls in the same 4-minute raw window: the merged raw file
    cannot stand in for the 10 s tier, so its 10 s-polled part is copied there first."""
    store = EmbeddedStore.open(tmp_path / "s", SMALL)
    fed = _feed(store, 0, 360, 10)
    fed.update(_feed(store, 360, 720, 1))
    store.maintain(T0 + 900_000)
    # 0-240 s stands in; 240-360 s was copied to 10 s when merged with 360-480 s
    assert _files(tmp_path / "s", "10s") == [(240_000, 480_000), (480_000, 720_000)]
    _advance(store, T0 + 2_300_000)  # raw retention passes
    assert _files(tmp_path / "s", "raw") == []
    kept = {ts: v for ts, v in fed.items() if ts < T0 + 360_000 or (ts - T0) % 10_000 == 9_000}
    assert _read(store)["mem"] == (list(kept), list(kept.values()))
    store.close()


def test_a_damaged_raw_block_that_stands_in_leaves_every_tier(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path / "s", SMALL)
    _feed(store, 0, 1200, 10)
    first = sorted((tmp_path / "s" / "raw").glob("*.blk"))[0]
    data = bytearray(first.read_bytes())
    data[20] ^= 0xFF  # the first segment's timestamps
    first.write_bytes(bytes(data))
    with pytest.raises(StoreCorruptionError, match=first.name):
        _read(store)
    assert (tmp_path / "s" / "corrupt" / "raw" / first.name).exists()
    assert _read(store, T0 + 240_000)["mem"][0][0] == T0 + 240_000  # the rest still reads
    store.maintain(T0 + 2_650_000)  # and is handed down; the damaged block is not
    assert _files(tmp_path / "s", "10s") == [
        (240_000, 480_000),
        (480_000, 720_000),
        (720_000, 960_000),
    ]
    assert _read(store, T0 + 240_000)["mem"][0][0] == T0 + 240_000
    store.close()


def test_default_rollups_go_through_every_shorter_span_that_divides_their_own() -> None:
    hour = 3_600_000
    config = StoreConfig()
    assert config.compact_levels() == (2 * hour,)
    assert [config.compact_levels(t) for t in config.tiers] == [
        (2 * hour, 12 * hour),
        (2 * hour, 12 * hour, 48 * hour),
    ]


def test_a_stand_in_whose_copy_cannot_be_written_outlives_raw_retention(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path / "s", SMALL)
    fed = _feed(store, 0, 1200, 10)
    tier_dir = tmp_path / "s" / "10s"
    tier_dir.rmdir()
    tier_dir.write_bytes(b"")  # writing a copy there fails, as on a full disk
    store.maintain(T0 + 2_650_000)
    assert store.health().write_errors >= 1
    assert _files(tmp_path / "s", "raw")[0] == (0, 240_000)  # kept past raw retention
    assert _read(store)["mem"] == (list(fed), list(fed.values()))
    tier_dir.unlink()
    tier_dir.mkdir()
    _advance(store, T0 + 3_000_000)  # the disk works again: copied, then dropped
    assert _files(tmp_path / "s", "raw") == []
    assert _files(tmp_path / "s", "10s")
    assert _read(store)["mem"] == (list(fed), list(fed.values()))
    store.close()
