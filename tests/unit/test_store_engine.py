"""EmbeddedStore behaviour: labels, matchers, staleness, tiers, retention, recovery."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np
import pytest

from monitor.model import STALE_NAN_BITS, Event, Matcher, MetricType, SampleBatch
from monitor.store import EmbeddedStore, RollupTier, StoreConfig
from monitor.store.series_index import MatcherError

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 600_000
SMALL = StoreConfig(
    chunk_duration_ms=60_000,
    block_duration_ms=120_000,
    raw_compact_to_ms=240_000,
    raw_retention_ms=600_000,
    tiers=(RollupTier("10s", 10_000, 1_200_000, 240_000),),
)


def _batch(ts: int, instance: str, **values: float) -> SampleBatch:
    batch = SampleBatch(ts, (("instance", instance),))
    for name, value in values.items():
        batch.add(name, value)
    return batch


def _is_stale(value: float) -> bool:
    return int(np.float64(value).view(np.uint64)) == STALE_NAN_BITS


def _name(metric: str) -> list[Matcher]:
    return [Matcher("__name__", "=", metric)]


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    opened = EmbeddedStore.open(tmp_path / "store", SMALL)
    yield opened
    opened.close()


def test_target_labels_win_over_sample_labels(store: EmbeddedStore) -> None:
    batch = SampleBatch(T0, (("instance", "a:1"),))
    batch.add("m", 1.0, (("instance", "sample"), ("cmd", "get")))
    store.append(batch)
    assert store.series(_name("m"), T0, T0) == [{"__name__": "m", "cmd": "get", "instance": "a:1"}]


def test_matchers_are_anchored_and_empty_matches_missing_label(store: EmbeddedStore) -> None:
    for instance in ("a:1", "ab:1", "b:1"):
        store.append(_batch(T0, instance, up=1.0))

    def instances(*matchers: Matcher) -> list[str]:
        return sorted(s["instance"] for s in store.series([*_name("up"), *matchers], T0, T0))

    assert instances(Matcher("instance", "=~", "a")) == []
    assert instances(Matcher("instance", "=~", "a.*")) == ["a:1", "ab:1"]
    assert instances(Matcher("instance", "!~", "a.*")) == ["b:1"]
    assert instances(Matcher("instance", "!=", "b:1")) == ["a:1", "ab:1"]
    assert instances(Matcher("job", "=", "")) == ["a:1", "ab:1", "b:1"]
    assert store.label_values("instance", _name("up"), T0, T0) == ["a:1", "ab:1", "b:1"]
    assert store.label_names(_name("up"), T0, T0) == ["__name__", "instance"]
    with pytest.raises(MatcherError, match="instance"):
        store.select([Matcher("instance", "=~", "(")], T0, T0)


def test_missing_series_gets_stale_marker_and_mark_stale_ends_target(store: EmbeddedStore) -> None:
    store.append(_batch(T0, "a", up=1.0, mem=5.0))
    store.append(_batch(T0 + 1000, "a", up=1.0))
    store.append(_batch(T0 + 2000, "a", up=1.0))
    (mem,) = store.select(_name("mem"), T0, T0 + 5000)
    assert mem.ts.tolist() == [T0, T0 + 1000]
    assert _is_stale(mem.values[1])
    store.mark_stale((("instance", "a"),), T0 + 3000)
    (up,) = store.select(_name("up"), T0, T0 + 5000)
    assert up.values[:3].tolist() == [1.0, 1.0, 1.0]
    assert _is_stale(up.values[3])


def test_data_survives_block_cut_compaction_and_reopen(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path / "s", SMALL)
    for i in range(600):
        store.append(_batch(T0 + i * 1000, "a", up=1.0, ops_total=i * 7.0, mem=i % 13 * 0.5))
        store.maintain(T0 + i * 1000)
    store.close()
    assert list((tmp_path / "s" / "raw").glob("*.blk"))
    reopened = EmbeddedStore.open(tmp_path / "s", SMALL)
    (ops,) = reopened.select(_name("ops_total"), T0, T0 + 600_000)
    assert ops.ts.tolist() == [T0 + i * 1000 for i in range(600)]
    assert ops.values.tolist() == [i * 7.0 for i in range(600)]
    assert reopened.stats().series == 3
    reopened.close()


def test_rollup_keeps_last_of_bucket_and_counter_resets(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path / "s", SMALL)
    counter = [float(i * 10) if i < 25 else float((i - 25) * 10) for i in range(600)]
    for i, value in enumerate(counter):
        store.append(_batch(T0 + i * 1000, "a", ops_total=value))
        store.maintain(T0 + i * 1000)
    store.maintain(T0 + 1_000_000)  # raw retention passes: reads come from the 10s tier
    (ops,) = store.select(_name("ops_total"), T0, T0 + 600_000)
    store.close()
    assert ops.ts.size < 100
    kept = dict(zip(ops.ts.tolist(), ops.values.tolist(), strict=True))
    assert kept[T0 + 9000] == 90.0
    assert kept[T0 + 24_000] == 240.0  # the sample before the reset survives
    assert np.all(np.diff(ops.ts) > 0)
    increases = np.diff(ops.values)
    total = np.where(increases >= 0, increases, ops.values[1:]).sum() + ops.values[0]
    raw_increase = sum(max(b - a, 0) if b >= a else b for a, b in itertools.pairwise(counter))
    assert total == raw_increase + counter[0]


def test_max_bytes_drops_oldest_blocks(tmp_path: Path) -> None:
    config = StoreConfig(
        chunk_duration_ms=60_000,
        block_duration_ms=120_000,
        raw_compact_to_ms=120_000,
        tiers=(),
        max_bytes=1,
    )
    store = EmbeddedStore.open(tmp_path / "s", config)
    for i in range(400):
        store.append(_batch(T0 + i * 1000, "a", x=float(i)))
        store.maintain(T0 + i * 1000)
    store.close()
    assert list((tmp_path / "s" / "raw").glob("*.blk")) == []


def test_events_and_metadata_persist(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path / "s", SMALL)
    store.register_metadata({"redis_up": (MetricType.GAUGE, "1 if reachable")})
    store.add_events(
        [
            Event(T0, "slowlog", (("instance", "a"),), {"cmd": "KEYS"}),
            Event(T0 + 5, "topology.failover", (), {}),
        ]
    )
    store.close()
    store = EmbeddedStore.open(tmp_path / "s", SMALL)
    assert store.metadata()["redis_up"] == (MetricType.GAUGE, "1 if reachable")
    assert [e.kind for e in store.events()] == ["topology.failover", "slowlog"]
    assert store.events("slow", (("instance", "a"),))[0].data == {"cmd": "KEYS"}
    store.close()


def test_corrupt_block_and_torn_wal_are_reported_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = EmbeddedStore.open(tmp_path / "s", SMALL)
    for i in range(300):
        store.append(_batch(T0 + i * 1000, "a", x=float(i)))
        store.maintain(T0 + i * 1000)
    store.close()
    blocks = sorted((tmp_path / "s" / "raw").glob("*.blk"))
    blocks[0].write_bytes(blocks[0].read_bytes()[:-30] + b"garbage" * 4 + b"xx")
    (wal,) = (tmp_path / "s" / "wal").glob("*.wal")
    with open(wal, "ab") as out:
        out.write(b"\x10\x00\x00\x00torn")
    with caplog.at_level(logging.WARNING):
        store = EmbeddedStore.open(tmp_path / "s", SMALL)
    assert str(blocks[0]) in caplog.text
    assert str(wal) in caplog.text and "truncating" in caplog.text
    (x,) = store.select(_name("x"), T0, T0 + 400_000)
    assert x.values[-1] == 299.0
    store.close()


def test_query_before_all_history_reads_raw_while_raw_covers_it(tmp_path: Path) -> None:
    """Rollups exist, but raw data still reaches back as far as they do: a window that starts
    before all history must get every raw sample, not the 10 s rollup."""
    store = EmbeddedStore.open(tmp_path / "s", SMALL)
    for i in range(400):
        store.append(_batch(T0 + i * 1000, "a", x=float(i)))
        store.maintain(T0 + i * 1000)
    assert list((tmp_path / "s" / "10s").glob("*.blk"))  # rollups were written
    (x,) = store.select(_name("x"), T0 - 3_600_000, T0 + 400_000)
    store.close()
    assert x.ts.size == 400
    assert np.all(np.diff(x.ts) == 1000)


def test_second_writer_is_refused_and_readers_see_the_writers_data(tmp_path: Path) -> None:
    from monitor.store import StoreLockedError

    writer = EmbeddedStore.open(tmp_path / "s", SMALL)
    for i in range(200):
        writer.append(_batch(T0 + i * 1000, "a", x=float(i)))
        writer.maintain(T0 + i * 1000)
    writer.add_events([Event(T0, "slowlog", (("instance", "a"),), {"id": 1})])
    writer.flush()
    with pytest.raises(StoreLockedError, match="in use by another cachewatch process"):
        EmbeddedStore.open(tmp_path / "s", SMALL)
    before = sorted(p.name for p in (tmp_path / "s").rglob("*"))
    reader = EmbeddedStore.open(tmp_path / "s", SMALL, read_only=True)
    try:
        (x,) = reader.select(_name("x"), T0, T0 + 200_000)
        assert x.ts.size == 200 and x.values[-1] == 199.0
        assert [e.kind for e in reader.events()] == ["slowlog"]
        with pytest.raises(PermissionError):
            reader.append(_batch(T0 + 500_000, "a", x=1.0))
    finally:
        reader.close()
    assert sorted(p.name for p in (tmp_path / "s").rglob("*")) == before  # untouched
    writer.append(_batch(T0 + 200_000, "a", x=200.0))  # the writer carries on
    writer.close()
    reopened = EmbeddedStore.open(tmp_path / "s", SMALL)  # the lock went with close()
    (x,) = reopened.select(_name("x"), T0, T0 + 200_000)
    reopened.close()
    assert x.values[-1] == 200.0
