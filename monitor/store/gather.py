"""Reading many series at once, a pass per segment (`EmbeddedStore.select`).

A fleet-wide selector matches tens of thousands of series, a few hundred in each segment of
each target. Read one series at a time, each paid for its own block lookups, its own
column reads and decodes, and its own clipping: about 100 µs a series, 12 s of CPU for
the alert pack at 1,000 targets. Here a read is worked out for all its series together:

1. where every series' columns are (one vectorised lookup per block; the head's sources
   per series), and what each series is charged: exactly what reading it alone is charged;
2. in chunks of series, each chunk's column bytes are read (neighbouring columns with one
   system call), the timestamps of its segments decoded once, and all its columns decoded
   in one batch (`batch_decode`);
3. each series' pieces are put together and clipped to the range.

The result is the per-series read's, bit for bit (the pieces come in the same order and
the same duplicate samples are dropped), and so is the budget: a chunk never holds more
than the budget has left, and a series the budget cannot afford raises where it did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NoReturn

import numpy as np

from monitor.store.api import ReadBudget
from monitor.store.batch_decode import decode_columns
from monitor.store.blockfile import BlockReader, CorruptBlockError
from monitor.store.codec import CodecError
from monitor.store.head import ColumnSource, HeadView
from monitor.store.segment import ABSENT_BITS, EncodedSegment, SealedSegment, decode_column

__all__ = ["block_plan", "gather"]

#: samples (before clipping) one chunk decodes at most: bounds what a read holds at once
CHUNK_SAMPLES = 1 << 20
Corrupt = Callable[[BlockReader, CorruptBlockError], NoReturn]


def block_plan(
    tiers: list[str], blocks: dict[str, list[BlockReader]], start_ms: int
) -> list[tuple[BlockReader, int]]:
    """The blocks to read, coarsest tier first, each with the lower bound its tier
    contributes from (a finer tier only for what the coarser lacks)."""
    readers: list[tuple[BlockReader, int]] = []
    lower = start_ms
    for tier in tiers:
        tier_readers = blocks[tier]
        tier_end = max((b.end_ms for b in tier_readers), default=lower)
        readers.extend((b, lower) for b in tier_readers if b.end_ms > lower)
        lower = max(lower, tier_end)
    return readers


class _Located:
    """Where the columns of a read's series are, before anything is decoded."""

    def __init__(
        self,
        readers: list[tuple[BlockReader, int]],
        head: HeadView,
        gids: np.ndarray,
        end_ms: int,
    ) -> None:
        self.gids: list[int] = gids.tolist()
        self.charges = np.zeros(gids.size, np.int64)
        #: per block: (reader, positions in `gids`, column entries, segments), by position
        self.blocks: list[tuple[BlockReader, np.ndarray, np.ndarray, np.ndarray]] = []
        for reader, lower in readers:
            positions, entries = reader.locate(gids, lower, end_ms)
            segments = reader.entry_segments(entries)
            np.add.at(self.charges, positions, reader.segment_rows(segments))
            self.blocks.append((reader, positions, entries, segments))
        self.head: list[list[ColumnSource]] = [head.sources(g) for g in self.gids]
        self.charges += np.array([sum(map(_rows, s)) for s in self.head], np.int64)


def gather(
    readers: list[tuple[BlockReader, int]],
    head: HeadView,
    gids: np.ndarray,
    start_ms: int,
    end_ms: int,
    budget: ReadBudget | None,
    corrupt: Corrupt,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(position in `gids`, timestamps, values) of each series, in the order of `gids`
    (ascending), clipped to [start_ms, end_ms]; `corrupt` is called with a block that
    failed its checksums (and raises)."""
    located = _Located(readers, head, gids, end_ms)
    reading = _Chunks(located, start_ms, end_ms, corrupt)
    bounded = np.cumsum(located.charges)
    first = 0
    while first < gids.size:
        room = CHUNK_SAMPLES
        if budget is not None:
            budget.check_time()
            room = min(room, budget.max_samples - budget.used)
        before = int(bounded[first - 1]) if first else 0
        last = max(first + 1, int(np.searchsorted(bounded, before + room, "right")))
        charged = int(bounded[last - 1]) - before
        if budget is not None:
            # only a chunk of one series can fail: what reading that series alone failed on
            budget.charge(charged)
        held = 0
        for position, ts, values in reading.read(first, last):
            held += ts.size
            yield position, ts, values
        if budget is not None:
            budget.refund(charged - held)
        first = last


class _Chunks:
    """Reads chunks of a read's series: every piece (a series' column in one segment) of a
    chunk is read and decoded in one batch, clipped by its segment's bounds, and the
    chunk's series are cut from one concatenation of the pieces."""

    def __init__(self, located: _Located, start_ms: int, end_ms: int, corrupt: Corrupt) -> None:
        self.located = located
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.corrupt = corrupt
        #: decoded timestamps of block segments, per block and segment, for the whole read
        self.block_ts: dict[tuple[int, int], np.ndarray] = {}
        #: per segment timestamps (by the array's id: they stay alive through the read):
        #: the rows in the range, and whether they ascend
        self.bounds: dict[int, tuple[int, int, bool]] = {}

    def _learn_bounds(self, segments: list[np.ndarray]) -> None:
        """Work out `bounds` of segments not seen yet, those of one length together (a
        fleet read meets thousands of segments: one numpy call each was a tenth of it)."""
        by_size: dict[int, dict[int, np.ndarray]] = {}
        for ts in segments:
            if id(ts) not in self.bounds:
                by_size.setdefault(ts.size, {})[id(ts)] = ts
        for group in by_size.values():
            rows = np.stack(list(group.values()))
            ascends = np.all(rows[:, 1:] > rows[:, :-1], axis=1)
            # counting equals searching where the rows ascend (the others are not clipped by
            # these bounds: they go the one-series way)
            lo = (rows < self.start_ms).sum(axis=1)
            hi = (rows <= self.end_ms).sum(axis=1)
            found = zip(lo.tolist(), hi.tolist(), ascends.tolist(), strict=True)
            self.bounds.update(zip(group, found, strict=True))

    def read(self, first: int, last: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        located = self.located
        gids = located.gids
        owner: list[int] = []  # series position of each piece, pieces in read order
        segment_ts: list[np.ndarray] = []  # the timestamps of each piece's segment
        jobs: list[tuple[np.ndarray, bytes]] = []
        job_piece: list[int] = []
        spans: list[tuple[int, BlockReader, list[int]]] = []  # for naming a corrupt column
        for reader, positions, entries, segments in located.blocks:
            lo, hi = np.searchsorted(positions, [first, last])
            if hi == lo:
                continue
            try:
                data = reader.read_columns(entries[lo:hi])
                stamps = self._block_timestamps(reader, segments[lo:hi])
            except CorruptBlockError as exc:
                self.corrupt(reader, exc)
            chosen = positions[lo:hi].tolist()
            spans.append((len(jobs), reader, chosen))
            job_piece.extend(range(len(owner), len(owner) + len(chosen)))
            owner.extend(chosen)
            segment_ts.extend(stamps)
            jobs.extend(zip(stamps, data, strict=True))
        sealed: dict[int, tuple[SealedSegment, list[int], list[int]]] = {}
        for position in range(first, last):
            gid = gids[position]
            for source in located.head[position]:
                column = source.col_of[gid]
                if isinstance(source, EncodedSegment):
                    ts = source.timestamps()
                    job_piece.append(len(owner))
                    jobs.append((ts, source.columns[column]))
                else:
                    ts = source.ts
                    wanted = sealed.setdefault(id(source), (source, [], []))
                    wanted[1].append(len(owner))
                    wanted[2].append(column)
                owner.append(position)
                segment_ts.append(ts)
        pieces: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(owner)
        for piece, decoded in zip(job_piece, self._decode(jobs, spans), strict=True):
            pieces[piece] = decoded
        for source, at, columns in sealed.values():
            for piece, decoded in zip(at, _sealed_columns(source, columns), strict=True):
                pieces[piece] = decoded
        yield from self._series(first, last, owner, segment_ts, pieces)  # type: ignore[arg-type]

    def _series(
        self,
        first: int,
        last: int,
        owner: list[int],
        segment_ts: list[np.ndarray],
        pieces: list[tuple[np.ndarray, np.ndarray]],
    ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Each series of the chunk from its pieces: cut from one concatenation of the
        clipped pieces when they follow each other in time, as they do but for a series
        two targets write (then as the one-series read did: duplicates dropped)."""
        order = np.argsort(np.array(owner, np.int64), kind="stable").tolist()
        self._learn_bounds(segment_ts)
        bounds = self.bounds
        ts_parts, value_parts = [], []
        lengths = np.zeros(last - first, np.int64)
        unordered = np.zeros(last - first, bool)
        for i in order:
            ts, values = pieces[i]
            lo, hi, ascends = bounds[id(segment_ts[i])]
            if ts is not segment_ts[i]:  # only some rows have a sample
                lo, hi = _range(ts, self.start_ms, self.end_ms)
            ts_parts.append(ts[lo:hi])
            value_parts.append(values[lo:hi])
            lengths[owner[i] - first] += ts_parts[-1].size
            if not ascends:
                unordered[owner[i] - first] = True
        if not ts_parts:
            return
        all_ts = np.concatenate(ts_parts)
        all_values = np.concatenate(value_parts)
        ends = np.cumsum(lengths)
        steps = all_ts[1:] <= all_ts[:-1]
        # where one series ends and the next starts
        steps[ends[(ends > 0) & (ends < all_ts.size)] - 1] = False
        if steps.any():
            unordered[np.searchsorted(ends, np.flatnonzero(steps) + 1, "right")] = True
        by_series: dict[int, list[int]] = {}
        if unordered.any():
            for i in order:
                if unordered[owner[i] - first]:
                    by_series.setdefault(owner[i], []).append(i)
        start = 0
        for offset, end in enumerate(ends.tolist()):
            position = first + offset
            if position in by_series:
                refs = by_series[position]
                ts, values = _clip_unordered([pieces[i] for i in refs], self.start_ms, self.end_ms)
            else:
                ts, values = all_ts[start:end], all_values[start:end]
            start = end
            if ts.size:
                yield position, ts, values

    def _block_timestamps(self, reader: BlockReader, segments: np.ndarray) -> list[np.ndarray]:
        key = id(reader)
        wanted = [s for s in np.unique(segments).tolist() if (key, s) not in self.block_ts]
        if wanted:
            for segment, ts in zip(wanted, reader.read_timestamps(wanted), strict=True):
                self.block_ts[key, segment] = ts
        return [self.block_ts[key, s] for s in segments.tolist()]

    def _decode(
        self, jobs: list[tuple[np.ndarray, bytes]], spans: list[tuple[int, BlockReader, list[int]]]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        try:
            return decode_columns(jobs)
        except CodecError:
            self._report(jobs, spans)
            raise

    def _report(
        self, jobs: list[tuple[np.ndarray, bytes]], spans: list[tuple[int, BlockReader, list[int]]]
    ) -> None:
        """Name the block column a batch failed on, as reading it alone would have."""
        for begin, reader, positions in spans:
            for offset, position in enumerate(positions):
                try:
                    decode_column(*jobs[begin + offset])
                except CodecError as exc:
                    gid = self.located.gids[position]
                    self.corrupt(
                        reader,
                        CorruptBlockError(f"{reader.path}: corrupt column of series {gid}: {exc}"),
                    )


def _sealed_columns(
    source: SealedSegment, columns: list[int]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """`source.column(gid)` of many series: the cells that hold a sample."""
    matrix = source.values[:, columns]  # a copy: the open segment's matrix is shared
    present = matrix.view(np.uint64) != ABSENT_BITS
    full = present.all(axis=0).tolist()
    return [
        (source.ts, matrix[:, j])
        if full[j]
        else (source.ts[present[:, j]], matrix[present[:, j], j])
        for j in range(len(columns))
    ]


def _range(ts: np.ndarray, start_ms: int, end_ms: int) -> tuple[int, int]:
    return int(ts.searchsorted(start_ms, "left")), int(ts.searchsorted(end_ms, "right"))


def _rows(source: ColumnSource) -> int:
    return source.rows if isinstance(source, EncodedSegment) else int(source.ts.size)


def _clip_unordered(
    pieces: list[tuple[np.ndarray, np.ndarray]], start_ms: int, end_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    if not pieces:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    ts = np.concatenate([p[0] for p in pieces])
    values = np.concatenate([p[1] for p in pieces])
    if ts.size > 1 and np.any(ts[1:] <= ts[:-1]):
        ts, first = np.unique(ts, return_index=True)
        values = values[first]
    lo = int(np.searchsorted(ts, start_ms, side="left"))
    hi = int(np.searchsorted(ts, end_ms, side="right"))
    return ts[lo:hi], values[lo:hi]
