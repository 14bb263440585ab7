"""Where the head ends a target's segment: at its block window's end, or at a chunk boundary
once another chunk would take it past `segment_rows`. The data reads back the same from
the head, after a WAL replay and from blocks, whatever the segments' lengths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monitor.model import Matcher, SampleBatch
from monitor.store import EmbeddedStore, StoreConfig
from monitor.store.blockfile import BlockReader, CorruptBlockError
from monitor.store.merge import read_block_parts
from monitor.store.segment import EncodedSegment
from monitor.store.series_index import SeriesIndex
from monitor.store.wal import replay_wal

CONFIG = StoreConfig()  # 2-minute chunks, 10-minute blocks, 120-row segments
T0 = 1_700_006_400_000  # a multiple of 2 h
BLOCK = CONFIG.block_duration_ms


def _batch(ts: int, instance: str, i: int) -> SampleBatch:
    batch = SampleBatch(ts, (("instance", instance),))
    batch.add("up", 1.0)
    batch.add("ops_total", float(i * 7))
    batch.add("ratio", round(1 + (i % 13) / 100, 2))
    return batch


def _poll(store: EmbeddedStore, instance: str, interval_s: int, start_s: int, end_s: int) -> None:
    """Polls every `interval_s` in [start_s, end_s), calling `maintain` every second."""
    for second in range(start_s, end_s):
        if second % interval_s == 0:
            store.append(_batch(T0 + second * 1000, instance, second // interval_s))
        store.maintain(T0 + second * 1000 + 999)


def _expected(interval_s: int, end_s: int) -> dict[str, tuple[list[int], list[float]]]:
    polls = range(0, end_s, interval_s)
    return {
        "up": ([s * 1000 for s in polls], [1.0] * len(polls)),
        "ops_total": ([s * 1000 for s in polls], [float(s // interval_s * 7) for s in polls]),
        "ratio": (
            [s * 1000 for s in polls],
            [round(1 + (s // interval_s % 13) / 100, 2) for s in polls],
        ),
    }


def _read(store: EmbeddedStore, instance: str) -> dict[str, tuple[list[int], list[float]]]:
    out = {}
    for data in store.select([Matcher("instance", "=", instance)], T0, T0 + 10**9):
        out[data.labels["__name__"]] = ((data.ts - T0).tolist(), data.values.tolist())
    return out


def _rows_of_segments(store: EmbeddedStore, instance: str) -> list[int]:
    state = next(s for s in store._head.by_tid if dict(s.labels)["instance"] == instance)
    closed = [s.rows if isinstance(s, EncodedSegment) else s.ts.size for s in state.closed]
    return closed + ([state.segment.rows] if state.segment is not None else [])


def test_a_target_polled_every_10s_keeps_one_segment_per_block(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path, CONFIG)
    try:
        _poll(store, "slow", 10, 0, 9 * 60)
        assert _rows_of_segments(store, "slow") == [54]
        _poll(store, "slow", 10, 9 * 60, 11 * 60)
        assert _rows_of_segments(store, "slow") == [60, 6]  # the window's end closed it
        assert _read(store, "slow") == _expected(10, 11 * 60)
    finally:
        store.close()


def test_a_target_polled_every_second_gets_2_minute_segments(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path, CONFIG)
    try:
        _poll(store, "fast", 1, 0, 5 * 60 + 30)
        assert _rows_of_segments(store, "fast") == [120, 120, 90]
        assert _read(store, "fast") == _expected(1, 5 * 60 + 30)
    finally:
        store.close()


def test_a_target_polled_every_2s_gets_segments_of_at_most_120_rows(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path, CONFIG)
    try:
        _poll(store, "mid", 2, 0, 10 * 60)
        assert _rows_of_segments(store, "mid") == [120, 120, 60]
    finally:
        store.close()


def test_segments_split_by_the_new_rule_survive_wal_replay(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path, CONFIG)
    _poll(store, "slow", 10, 0, 7 * 60)
    _poll(store, "fast", 1, 0, 7 * 60)
    before = {name: _rows_of_segments(store, name) for name in ("slow", "fast")}
    store.close()

    store = EmbeddedStore.open(tmp_path, CONFIG)  # the head rebuilt from the WAL
    try:
        assert {name: _rows_of_segments(store, name) for name in ("slow", "fast")} == before
        assert _read(store, "slow") == _expected(10, 7 * 60)
        assert _read(store, "fast") == _expected(1, 7 * 60)
        # appending after the replay continues the replayed open segment
        _poll(store, "slow", 10, 7 * 60, 9 * 60)
        assert _rows_of_segments(store, "slow") == [54]
    finally:
        store.close()


def test_reads_span_the_head_blocks_and_rollups_of_long_segments(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path, CONFIG)
    end_s = 2 * 3600 + 15 * 60  # twelve block cuts and a 2-hour raw compaction
    try:
        _poll(store, "slow", 10, 0, end_s)
        raw = sorted((tmp_path / "raw").glob("*.blk"))
        assert raw[0].name.endswith(f"{T0 + 2 * 3600 * 1000:015d}.blk"), "compacted to 2 h"
        assert _read(store, "slow") == _expected(10, end_s)
        # the 1 min rollup of a target polled every 10 s: a block of it was written from
        # the segment's rollup encoded when the segment closed
        tier = sorted((tmp_path / "1m").glob("*.blk"))
        reader = BlockReader(tier[-1], store._index.intern)
        try:
            (part, *more) = read_block_parts(reader)
            gids, ts, matrix = part.gids, part.ts, part.matrix()
        finally:
            reader.close()
        assert not more
        assert ts.size == BLOCK // 60_000 and np.all(np.diff(ts) == 60_000)
        assert matrix.shape == (ts.size, gids.size) and not np.isnan(matrix).any()
    finally:
        store.close()
    store = EmbeddedStore.open(tmp_path, CONFIG)
    try:
        assert _read(store, "slow") == _expected(10, end_s)
    finally:
        store.close()


def test_the_log_after_a_block_cut_defines_each_series_once(tmp_path: Path) -> None:
    """The rotated log's snapshot defines the head's series; segments opened after it
    (a new block window for a 10 s target) do not log them again."""
    store = EmbeddedStore.open(tmp_path, CONFIG)
    # the first window is cut (and the log rotated) at 12 min; the third window's segment
    # opens at 20 min
    _poll(store, "slow", 10, 0, 21 * 60)
    store.close()
    (log,) = (tmp_path / "wal").glob("*.wal")
    defined = [record[1] for record in replay_wal(log, repair=False) if record[0] == "series"]
    assert len(defined) == len(set(defined)) == 3
    store = EmbeddedStore.open(tmp_path, CONFIG)
    try:
        assert _read(store, "slow") == _expected(10, 21 * 60)
    finally:
        store.close()


def test_rollups_of_a_whole_block_segment_wait_encoded_the_others_as_rows(
    tmp_path: Path,
) -> None:
    store = EmbeddedStore.open(tmp_path, CONFIG)
    try:
        _poll(store, "slow", 10, 0, 10 * 60 + 30)  # its first window's segment has ended
        _poll(store, "fast", 1, 10 * 60 + 30, 11 * 60)
        waiting = store._head.rollups
        assert {key[0] for key in waiting} == {"10s", "1m"}
        for (tier, block), parts in waiting.items():
            assert block == T0
            (part,) = parts
            assert isinstance(part, EncodedSegment), tier
            assert part.rows == (60 if tier == "10s" else 10)
            if tier == "10s":  # every sample kept: the rollup is the raw segment itself
                assert part is store._head.closed_by_block[T0][0]
        # the fast target's first segment ends at 12:00, by the row rule; the first window
        # is cut then too
        _poll(store, "fast", 1, 11 * 60, 12 * 60 + 30)
        later = [p for parts in store._head.rollups.values() for p in parts]
        assert later and all(isinstance(p, tuple) for p in later)
        _poll(store, "slow", 10, 10 * 60 + 30, 13 * 60)
        assert _read(store, "slow") == _expected(10, 13 * 60)
        # the raw block stands in for a 10 s rollup that kept every sample
        (raw,) = store._blocks.readers("raw")
        assert raw.stands_in == ("10s",) and list((tmp_path / "1m").glob("*.blk"))
    finally:
        store.close()


def test_a_block_opened_from_its_writers_index_is_the_block_read_from_disk(
    tmp_path: Path,
) -> None:
    store = EmbeddedStore.open(tmp_path, CONFIG)
    try:
        _poll(store, "slow", 10, 0, 13 * 60)
        _poll(store, "fast", 1, 5 * 60, 13 * 60)
        for tier in ("raw", "10s", "1m"):
            (written,) = store._blocks.readers(tier)
            read = BlockReader(written.path, store._index.intern)
            try:
                assert (read.tier, read.start_ms, read.end_ms, read.samples, read.nbytes) == (
                    written.tier,
                    written.start_ms,
                    written.end_ms,
                    written.samples,
                    written.nbytes,
                )
                assert read.segments == written.segments
                for name in ("_gids", "_seg", "_offset", "_length", "_crc", "series_ids"):
                    assert np.array_equal(getattr(read, name), getattr(written, name)), name
            finally:
                read.close()
    finally:
        store.close()


def test_compaction_reads_a_segment_at_once_and_still_checks_every_column(
    tmp_path: Path,
) -> None:
    store = EmbeddedStore.open(tmp_path, CONFIG)
    try:
        _poll(store, "fast", 1, 5 * 60, 10 * 60)
        _poll(store, "slow", 10, 0, 13 * 60)  # the first window is cut at 12:00
    finally:
        store.close()
    (block,) = (tmp_path / "raw").glob("*.blk")
    pristine = block.read_bytes()
    index = SeriesIndex()
    reader = BlockReader(block, index.intern)
    try:
        parts = read_block_parts(reader)
        # the fast target's two segments (180 and 120 rows) were merged at the cut
        assert sorted(part.ts.size for part in parts) == [60, 300]
        # a bit flipped in the last column of the last segment: one read of the segment,
        # the damage still found by that column's checksum
        last = int(np.argmax(reader._offset))
        at = int(reader._offset[last] + reader._length[last] - 1)
    finally:
        reader.close()
    damaged = bytearray(pristine)
    damaged[at] ^= 0x01
    block.write_bytes(bytes(damaged))
    reader = BlockReader(block, index.intern)
    try:
        with pytest.raises(CorruptBlockError, match=f"{block.name}.*checksum mismatch"):
            read_block_parts(reader)
    finally:
        reader.close()
