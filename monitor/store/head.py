"""The in-memory head: each target appends rows to an open segment; a finished segment is
sealed (kept as its raw matrix) and compressed later by `maintain()` outside the store's
lock; encoded segments wait, with their rollups, for the next block cut.

A segment ends with its block window, or earlier, at a chunk boundary, once another chunk
at the target's pace would take it past `segment_rows` (see `Head.segment_ends`): a target
polled every 10 s keeps one 60-row segment per 10-minute block, which the block cut writes
as it is, while one polled every second still gets 2-minute segments. Fewer, longer
segments mean fewer columns to compress: the per-column cost, not the per-sample one,
dominated at 1,000 targets polled every 10 s.

Per-sample Python work on the common path (a target sends the same series as last time) is
one list comparison; the values go into the matrix as one numpy row. Nothing on the append
path compresses: a series new to the segment widens it instead of closing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import numpy as np

from monitor.model import Labels, SampleBatch
from monitor.store.config import StoreConfig
from monitor.store.segment import (
    ABSENT,
    ABSENT_BITS,
    STALE,
    EncodedSegment,
    OpenSegment,
    SealedSegment,
    encode_segment,
    rollup_rows,
)
from monitor.store.series_index import SeriesIndex, SeriesKey
from monitor.store.wal import layout_record, row_record, series_record, target_record

__all__ = [
    "Head",
    "HeadView",
    "TargetState",
    "RollupPart",
    "Rollup",
    "Encoded",
    "SnapshotPart",
    "ColumnSource",
    "SOURCE",
]

log = logging.getLogger(__name__)
_STALE_BITS = STALE.view(np.uint64)

#: (gids, ts, matrix) of downsampled rows waiting for a block cut
RollupPart = tuple[np.ndarray, np.ndarray, np.ndarray]
#: a rollup waiting for its block cut: encoded already when its segment held all of its
#: target's rows of the block (nothing to merge it with), else rows to merge at the cut
Rollup = RollupPart | EncodedSegment
#: what `encode_sealed` makes of one sealed segment: the segment and one rollup per tier
Encoded = tuple[SealedSegment, EncodedSegment, list[Rollup]]
#: one target in a snapshot: tid, key, and its segments (or an open one's gids, ts, rows)
SnapshotPart = tuple[int, Labels, list["EncodedSegment | SealedSegment | tuple[np.ndarray, ...]"]]
#: a segment a reader decodes outside the store's lock (immutable, or a frozen view)
ColumnSource = EncodedSegment | SealedSegment
#: the pair that, in a target's key, tells apart two targets with the same labels (a redis
#: and a memcached server on one address); sorts first, and never reaches a series
SOURCE = "\x00source"


def target_key(labels: Labels, source: str) -> Labels:
    return ((SOURCE, source), *labels) if source else labels


def split_key(key: Labels) -> tuple[Labels, str]:
    if key and key[0][0] == SOURCE:
        return key[1:], key[0][1]
    return key, ""


class TargetState:
    __slots__ = (
        "closed",
        "cols",
        "gid_cache",
        "key",
        "labels",
        "last_labels",
        "last_names",
        "last_ts",
        "present",
        "segment",
        "tid",
    )

    def __init__(self, tid: int, key: Labels) -> None:
        self.tid = tid
        #: what the WAL and the head know the target by: its labels (and source, if any)
        self.key = key
        #: the labels every series of the target carries
        self.labels = split_key(key)[0]
        self.gid_cache: dict[tuple[str, Labels], int] = {}
        self.last_names: list[str] | None = None
        self.last_labels: list[Labels] | None = None
        #: column of each sample of the last batch, or None when it is the identity
        self.cols: np.ndarray | None = None
        self.present = np.empty(0, np.int64)
        self.segment: OpenSegment | None = None
        self.closed: list[EncodedSegment | SealedSegment] = []
        self.last_ts = -(2**63)


class Head:
    def __init__(
        self,
        index: SeriesIndex,
        config: StoreConfig,
        wal_add: Callable[[bytes], None],
        is_counter: Callable[[SeriesKey], bool],
    ) -> None:
        self.index = index
        self.config = config
        self._wal_add = wal_add
        self._is_counter = is_counter
        self.targets: dict[Labels, TargetState] = {}
        self.by_tid: list[TargetState] = []
        self.gid_target: dict[int, TargetState] = {}
        #: series written by more than one target (two targets sharing an address both
        #: write `cachewatch_poll_duration_seconds`): every target that holds some of it
        self.gid_shared: dict[int, list[TargetState]] = {}
        self._sealed_owner: dict[int, TargetState] = {}
        self.closed_by_block: dict[int, list[EncodedSegment]] = {}
        #: sealed segments waiting for `encode_sealed`, oldest first
        self.sealed: list[SealedSegment] = []
        self.rollups: dict[tuple[str, int], list[Rollup]] = {}
        self.wal_gids: set[int] = set()
        #: False while the log is replayed into the head: the store drops what the head
        #: logs then, so series records (JSON, one per series) are not even made
        self.logging = True
        #: samples before this are already in blocks and are rejected
        self.min_ts = -(2**63)
        self.rejected = 0
        self.samples = 0

    # -- writing -------------------------------------------------------------------------
    def target(self, key: Labels) -> TargetState:
        state = self.targets.get(key)
        if state is None:
            state = TargetState(len(self.by_tid), key)
            self.targets[key] = state
            self.by_tid.append(state)
            self._wal_add(target_record(state.tid, key))
        return state

    def append(self, batch: SampleBatch) -> None:
        state = self.target(target_key(batch.target_labels, batch.source))
        ts = batch.ts_ms
        if ts <= state.last_ts or ts < self.min_ts:
            self.rejected += len(batch.names)
            return
        values = np.array(batch.values, dtype=np.float64)
        segment = state.segment
        same_layout = batch.names == state.last_names and batch.labels == state.last_labels
        if segment is not None and self.segment_ends(segment, ts):
            self.close_segment(state, whole_block=segment.block != ts // self._block_ms)
            if same_layout and state.cols is None:
                # the batch fills the old segment's columns exactly: the next segment takes
                # them as they are (no gid lookups, no re-mapping of 450 series)
                segment = self.open_segment(state, segment.gids, ts, segment.col_of)
            else:
                segment = None
        if segment is not None and same_layout:
            if state.cols is None:
                row = values
            else:
                row = np.full(segment.gids.size, ABSENT)
                row[state.cols] = values
        else:
            row = self._new_layout(state, batch, values)
        self._write_row(state, ts, row)

    def _new_layout(self, state: TargetState, batch: SampleBatch, values: np.ndarray) -> np.ndarray:
        gids = np.array(
            [self._gid(state, n, lb) for n, lb in zip(batch.names, batch.labels, strict=True)],
            np.int64,
        )
        ended = np.setdiff1d(state.present, gids)
        segment = state.segment
        if segment is None:
            columns = np.concatenate((_first_seen(gids), ended))
            segment = self.open_segment(state, columns, batch.ts_ms)
        else:
            col_of = segment.col_of
            extra = [g for g in gids.tolist() if g not in col_of]
            if extra:
                self.widen_segment(state, _first_seen(np.array(extra, np.int64)))
        cols = np.array([segment.col_of[int(g)] for g in gids], np.intp)
        row = np.full(segment.gids.size, ABSENT)
        row[cols] = values
        row[[segment.col_of[int(g)] for g in ended]] = STALE
        state.last_names = list(batch.names)
        state.last_labels = list(batch.labels)
        identity = cols.size == segment.gids.size and np.array_equal(cols, np.arange(cols.size))
        state.cols = None if identity else cols
        state.present = np.unique(gids)
        return row

    def _gid(self, state: TargetState, name: str, labels: Labels) -> int:
        gid = state.gid_cache.get((name, labels))
        if gid is None:
            merged = dict(labels)
            merged.update(state.labels)
            merged["__name__"] = name
            gid = self.index.intern(tuple(sorted(merged.items())))
            state.gid_cache[(name, labels)] = gid
            self._own(gid, state)
        return gid

    def _own(self, gid: int, state: TargetState) -> None:
        owner = self.gid_target.setdefault(gid, state)
        if owner is not state:
            shared = self.gid_shared.setdefault(gid, [owner])
            if state not in shared:
                shared.append(state)

    def mark_stale(self, labels: Labels, ts_ms: int, source: str = "") -> None:
        state = self.targets.get(target_key(labels, source))
        if state is None or state.present.size == 0:
            return
        ts_ms = max(ts_ms, state.last_ts + 1, self.min_ts)
        segment = state.segment
        if segment is not None and self.segment_ends(segment, ts_ms):
            self.close_segment(state, whole_block=segment.block != ts_ms // self._block_ms)
            segment = None
        if segment is None:
            segment = self.open_segment(state, state.present, ts_ms)
        row = np.full(segment.gids.size, ABSENT)
        row[[segment.col_of[int(g)] for g in state.present]] = STALE
        state.present = np.empty(0, np.int64)
        state.last_names = state.last_labels = None
        self._write_row(state, ts_ms, row)

    def open_segment(
        self,
        state: TargetState,
        gids: np.ndarray,
        ts_ms: int,
        col_of: dict[int, int] | None = None,
    ) -> OpenSegment:
        """`col_of`: `gids`'s column index, if already made (shared, never changed)."""
        if state.segment is not None:
            self.close_segment(state)
        self._log_series(state, gids)
        self._wal_add(layout_record(state.tid, gids))
        block = ts_ms // self._block_ms
        first = not any(s.min_ts // self._block_ms == block for s in state.closed)
        state.segment = OpenSegment(gids, block, first, col_of)
        return state.segment

    @property
    def _block_ms(self) -> int:
        return self.config.block_duration_ms

    def segment_ends(self, segment: OpenSegment, ts_ms: int) -> bool:
        """Whether a row at `ts_ms` starts a new segment: it is in another block window,
        or in another chunk while one more chunk at the pace so far would take the segment
        past `segment_rows`. Ending only at chunk boundaries keeps rollup buckets (which
        divide a chunk) whole within a segment."""
        if ts_ms // self._block_ms != segment.block:
            return True
        rows = segment.rows
        if rows == 0:
            return False
        chunk_ms = self.config.chunk_duration_ms
        last_chunk = int(segment.ts[rows - 1]) // chunk_ms
        if ts_ms // chunk_ms == last_chunk:
            return False
        chunks = last_chunk - int(segment.ts[0]) // chunk_ms + 1
        return rows + rows / chunks > self.config.segment_rows

    def widen_segment(self, state: TargetState, extra: np.ndarray) -> None:
        segment = state.segment
        assert segment is not None
        self._log_series(state, extra)
        segment.widen(extra)
        self._wal_add(layout_record(state.tid, segment.gids))

    def _log_series(self, state: TargetState, gids: np.ndarray) -> None:
        for gid in gids.tolist():
            self._own(gid, state)
            if gid not in self.wal_gids:
                self.wal_gids.add(gid)
                if self.logging:
                    self._wal_add(series_record(gid, self.index.keys[gid]))

    def _write_row(self, state: TargetState, ts_ms: int, row: np.ndarray) -> None:
        assert state.segment is not None
        state.segment.append(ts_ms, row)
        state.last_ts = ts_ms
        self.samples += row.size
        self._wal_add(row_record(state.tid, ts_ms, row))

    def replay_row(self, state: TargetState, ts_ms: int, row: np.ndarray) -> None:
        """Apply a logged row (the segment was opened by its layout record)."""
        assert state.segment is not None
        state.segment.append(ts_ms, row)
        state.last_ts = ts_ms
        self.samples += row.size
        bits = row.view(np.uint64)
        state.present = np.sort(state.segment.gids[(bits != ABSENT_BITS) & (bits != _STALE_BITS)])

    def close_segment(self, state: TargetState, whole_block: bool = False) -> None:
        """Seal the open segment; `encode_sealed` compresses it later, off the append path.
        `whole_block`: its block window is over (no later row of the target can join it)."""
        segment = state.segment
        state.segment = None
        if segment is None or segment.rows == 0:
            return
        sealed = segment.seal(whole_block and segment.first_in_block)
        state.closed.append(sealed)
        self.sealed.append(sealed)
        self._sealed_owner[id(sealed)] = state

    def encode_sealed(self, sealed: list[SealedSegment]) -> list[Encoded]:
        """Compress sealed segments and downsample them. Reads only immutable arrays and the
        append-only series index, so `maintain()` runs it without the store's lock."""
        out: list[Encoded] = []
        for segment in sealed:
            ts, matrix, gids = segment.ts, segment.values, segment.gids
            encoded = encode_segment(gids, ts, matrix, segment.col_of)
            keys = self.index.keys
            counters = np.array([self._is_counter(keys[g]) for g in gids.tolist()])
            rollups: list[Rollup] = []
            for tier in self.config.tiers:
                part = (gids, *rollup_rows(ts, matrix, tier.resolution_ms, counters))
                if not segment.whole_block or not part[1].size:
                    rollups.append(part)
                elif part[1].size == ts.size and np.array_equal(
                    part[2].view(np.uint64), matrix.view(np.uint64)
                ):
                    # every sample kept (a 10 s poll, a 10 s tier): the rollup is the
                    # segment, and the cut lets the raw block stand in for it
                    rollups.append(encoded)
                else:
                    # a float64 matrix waiting ~2 minutes for the cut is 4-8 times its
                    # encoded size: encode now what the cut would not merge with anything
                    rollups.append(encode_segment(*part, segment.col_of))
            out.append((segment, encoded, rollups))
        return out

    def install_encoded(self, results: list[Encoded]) -> None:
        """Swap sealed segments for their encoded form (under the store's lock)."""
        done = {id(sealed): encoded for sealed, encoded, _ in results}
        for sealed, encoded, rollups in results:
            state = self._sealed_owner.pop(id(sealed))
            state.closed = [done.get(id(s), s) for s in state.closed]
            block = self.block_start(encoded.min_ts)
            self.closed_by_block.setdefault(block, []).append(encoded)
            for tier, part in zip(self.config.tiers, rollups, strict=True):
                self.rollups.setdefault((tier.name, block), []).append(part)
        self.sealed = [s for s in self.sealed if id(s) not in done]

    def block_start(self, ts_ms: int) -> int:
        return ts_ms - ts_ms % self.config.block_duration_ms

    # -- block cut -------------------------------------------------------------------------
    def seal_block(self, block: int) -> None:
        """Seal the open segments that started in the block window `block`."""
        for state in self.by_tid:
            segment = state.segment
            if segment is not None and segment.block * self._block_ms <= block:
                self.close_segment(state, whole_block=True)

    def block_contents(self, block: int) -> tuple[list[EncodedSegment], dict[str, list[Rollup]]]:
        """Everything of one block window (once sealed and encoded), left in place so reads
        find it until `drop_block`; from now on samples in the window are rejected."""
        segments = list(self.closed_by_block.get(block, []))
        rollups = {
            tier.name: list(self.rollups.get((tier.name, block), [])) for tier in self.config.tiers
        }
        self.min_ts = max(self.min_ts, block + self.config.block_duration_ms)
        return segments, rollups

    def drop_block(self, block: int) -> None:
        """Forget a block window that is now on disk."""
        taken = {id(s) for s in self.closed_by_block.pop(block, [])}
        for state in self.by_tid:
            state.closed = [s for s in state.closed if id(s) not in taken]
        for tier in self.config.tiers:
            self.rollups.pop((tier.name, block), None)

    def pending_blocks(self) -> list[int]:
        opened = [s.segment.block * self._block_ms for s in self.by_tid if s.segment is not None]
        sealed = [self.block_start(s.min_ts) for s in self.sealed]
        return sorted(set(self.closed_by_block) | set(opened) | set(sealed))

    def snapshot(self) -> list[bytes]:
        """WAL records that rebuild the current head from nothing (the log they start
        defines their series: later layouts need not log those again)."""
        logged: set[int] = set()
        records = self.snapshot_records(self.snapshot_parts(), logged)
        self.wal_gids = logged
        return records

    def snapshot_parts(self) -> list[SnapshotPart]:
        """What a snapshot must hold, as references to arrays no append writes again (rows
        already written never change; widening and growing allocate new arrays), so
        `snapshot_records` can serialise them outside the store's lock."""
        parts: list[SnapshotPart] = []
        for state in self.by_tid:
            pieces: list[EncodedSegment | SealedSegment | tuple[np.ndarray, ...]] = list(
                state.closed
            )
            segment = state.segment
            if segment is not None and segment.rows:
                pieces.append((segment.gids, *segment.view()))
            parts.append((state.tid, state.key, pieces))
        # The snapshot logs its own series; the new log starts knowing none, so until the
        # store adds what the snapshot logged (`snapshot_records`'s `logged`, once it is on
        # disk) a layout logs its series again (a duplicate record at worst) rather than
        # walking every segment here, under the lock, to list what the snapshot holds.
        self.wal_gids = set()
        return parts

    def snapshot_records(
        self, parts: list[SnapshotPart], logged: set[int] | None = None
    ) -> list[bytes]:
        """The records of `parts`; `logged` receives the series they define."""
        records: list[bytes] = []
        logged = set() if logged is None else logged
        keys = self.index.keys
        for tid, labels, pieces in parts:
            records.append(target_record(tid, labels))
            for piece in pieces:
                gids, ts, matrix = (
                    piece if isinstance(piece, tuple) else (piece.gids, *piece.matrix())
                )
                for gid in gids.tolist():
                    if gid not in logged:
                        logged.add(gid)
                        records.append(series_record(gid, keys[gid]))
                records.append(layout_record(tid, gids))
                records.extend(row_record(tid, int(t), r) for t, r in zip(ts, matrix, strict=True))
        return records

    # -- reading ---------------------------------------------------------------------------
    def freeze(self, gids: Iterable[int], start_ms: int, end_ms: int) -> HeadView:
        """What reading `gids` in the range needs, taken under the store's lock and used
        without it: per target, its closed segments in the range (never changed again) and
        its open segment frozen at its current rows (rows once written never change;
        appends past them and widening use other memory). One lookup per series here; the
        per-series filtering happens in `HeadView.sources`, outside the lock."""
        frozen: dict[int, _FrozenTarget] = {}
        owners: dict[int, tuple[_FrozenTarget, ...]] = {}
        for gid in gids:
            state = self.gid_target.get(gid)
            if state is None:
                continue
            shared = self.gid_shared.get(gid)
            targets = []
            for owner in shared if shared is not None else (state,):
                snapshot = frozen.get(owner.tid)
                if snapshot is None:
                    snapshot = frozen[owner.tid] = _FrozenTarget(owner, start_ms, end_ms)
                targets.append(snapshot)
            owners[gid] = tuple(targets)
        return HeadView(owners)

    def read(self, gid: int, start_ms: int, end_ms: int) -> list[tuple[np.ndarray, np.ndarray]]:
        sources = self.freeze((gid,), start_ms, end_ms).sources(gid)
        return [source.column(gid) for source in sources]

    def oldest_ts(self) -> int | None:
        starts = [s.min_ts for segs in self.closed_by_block.values() for s in segs]
        starts += [s.min_ts for s in self.sealed]
        starts += [int(s.segment.ts[0]) for s in self.by_tid if s.segment and s.segment.rows]
        return min(starts) if starts else None

    def open_bytes(self) -> int:
        return sum(s.segment.matrix.nbytes for s in self.by_tid if s.segment is not None)


class _FrozenTarget:
    __slots__ = ("closed", "open")

    def __init__(self, state: TargetState, start_ms: int, end_ms: int) -> None:
        self.closed = [s for s in state.closed if s.max_ts >= start_ms and s.min_ts <= end_ms]
        segment = state.segment
        self.open = segment.seal() if segment is not None and segment.rows else None


class HeadView:
    """The head's part of one read (see `Head.freeze`)."""

    __slots__ = ("_owners",)

    def __init__(self, owners: dict[int, tuple[_FrozenTarget, ...]]) -> None:
        self._owners = owners

    def sources(self, gid: int) -> list[ColumnSource]:
        out: list[ColumnSource] = []
        for target in self._owners.get(gid, ()):
            out.extend(s for s in target.closed if gid in s.col_of)
            if target.open is not None and gid in target.open.col_of:
                out.append(target.open)
        return out


def _first_seen(gids: np.ndarray) -> np.ndarray:
    """`gids` without repeats, in order of first appearance."""
    return gids[np.sort(np.unique(gids, return_index=True)[1])]
