"""A read of many series (`EmbeddedStore.select`, batched per segment: `store/gather.py`,
`store/batch_decode.py`) returns bit for bit what reading each series alone returns, and
charges its budget as that would: across raw and rollup blocks, the head's open, sealed and
encoded segments, series two targets share, series that stop and come back, stale markers.

The reference here is the one-series read the store did before batching, written out:
each block's `read` of the series, then its head sources, concatenated, duplicates
dropped (first piece wins), clipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from monitor.model import Matcher, SampleBatch
from monitor.store import EmbeddedStore, RollupTier, StoreConfig
from monitor.store import gather as gather_module
from monitor.store.api import ReadBudget, SampleLimitError
from monitor.store.batch_decode import decode_columns, decode_int_streams
from monitor.store.codec import CodecError, decode_ints, encode_ints
from monitor.store.gather import block_plan
from monitor.store.segment import (
    ABSENT,
    STALE,
    EncodedSegment,
    decode_column,
    encode_column,
)

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 600_000
SMALL = StoreConfig(
    chunk_duration_ms=60_000,
    block_duration_ms=120_000,
    raw_compact_to_ms=240_000,
    raw_retention_ms=300_000,
    segment_rows=40,  # a segment a chunk (30 rows at 2 s), as 1 s targets get by default
    tiers=(RollupTier("10s", 10_000, 1_200_000, 240_000),),
)
STEPS = 420  # 14 minutes at 2 s
END = T0 + STEPS * 2000
LABELS = [(("instance", f"10.0.0.{t}:6379"),) for t in range(5)]


def _fill(path: Path) -> EmbeddedStore:
    """Five targets, and a memcached beside the first on its address (a series both write);
    maintenance now and then, so the head holds encoded, sealed and open segments."""
    store = EmbeddedStore.open(path, SMALL)
    rng = np.random.default_rng(11)
    for step in range(STEPS):
        ts = T0 + step * 2000
        for target, labels in enumerate(LABELS):
            batch = SampleBatch(ts, labels)
            batch.add("ops_total", float(step * (target + 1) * 10 + rng.integers(0, 5)))
            batch.add("ratio", float(rng.uniform()))  # not decimal: XOR'd bits
            batch.add("temp", round(float(rng.uniform(20, 30)), 2))
            for cmd in ("get", "set", "del"):
                if cmd == "del" and target % 2 and 100 < step < 300:
                    continue  # stops for a while (stale), then comes back (a bitmap)
                batch.add("cmd_total", float(step * 3), (("cmd", cmd),))
            if step > 200:
                batch.add("late_total", float(step))  # new in a chunk: a widened segment
            if target == 0:
                batch.add("cachewatch_poll_duration_seconds", 0.001 * (step % 7))
            store.append(batch)
        if step % 3 == 0:  # same timestamp as target 0's sample every third poll
            side = SampleBatch(ts + (step % 2) * 700, LABELS[0], source="memcached")
            side.add("memcached_up", 1.0)
            side.add("cachewatch_poll_duration_seconds", 0.5 + step)
            store.append(side)
        if step == 350:
            store.mark_stale(LABELS[4], ts + 1000)
        if step % 7 == 0 or step > STEPS - 30:
            store.maintain(ts)  # the last chunks stay sealed, not yet encoded
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    opened = _fill(tmp_path_factory.mktemp("batched") / "store")
    yield opened
    opened.close()


def _one_series(
    store: EmbeddedStore, gid: int, start: int, end: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """(ts, values, what a budget is charged) of one series, read alone."""
    view = store._view([gid], start, end, head=True)
    try:
        pieces: list[tuple[np.ndarray, np.ndarray]] = []
        charged = 0
        for reader, lower in block_plan(view.tiers, view.blocks, start):
            pieces.extend(reader.read(gid, lower, end))
            charged += sum(reader.segments[s].rows for _, s in reader._overlapping(gid, lower, end))
        for source in view.head.sources(gid):
            pieces.append(source.column(gid))
            charged += source.rows if isinstance(source, EncodedSegment) else source.ts.size
    finally:
        view.release()
    if not pieces:
        return np.empty(0, np.int64), np.empty(0), charged
    ts = np.concatenate([p[0] for p in pieces])
    values = np.concatenate([p[1] for p in pieces])
    if ts.size > 1 and np.any(ts[1:] <= ts[:-1]):
        ts, first = np.unique(ts, return_index=True)
        values = values[first]
    lo, hi = np.searchsorted(ts, start, "left"), np.searchsorted(ts, end, "right")
    return ts[lo:hi], values[lo:hi], charged


def _expected(
    store: EmbeddedStore, matchers: list[Matcher], start: int, end: int
) -> list[tuple[dict[str, str], np.ndarray, np.ndarray, int]]:
    out = []
    for gid in sorted(store._index.match(matchers)):
        ts, values, charged = _one_series(store, gid, start, end)
        out.append((store._index.labels(gid), ts, values, charged))
    return out


CASES = [
    ([Matcher("__name__", "=~", ".+")], T0, END),  # rollups, raw blocks, the whole head
    ([Matcher("__name__", "=~", ".+")], END - 400_000, END),
    ([Matcher("__name__", "=", "cmd_total")], END - 90_000, END),  # the head only
    ([Matcher("__name__", "=", "cachewatch_poll_duration_seconds")], T0, END),  # shared
    ([Matcher("instance", "=~", ".+")], END - 250_000, END - 100_000),
    ([Matcher("__name__", "=~", "late_total|ratio")], T0 + 300_000, END - 1),
    ([Matcher("instance", "=", "10.0.0.4:6379")], END - 200_000, END),  # marked stale
]


@pytest.mark.parametrize(("matchers", "start", "end"), CASES)
@pytest.mark.parametrize("chunk", [gather_module.CHUNK_SAMPLES, 37])
def test_a_batched_read_returns_what_each_series_read_alone_returns(
    store: EmbeddedStore,
    matchers: list[Matcher],
    start: int,
    end: int,
    chunk: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gather_module, "CHUNK_SAMPLES", chunk)  # one chunk, and many
    expected = [e for e in _expected(store, matchers, start, end) if e[1].size]
    budget = ReadBudget(10**9, float("inf"))
    got = store.select(matchers, start, end, budget)
    assert expected
    assert [s.labels for s in got] == [e[0] for e in expected]
    for series, (_, ts, values, _) in zip(got, expected, strict=True):
        np.testing.assert_array_equal(series.ts, ts)
        # bitwise: stale markers are NaNs with a payload
        np.testing.assert_array_equal(series.values.view(np.uint64), values.view(np.uint64))
    assert budget.used == sum(e[1].size for e in expected)


def test_the_read_covers_every_kind_of_source(store: EmbeddedStore) -> None:
    """The fixture is what the other tests claim it is."""
    view = store._view(sorted(store._index.all_ids()), T0, END, head=True)
    try:
        kinds = {type(s).__name__ for g in store._index.all_ids() for s in view.head.sources(g)}
        tiers = {tier for tier, readers in view.blocks.items() if readers}
    finally:
        view.release()
    assert kinds == {"EncodedSegment", "SealedSegment"}
    assert tiers == {"raw", "10s"}
    assert store._head.gid_shared  # a series two targets write


@pytest.mark.parametrize(("matchers", "start", "end"), CASES[:3])
def test_a_batched_read_fails_its_budget_exactly_where_series_reads_did(
    store: EmbeddedStore, matchers: list[Matcher], start: int, end: int
) -> None:
    """Each series alone: charged what its segments hold in the range before decoding,
    refunded what clipping dropped. The batched read holds at most what the budget has
    left, and raises for the same budgets."""
    expected = _expected(store, matchers, start, end)

    def fails(limit: int) -> bool:
        used = 0
        for _, ts, _, charged in expected:
            if used + charged > limit:
                return True
            used += ts.size
        return False

    total = sum(e[1].size for e in expected)
    limits = sorted({total, total - 1, total + 1, *range(0, total + 2000, max(1, total // 40))})
    assert any(fails(limit) for limit in limits) and not fails(10**9)
    for limit in limits:
        budget = ReadBudget(limit, float("inf"))
        if fails(limit):
            with pytest.raises(SampleLimitError):
                store.select(matchers, start, end, budget)
        else:
            store.select(matchers, start, end, budget)
            assert budget.used == total
        assert budget.used <= limit


def _columns() -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    columns: list[np.ndarray] = []
    for rows in (1, 2, 3, 12, 60, 61, 720):
        counter = np.cumsum(rng.integers(0, 1000, rows)).astype(np.float64)
        decimals = np.round(rng.uniform(-50, 50, rows), 3)
        floats = rng.standard_normal(rows)
        big = np.cumsum(rng.integers(0, 2**40, rows)).astype(np.float64) * 1e6
        gappy = counter.copy()
        gappy[rng.uniform(size=rows) < 0.3] = ABSENT
        odd = decimals.copy()
        specials = np.array([np.nan, np.inf, -0.0, STALE])
        odd[::3] = np.resize(specials, odd[::3].size)  # exceptions in a decimal column
        columns += [counter, decimals, floats, big, gappy, odd, np.full(rows, 7.5)]
        columns += [np.where(rng.uniform(size=rows) < 0.5, floats, ABSENT)]
    return columns


def test_columns_decoded_together_equal_columns_decoded_alone() -> None:
    columns = _columns()
    jobs = []
    for values in columns:
        ts = T0 + np.arange(values.size, dtype=np.int64) * 10_000
        jobs.append((ts, encode_column(values)))
    together = decode_columns(jobs)
    for (ts, data), (got_ts, got_values) in zip(jobs, together, strict=True):
        want_ts, want_values = decode_column(ts, data)
        np.testing.assert_array_equal(got_ts, want_ts)
        np.testing.assert_array_equal(got_values.view(np.uint64), want_values.view(np.uint64))


def test_integer_streams_decoded_together_equal_each_alone() -> None:
    rng = np.random.default_rng(9)
    streams = []
    for rows in (1, 2, 3, 30, 30, 720):
        regular = T0 + np.arange(rows, dtype=np.int64) * 10_000
        jitter = regular + rng.integers(-5, 5, rows)
        wild = rng.integers(-(2**62), 2**62, rows)
        streams += [(encode_ints(x), rows) for x in (regular, jitter, wild)]
    for got, (data, count) in zip(decode_int_streams(streams), streams, strict=True):
        np.testing.assert_array_equal(got, decode_ints(data, count))


def test_a_corrupt_column_fails_as_it_did_alone() -> None:
    """Whatever decoding a damaged column alone raised, decoding it among others raises."""
    rng = np.random.default_rng(13)
    good = [
        (T0 + np.arange(v.size, dtype=np.int64), encode_column(v)) for v in _columns() if v.size > 2
    ]
    for ts, data in good[:40]:
        for _ in range(6):
            cut = bytearray(data[: int(rng.integers(0, len(data)))])
            flipped = bytearray(data)
            flipped[int(rng.integers(0, len(data)))] ^= 1 << int(rng.integers(0, 8))
            for damaged in (bytes(cut), bytes(flipped)):
                try:
                    alone: object = decode_column(ts, damaged)
                except (CodecError, ValueError) as exc:
                    with pytest.raises(type(exc)):
                        decode_columns([good[0], (ts, damaged)])
                    continue
                together = decode_columns([good[0], (ts, damaged)])[1]
                assert isinstance(alone, tuple)
                np.testing.assert_array_equal(together[0], alone[0])
                np.testing.assert_array_equal(together[1].view(np.uint64), alone[1].view(np.uint64))
