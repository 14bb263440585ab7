"""A read-only open scoped to some reads (`monitor.store.scope`) answers them exactly as a
whole read-only open does, beside a live writer; anything else goes to the whole store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from monitor.model import Matcher, SampleBatch
from monitor.store import EmbeddedStore, RollupTier, StoreConfig
from monitor.store.blockfile import _series_of
from monitor.store.blockset import UnopenedBlock
from monitor.store.scope import ReadScope, ScopedStore

SMALL = StoreConfig(
    chunk_duration_ms=60_000,
    block_duration_ms=120_000,
    raw_compact_to_ms=240_000,
    raw_retention_ms=600_000,
    tiers=(RollupTier("10s", 10_000, 1_200_000, 240_000),),
)
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 600_000
SECONDS = 1_000  # polls, one a second
END = T0 + (SECONDS - 1) * 1000


def _poll(i: int, instance: str) -> SampleBatch:
    """What target `instance` reports at second `i`: series that come and go mid-chunk
    (widening a segment, or ending one with stale markers) as commands and clients do."""
    labels = (("instance", instance), ("service", "api"))
    if instance == "d":  # a label value that looks like the index's JSON around a series
        labels += (("zone", 'x"]],[["__name__","commands_total"],["é]],[[\\'),)
    batch = SampleBatch(T0 + i * 1000, labels)
    scale = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}[instance]
    batch.add("commands_total", scale * i, (("cmd", "get"),))
    if i % 170 > 40:  # appears mid-chunk, then goes away
        batch.add("commands_total", scale * i / 2, (("cmd", "set"),))
    batch.add("connected_clients", scale + i % 7)
    if instance != "c":
        batch.add("memory_bytes", 1e6 * scale + i)
    return batch


@pytest.fixture(scope="module")
def live_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A store whose writer stays open: raw blocks (compacted and not, some gone past raw
    retention), rollup blocks, and a head with open segments, all flushed."""
    path = tmp_path_factory.mktemp("scope") / "store"
    writer = EmbeddedStore.open(path, SMALL)
    for i in range(SECONDS):
        for instance in ("a", "b", "c", "d"):
            if instance == "b" and (500 <= i < 530 or 930 <= i < 945):
                continue  # a target down for a while (in a block, then in the head)
            writer.append(_poll(i, instance))
        if i in (529, 949):
            writer.mark_stale((("instance", "c"), ("service", "api")), T0 + i * 1000 + 1)
        writer.maintain(T0 + i * 1000)
    writer.flush()
    assert list((path / "10s").glob("*.blk")) and list((path / "raw").glob("*.blk"))
    yield path
    writer.close()


def _name(metric: str, *more: Matcher) -> list[Matcher]:
    return [Matcher("__name__", "=", metric), *more]


READS = [
    (_name("commands_total"), END - 30_000, END),  # the head only
    (_name("commands_total"), END - 300_000, END),  # blocks and head
    (_name("commands_total", Matcher("cmd", "=", "set")), END - 200_000, END - 100_000),
    (_name("connected_clients", Matcher("instance", "=~", "a|c")), T0, END),
    (_name("memory_bytes", Matcher("instance", "!=", "a")), T0 - 3_600_000, END),
    (_name("commands_total"), T0 + 10_000, T0 + 200_000),  # before raw retention: rollups
    ([Matcher("instance", "=", "b")], END - 400_000, END - 350_000),  # no metric name
    (_name("no_such_metric"), T0, END),
]


def _same(found: list, expected: list) -> None:
    """The same series with the same samples (in the order of each store's own series ids,
    which differ: the engine sorts what it reads by labels)."""
    found = sorted(found, key=lambda s: sorted(s.labels.items()))
    expected = sorted(expected, key=lambda s: sorted(s.labels.items()))
    assert [s.labels for s in found] == [s.labels for s in expected]
    for got, want in zip(found, expected, strict=True):
        np.testing.assert_array_equal(got.ts, want.ts)
        np.testing.assert_array_equal(got.values.view(np.uint64), want.values.view(np.uint64))


@pytest.mark.parametrize("read", READS, ids=range(len(READS)))
def test_a_scoped_open_answers_its_read_as_the_whole_store_does(
    live_store: Path, read: tuple[list[Matcher], int, int]
) -> None:
    matchers, start, end = read
    whole = EmbeddedStore.open(live_store, SMALL, read_only=True)
    scoped = EmbeddedStore.open(live_store, SMALL, read_only=True, scope=ReadScope.of([read]))
    try:
        expected = whole.select(matchers, start, end)
        _same(scoped.select(matchers, start, end), expected)
        # a read with one more matcher selects a subset, which the scope holds too
        narrower = [*matchers, Matcher("service", "=", "api")]
        _same(scoped.select(narrower, start, end), whole.select(narrower, start, end))
    finally:
        whole.close()
        scoped.close()
    assert any(s.ts.size for s in expected) or matchers[0].value == "no_such_metric"


def test_a_scope_of_several_reads_answers_each(live_store: Path) -> None:
    reads = READS[:3] + READS[5:6]
    whole = EmbeddedStore.open(live_store, SMALL, read_only=True)
    scoped = EmbeddedStore.open(live_store, SMALL, read_only=True, scope=ReadScope.of(reads))
    try:
        for matchers, start, end in reads:
            _same(scoped.select(matchers, start, end), whole.select(matchers, start, end))
    finally:
        whole.close()
        scoped.close()


def test_a_scoped_open_loads_only_blocks_in_its_window_and_series_it_can_select(
    live_store: Path,
) -> None:
    read = (_name("connected_clients"), END - 30_000, END)
    whole = EmbeddedStore.open(live_store, SMALL, read_only=True)
    scoped = EmbeddedStore.open(live_store, SMALL, read_only=True, scope=ReadScope.of([read]))
    try:
        blocks = [reader for _, reader in scoped._blocks]
        assert blocks and all(isinstance(b, UnopenedBlock) for b in blocks)
        names = {dict(key)["__name__"] for key in scoped._index.keys}
        assert names == {"connected_clients"}
        assert len(scoped._index) < len(whole._index)
    finally:
        whole.close()
        scoped.close()


def test_scoped_store_sends_every_other_question_to_the_whole_store(live_store: Path) -> None:
    read = (_name("commands_total"), END - 60_000, END)
    scope = ReadScope.of([read])
    opened: list[EmbeddedStore] = []

    def open_whole() -> EmbeddedStore:
        opened.append(EmbeddedStore.open(live_store, SMALL, read_only=True))
        return opened[-1]

    store = ScopedStore(
        EmbeddedStore.open(live_store, SMALL, read_only=True, scope=scope), scope, open_whole
    )
    whole = EmbeddedStore.open(live_store, SMALL, read_only=True)
    try:
        _same(store.select(*read), whole.select(*read))
        assert not opened  # in scope: the scoped store answered
        longer = (read[0], END - 600_000, END)
        _same(store.select(*longer), whole.select(*longer))
        other = (_name("memory_bytes"), END - 60_000, END)
        _same(store.select(*other), whole.select(*other))
        assert store.stats() == whole.stats()
        assert store.series(read[0], T0, END) == whole.series(read[0], T0, END)
        everything = [Matcher("__name__", "=~", ".+")]
        assert store.label_values("__name__", everything, T0, END) == whole.label_values(
            "__name__", everything, T0, END
        )
        assert len(opened) == 1  # opened once, when first needed
    finally:
        store.close()
        whole.close()


def test_scope_covers_only_its_reads_or_narrower_ones() -> None:
    scope = ReadScope.of([(_name("x"), 100, 200)])
    assert scope.covers(_name("x"), 100, 200)
    assert scope.covers(_name("x", Matcher("a", "=", "b")), 150, 160)
    assert not scope.covers(_name("x"), 99, 200)
    assert not scope.covers(_name("x"), 100, 201)
    assert not scope.covers(_name("y"), 100, 200)
    assert not scope.covers([Matcher("a", "=", "b")], 100, 200)
    assert ReadScope.of([([Matcher("a", "=", "b")], 0, 1)]).record_filter() is None


def test_only_a_read_only_open_can_be_scoped(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="read-only"):
        EmbeddedStore.open(tmp_path / "s", SMALL, scope=ReadScope.of([]))


def _header(series: list[list[list[str]]]) -> bytes:
    """A block index header as `blockfile._write` writes it."""
    header = {"tier": "raw", "start": 0, "end": 1, "series": series}
    header.update(segments=[[1, 0, 0, 8, 4, 0]], columns=[len(series)], samples=len(series))
    return json.dumps(header, separators=(",", ":")).encode()


def test_a_block_index_gives_the_series_of_some_metrics_without_decoding_the_rest() -> None:
    series = [
        [["__name__", "up"], ["instance", "a"]],
        [["__name__", "x"], ["instance", "a"]],
        [["Zone", "é"], ["__name__", "x"], ["instance", 'b"]']],  # name not first
        [["__name__", "x_total"], ["instance", "a"]],
        [["__name__", "x"], ["instance", "c"]],
    ]
    rest, picked = _series_of(_header(series), frozenset({"x", "up"}), len(series))
    assert picked == {0: series[0], 1: series[1], 2: series[2], 4: series[4]}
    assert rest["segments"] == [[1, 0, 0, 8, 4, 0]] and rest["samples"] == len(series)
    # a value holding what separates two series: counted, found out, decoded the slow way
    tricky = [*series, [["__name__", "y"], ["v", "]],[["]]]
    assert _series_of(_header(tricky), frozenset({"x"}), len(tricky)) is None
