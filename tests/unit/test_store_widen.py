"""Series that first appear mid-chunk widen the open segment; the data reads back the same
from the head, after a WAL replay, and from blocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from monitor.model import Matcher, SampleBatch
from monitor.store import EmbeddedStore, RollupTier, StoreConfig

CONFIG = StoreConfig(
    chunk_duration_ms=10_000,
    block_duration_ms=20_000,
    raw_compact_to_ms=40_000,
    tiers=(RollupTier("10s", 10_000, 86_400_000, 40_000),),
)
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 40_000


def _poll(i: int) -> SampleBatch:
    """`a` always; bucket `le=1` from poll 3; `le=2` from poll 5 (listed before `a`)."""
    batch = SampleBatch(T0 + i * 1000, (("instance", "r1"),))
    if i >= 5:
        batch.add("h_bucket", float(i * 2), (("le", "2"),))
    batch.add("a", float(i))
    if i >= 3:
        batch.add("h_bucket", float(i), (("le", "1"),))
    return batch


def _read(store: EmbeddedStore) -> dict[str, tuple[list[int], list[float]]]:
    out = {}
    for data in store.select([Matcher("instance", "=", "r1")], T0, T0 + 10**9):
        key = data.labels["__name__"] + data.labels.get("le", "")
        out[key] = (((data.ts - T0) // 1000).tolist(), data.values.tolist())
    return out


def _expected(polls: int) -> dict[str, tuple[list[int], list[float]]]:
    return {
        "a": (list(range(polls)), [float(i) for i in range(polls)]),
        "h_bucket1": (list(range(3, polls)), [float(i) for i in range(3, polls)]),
        "h_bucket2": (list(range(5, polls)), [float(i * 2) for i in range(5, polls)]),
    }


def test_new_series_mid_chunk_read_back_from_head_wal_and_blocks(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path, CONFIG)
    for i in range(8):
        store.append(_poll(i))
    assert _read(store) == _expected(8)
    store.close()

    store = EmbeddedStore.open(tmp_path, CONFIG)  # head rebuilt from the WAL
    assert _read(store) == _expected(8)
    for i in range(8, 45):
        store.append(_poll(i))
        store.maintain(T0 + i * 1000)
    assert list((tmp_path / "raw").glob("*.blk")), "a block should have been cut"
    assert _read(store) == _expected(45)
    store.close()

    store = EmbeddedStore.open(tmp_path, CONFIG)
    try:
        assert _read(store) == _expected(45)
        (bucket,) = store.select([Matcher("le", "=", "2")], T0, T0 + 10**9)
        assert np.all(np.diff(bucket.ts) == 1000)
    finally:
        store.close()
