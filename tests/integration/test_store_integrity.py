"""The store protects history (issue 13, case 6), on real files: flipped bits and truncated
blocks never give a wrong value and never stall compaction or retention; a deleted or
replaced LOCK lets no second writer in; read-only opens change nothing; a full disk loses
nothing and the store says so."""

from __future__ import annotations

import hashlib
import logging
import os
import random
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from monitor.model import Matcher, SampleBatch
from monitor.store import EmbeddedStore, RollupTier, StoreConfig, StoreLockedError
from monitor.store.api import StoreCorruptionError
from monitor.store.wal import WalWriter

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 600_000
CONFIG = StoreConfig(
    chunk_duration_ms=60_000,
    block_duration_ms=120_000,
    raw_compact_to_ms=240_000,
    raw_retention_ms=900_000,
    tiers=(RollupTier("10s", 10_000, 1_200_000, 240_000),),
)
SERIES = [f"m{k}" for k in range(6)]


def value_of(name: str, i: int, instance: int) -> float:
    return float(i * (int(name[1:]) + 1) + instance * 1000) + 0.25


def fill(store: EmbeddedStore, start: int, stop: int, instances: int = 3) -> None:
    for i in range(start, stop):
        for instance in range(instances):
            batch = SampleBatch(T0 + i * 1000, (("instance", f"t{instance}"),))
            for name in SERIES:
                batch.add(name, value_of(name, i, instance))
            store.append(batch)
        store.maintain(T0 + i * 1000)


def everything(store: EmbeddedStore) -> dict[tuple[str, str], dict[int, float]]:
    found = store.select([Matcher("__name__", "=~", "m.*")], T0, T0 + 10**9)
    return {
        (s.labels["__name__"], s.labels["instance"]): dict(
            zip(s.ts.tolist(), s.values.tolist(), strict=True)
        )
        for s in found
    }


def assert_no_wrong_value(found: dict[tuple[str, str], dict[int, float]]) -> None:
    for (name, instance), samples in found.items():
        for ts, value in samples.items():
            i = (ts - T0) // 1000
            assert value == value_of(name, i, int(instance[1:])), (name, instance, ts)


def snapshot(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def written(tmp_path: Path) -> Path:
    """A closed store with raw and 10 s blocks, some compacted, and a WAL."""
    store = EmbeddedStore.open(tmp_path / "s", CONFIG)
    fill(store, 0, 620)
    store.close()
    assert len(list((tmp_path / "s" / "raw").glob("*.blk"))) >= 2
    return tmp_path / "s"


def test_every_flipped_bit_is_caught_never_a_wrong_value(written: Path) -> None:
    """Flip one bit at a time at random places of every block; each read either returns the
    true values or fails naming the block, which is then set aside."""
    rng = random.Random(13)
    blocks = sorted((written / "raw").glob("*.blk"))
    pristine = {b: b.read_bytes() for b in blocks}
    caught = 0
    for trial in range(24):
        block = blocks[trial % len(blocks)]
        data = bytearray(pristine[block])
        position = rng.randrange(8, len(data) - 8)
        data[position] ^= 1 << rng.randrange(8)
        block.write_bytes(bytes(data))
        store = EmbeddedStore.open(written, CONFIG, read_only=True)
        try:
            try:
                found = everything(store)
            except StoreCorruptionError as exc:
                assert block.name in str(exc)
                caught += 1
            else:
                assert_no_wrong_value(found)
        finally:
            store.close()
        block.write_bytes(pristine[block])
    assert caught >= 12  # most flips land in data; the rest in the index, caught at open


def test_a_damaged_block_is_set_aside_and_the_writer_carries_on(
    written: Path, caplog: pytest.LogCaptureFixture
) -> None:
    raw = sorted((written / "raw").glob("*.blk"))
    victim = raw[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 3] ^= 0x10  # in the data, not the index: found when read
    victim.write_bytes(bytes(data))
    store = EmbeddedStore.open(written, CONFIG)
    try:
        with caplog.at_level(logging.ERROR), pytest.raises(StoreCorruptionError):
            everything(store)
        assert (written / "corrupt" / "raw" / victim.name).exists()
        assert not victim.exists()
        assert len([r for r in caplog.records if victim.name in r.getMessage()]) == 1  # one line
        found = everything(store)  # the rest is read as before
        assert_no_wrong_value(found)
        assert found  # and still there
        # compaction and retention go on: past the raw retention every old block goes
        fill(store, 620, 2100)
        assert store.health().ok
        oldest = min(int(p.name.split("-")[0]) for p in (written / "raw").glob("*.blk"))
        assert oldest >= T0 + 2100_000 - CONFIG.raw_retention_ms - CONFIG.raw_compact_to_ms
        assert not (written / "corrupt" / "raw" / victim.name).exists()  # its retention passed
    finally:
        store.close()


def test_truncated_blocks_are_set_aside_at_open(written: Path) -> None:
    blocks = sorted((written / "raw").glob("*.blk")) + sorted((written / "10s").glob("*.blk"))
    for block in blocks[:2]:
        block.write_bytes(block.read_bytes()[: len(block.read_bytes()) // 2])
    store = EmbeddedStore.open(written, CONFIG)
    try:
        assert_no_wrong_value(everything(store))
        assert {p.name for p in (written / "corrupt").rglob("*.blk")} == {
            b.name for b in blocks[:2]
        }
        fill(store, 620, 900)  # maintenance goes on
        assert store.health().ok
    finally:
        store.close()


def test_a_deleted_lock_lets_no_second_writer_in(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path / "s", CONFIG)
    try:
        fill(store, 0, 100)
        (tmp_path / "s" / "LOCK").unlink()
        with pytest.raises(StoreLockedError):
            EmbeddedStore.open(tmp_path / "s", CONFIG)
        fill(store, 100, 200)  # the writer notices, recreates LOCK and carries on
        assert (tmp_path / "s" / "LOCK").read_text() == str(os.getpid())
        assert store.health().ok
        with pytest.raises(StoreLockedError):
            EmbeddedStore.open(tmp_path / "s", CONFIG)
    finally:
        store.close()
    reopened = EmbeddedStore.open(tmp_path / "s", CONFIG)
    try:
        series = everything(reopened)
        assert all(len(samples) == 200 for samples in series.values())
    finally:
        reopened.close()


def test_a_replaced_lock_stops_the_writer(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Another file in LOCK's place means another process writes here (an older version that
    only locks the file): the writer stops, instead of both destroying each other's data."""
    store = EmbeddedStore.open(tmp_path / "s", CONFIG)
    try:
        fill(store, 0, 50)
        (tmp_path / "s" / "LOCK").unlink()
        (tmp_path / "s" / "LOCK").write_text("99999")
        with caplog.at_level(logging.ERROR):
            fill(store, 50, 60)
        health = store.health()
        assert health.fenced and not health.ok
        assert "stopped writing" in caplog.text
        wal_sizes = {p: p.stat().st_size for p in (tmp_path / "s" / "wal").glob("*.wal")}
        fill(store, 60, 70)  # appends are dropped, nothing is written any more
        assert {p: p.stat().st_size for p in (tmp_path / "s" / "wal").glob("*.wal")} == wal_sizes
    finally:
        store.close()


def test_read_only_opens_change_no_byte(written: Path) -> None:
    (wal,) = (written / "wal").glob("*.wal")
    with open(wal, "ab") as out:
        out.write(b"\x40\x00\x00\x00\x01\x02\x03\x04torn frame")  # a writer killed mid-frame
    blocks = sorted((written / "raw").glob("*.blk"))
    blocks[-1].write_bytes(blocks[-1].read_bytes()[:100])  # and a damaged block
    before = snapshot(written)
    reader = EmbeddedStore.open(written, CONFIG, read_only=True)
    try:
        assert_no_wrong_value(everything(reader))
        reader.stats()
        reader.events()
    finally:
        reader.close()
    assert snapshot(written) == before


def test_wal_flush_on_a_failing_disk_keeps_frames_and_never_tears_the_log(
    tmp_path: Path,
) -> None:
    """A write that fails half-way is cut back, and the frames are written by a later flush:
    replay then sees every record, in order."""
    path = tmp_path / "x.wal"
    wal = WalWriter(path)
    wal.add(b"R-first")
    wal.flush()
    good = path.stat().st_size
    wal.add(b"R-second")
    fd = wal._fd
    assert fd is not None
    read_only = os.open(path, os.O_RDONLY)
    wal._fd = read_only  # writes fail (EBADF) as they would on a full disk (ENOSPC)
    with pytest.raises(OSError):
        wal.flush()
    wal._fd = fd
    assert path.stat().st_size == good and wal.unwritten_frames == 1
    wal.add(b"R-third")
    wal.flush()
    wal.close()
    os.close(read_only)
    assert wal.unwritten_frames == 0
    data, at, payloads = path.read_bytes(), 0, []
    while at < len(data):
        length, crc = struct.unpack_from("<II", data, at)
        payload = data[at + 8 : at + 8 + length]
        assert zlib.crc32(payload) == crc
        payloads.append(zlib.decompress(payload))
        at += 8 + length
    assert payloads == [b"R-first", b"R-second", b"R-third"]


def test_a_full_disk_loses_nothing_and_says_so_once(
    small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = EmbeddedStore.open(small_disk / "s", CONFIG)
    filler = small_disk / "filler"
    try:
        fill(store, 0, 200)
        with open(filler, "wb") as out:  # take every byte that is left
            chunk = b"\0" * 65536
            try:
                while True:
                    out.write(chunk)
                    out.flush()
            except OSError:
                pass
        with caplog.at_level(logging.WARNING, logger="monitor.store"):
            fill(store, 200, 600)  # flushes and block cuts fail: data stays in memory
            health = store.health()
            assert not health.ok and health.write_errors > 1
            assert "No space left" in (health.failing or "")
            assert caplog.text.count("retrying every second") == 1  # once, not every second
            assert_no_wrong_value(everything(store))
            assert all(len(s) == 600 for s in everything(store).values())
            filler.unlink()  # space again
            fill(store, 600, 700)
            assert store.health().ok
            assert caplog.text.count("writing works again") == 1
    finally:
        store.close()
        filler.unlink(missing_ok=True)
    copy = small_disk.parent / "copy"
    shutil.copytree(small_disk / "s", copy)
    reopened = EmbeddedStore.open(copy, CONFIG)
    try:
        series = everything(reopened)
        assert_no_wrong_value(series)
        assert all(len(s) == 700 for s in series.values())  # nothing lost, full disk or not
        assert np.all(np.diff(sorted(next(iter(series.values())))) == 1000)
    finally:
        reopened.close()


def test_a_store_written_by_the_previous_format_opens_and_is_rewritten(tmp_path: Path) -> None:
    """`data/store_v1` was written by cachewatch before block checksums (`CWBLK001`
    blocks, its WAL and events): it opens, every value reads back, and compaction rewrites
    what it merges in the current format."""
    store_dir = tmp_path / "s"
    shutil.copytree(Path(__file__).parent / "data" / "store_v1", store_dir)
    assert all(p.read_bytes()[:8] == b"CWBLK001" for p in store_dir.rglob("*.blk"))
    store = EmbeddedStore.open(store_dir, CONFIG)
    try:
        (m0,) = store.select(
            [Matcher("__name__", "=", "m_total"), Matcher("instance", "=", "t0")], T0, T0 + 10**6
        )
        assert m0.values.tolist() == [float(i * 3) for i in range(400)]
        assert [e.kind for e in store.events()] == ["slowlog"]
        for i in range(400, 900):
            batch = SampleBatch(T0 + i * 1000, (("instance", "t0"),))
            batch.add("m_total", float(i * 3))
            store.append(batch)
            store.maintain(T0 + i * 1000)
        (m0,) = store.select(
            [Matcher("__name__", "=", "m_total"), Matcher("instance", "=", "t0")], T0, T0 + 10**6
        )
        assert m0.values.tolist() == [float(i * 3) for i in range(900)]
    finally:
        store.close()
    magics = [p.read_bytes()[:8] for p in sorted(store_dir.rglob("*.blk"))]
    assert magics.count(b"CWBLK002") > magics.count(b"CWBLK001")
