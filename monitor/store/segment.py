"""Segments: one target's samples over a stretch of time, as a matrix.

A poll of one target yields the same few hundred series at one timestamp, so the head keeps
each target's samples as rows of a matrix (one column per series) sharing one timestamp
column. Timestamps are stored once per segment, not once per series, and compression works
on whole columns in bulk. A cell holding `ABSENT` means that series had no sample at that
row (it ended earlier in the segment).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from monitor.model import STALE_NAN_BITS
from monitor.store.codec import (
    CodecError,
    decode_ints,
    decode_values,
    encode_ints,
    encode_values,
)
from monitor.store.matrix_codec import decode_value_columns, encode_value_matrix

__all__ = [
    "ABSENT_BITS",
    "OpenSegment",
    "SealedSegment",
    "EncodedSegment",
    "encode_segment",
    "rollup_rows",
]

#: A NaN payload no collector produces: "no sample here".
ABSENT_BITS = np.uint64(0x7FF0000000DEAD01)
ABSENT = ABSENT_BITS.view(np.float64)
STALE = np.uint64(STALE_NAN_BITS).view(np.float64)
_STALE_BITS = np.uint64(STALE_NAN_BITS)
_ALL_PRESENT, _WITH_BITMAP = 0, 1
_FULL_FLAG = bytes([_ALL_PRESENT])


class OpenSegment:
    """The matrix a target is appending to; grows by doubling."""

    __slots__ = ("block", "col_of", "first_in_block", "gids", "matrix", "rows", "ts")

    def __init__(
        self,
        gids: np.ndarray,
        block: int,
        first_in_block: bool,
        col_of: dict[int, int] | None = None,
    ) -> None:
        self.gids = gids
        #: never changed once made (widening makes a new one), so segments sealed, frozen
        #: for a reader or encoded from this one, and the target's next segment, share it
        self.col_of = col_index(gids) if col_of is None else col_of
        #: the block window (start // block duration) the segment belongs to
        self.block = block
        #: no earlier segment of the target holds rows of this block window
        self.first_in_block = first_in_block
        self.rows = 0
        self.ts = np.empty(16, dtype=np.int64)
        self.matrix = np.empty((16, gids.size), dtype=np.float64)

    def append(self, ts_ms: int, row: np.ndarray) -> None:
        if self.rows == self.ts.size:
            self.ts = np.concatenate((self.ts, np.empty_like(self.ts)))
            self.matrix = np.concatenate((self.matrix, np.empty_like(self.matrix)))
        self.ts[self.rows] = ts_ms
        self.matrix[self.rows] = row
        self.rows += 1

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.ts[: self.rows], self.matrix[: self.rows]

    def column(self, gid: int) -> tuple[np.ndarray, np.ndarray]:
        ts, matrix = self.view()
        return _present(ts, matrix[:, self.col_of[gid]])

    def widen(self, extra: np.ndarray) -> None:
        """Add columns for series new in this chunk; earlier rows get ABSENT in them.

        Cheaper than closing the segment: a histogram bucket or command showing up for the
        first time costs one matrix copy, not a compression of everything so far.
        """
        base = self.gids.size
        self.gids = np.concatenate((self.gids, extra))
        col_of = dict(self.col_of)
        for i, gid in enumerate(extra.tolist()):
            col_of[gid] = base + i
        self.col_of = col_of
        wider = np.full((self.ts.size, self.gids.size), ABSENT)
        wider[: self.rows, :base] = self.matrix[: self.rows]
        self.matrix = wider

    def seal(self, whole_block: bool = False) -> SealedSegment:
        ts, matrix = self.view()
        return SealedSegment(self.gids, ts, matrix, self.col_of, whole_block)


@dataclass(frozen=True, slots=True)
class SealedSegment:
    """A finished segment not yet compressed: `maintain()` encodes it off the append path.

    Its arrays are never written again (the open segment that made it is gone), so it can be
    encoded outside the store's lock while readers read it inside.
    """

    gids: np.ndarray
    ts: np.ndarray
    values: np.ndarray
    col_of: dict[int, int] = field(compare=False)
    #: all its target's rows of its block window: its rollups need no merging at the cut
    whole_block: bool = False

    @property
    def min_ts(self) -> int:
        return int(self.ts[0])

    @property
    def max_ts(self) -> int:
        return int(self.ts[-1])

    def column(self, gid: int) -> tuple[np.ndarray, np.ndarray]:
        return _present(self.ts, self.values[:, self.col_of[gid]])

    def matrix(self) -> tuple[np.ndarray, np.ndarray]:
        return self.ts, self.values


def _present(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = values.view(np.uint64) != ABSENT_BITS
    if keep.all():
        return ts.copy(), values.copy()
    return ts[keep], values[keep]


@dataclass(frozen=True, slots=True)
class EncodedSegment:
    """A closed, compressed segment. `columns[i]` holds series `gids[i]`."""

    gids: np.ndarray
    rows: int
    min_ts: int
    max_ts: int
    ts_bytes: bytes
    columns: list[bytes]
    samples: int
    col_of: dict[int, int] = field(compare=False)
    #: the decoded timestamps, once a reader asked (a head segment is read by every fleet
    #: query until the block cut: 1,000 targets' chunks were decoded again by each of them)
    _ts: list[np.ndarray] = field(default_factory=list, compare=False, repr=False)

    @property
    def nbytes(self) -> int:
        return len(self.ts_bytes) + sum(len(c) for c in self.columns)

    def timestamps(self) -> np.ndarray:
        """Read-only (shared by every reader of the segment)."""
        if self._ts:
            return self._ts[0]
        ts = decode_ints(self.ts_bytes, self.rows)
        ts.flags.writeable = False
        self._ts.append(ts)  # two readers racing both decode; either result is the same
        return ts

    def column(self, gid: int) -> tuple[np.ndarray, np.ndarray]:
        return decode_column(self.timestamps(), self.columns[self.col_of[gid]])

    def column_at(self, ts: np.ndarray, gid: int) -> tuple[np.ndarray, np.ndarray]:
        """`column(gid)` given `timestamps()` already decoded (a read of many series)."""
        return decode_column(ts, self.columns[self.col_of[gid]])

    def matrix(self) -> tuple[np.ndarray, np.ndarray]:
        return self.timestamps(), decode_columns(self.rows, self.columns)


def encode_column(values: np.ndarray) -> bytes:
    present = values.view(np.uint64) != ABSENT_BITS
    if present.all():
        return bytes([_ALL_PRESENT]) + encode_values(values)
    return bytes([_WITH_BITMAP]) + np.packbits(present).tobytes() + encode_values(values[present])


def _split_column(rows: int, data: bytes) -> tuple[np.ndarray | None, np.ndarray]:
    if not data:
        raise CodecError("empty column")
    if data[0] == _ALL_PRESENT:
        values = decode_values(data[1:])
        if values.size != rows:
            raise CodecError(f"column has {values.size} values for {rows} rows")
        return None, values
    if data[0] != _WITH_BITMAP:
        raise CodecError(f"bad column flag {data[0]}")
    nbytes = (rows + 7) // 8
    present = np.unpackbits(np.frombuffer(data, np.uint8, nbytes, 1), count=rows).astype(bool)
    values = decode_values(data[1 + nbytes :])
    if values.size != int(present.sum()):
        raise CodecError("column bitmap does not match its values")
    return present, values


def decode_column(ts: np.ndarray, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    present, values = _split_column(ts.size, data)
    return (ts, values) if present is None else (ts[present], values)


def decode_column_filled(rows: int, data: bytes) -> np.ndarray:
    present, values = _split_column(rows, data)
    if present is None:
        return values
    full = np.full(rows, ABSENT, dtype=np.float64)
    full[present] = values
    return full


def encode_columns(matrix: np.ndarray) -> list[bytes]:
    """`[encode_column(matrix[:, i]) for i in columns]`, the columns without ABSENT cells
    (nearly all) encoded together."""
    full = (matrix.view(np.uint64) != ABSENT_BITS).all(axis=0)
    out = [b""] * matrix.shape[1]
    where = np.flatnonzero(full)
    for i, data in zip(where.tolist(), encode_value_matrix(matrix[:, where]), strict=True):
        out[i] = _FULL_FLAG + data
    for i in np.flatnonzero(~full).tolist():
        out[i] = encode_column(matrix[:, i])
    return out


def decode_columns(rows: int, columns: list[bytes]) -> np.ndarray:
    """The (rows, columns) matrix of `decode_column_filled` of each column; CodecError for
    a damaged one."""
    full = [i for i, data in enumerate(columns) if data[:1] == _FULL_FLAG]
    values = decode_value_columns([columns[i][1:] for i in full], rows)
    if len(full) == len(columns):
        return values
    matrix = np.empty((rows, len(columns)), dtype=np.float64)
    matrix[:, full] = values
    for i, data in enumerate(columns):
        if data[:1] != _FULL_FLAG:
            matrix[:, i] = decode_column_filled(rows, data)
    return matrix


def col_index(gids: np.ndarray) -> dict[int, int]:
    return {g: i for i, g in enumerate(gids.tolist())}


def encode_segment(
    gids: np.ndarray,
    ts: np.ndarray,
    matrix: np.ndarray,
    col_of: dict[int, int] | None = None,
) -> EncodedSegment:
    """`col_of`, when given, is `gids`'s column index, shared (never changed once made)."""
    return EncodedSegment(
        gids=gids,
        rows=int(ts.size),
        min_ts=int(ts[0]),
        max_ts=int(ts[-1]),
        ts_bytes=encode_ints(ts),
        columns=encode_columns(matrix),
        samples=int((matrix.view(np.uint64) != ABSENT_BITS).sum()),
        col_of=col_index(gids) if col_of is None else col_of,
    )


def rollup_rows(
    ts: np.ndarray, matrix: np.ndarray, resolution_ms: int, counters: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Downsample: keep the last row of each `resolution_ms` bucket; for counter columns also
    keep the sample just before every decrease (a reset), so `rate()` over the rollup sees
    the same increase as over the raw data; stale markers are always kept."""
    if ts.size == 0:
        return ts, matrix
    buckets = ts // resolution_ms
    last_of_bucket = np.append(buckets[1:] != buckets[:-1], True)
    bits = matrix.view(np.uint64)
    keep = np.repeat(last_of_bucket[:, None], matrix.shape[1], axis=1)
    keep |= bits == _STALE_BITS
    if counters.any() and ts.size > 1:
        cols = matrix[:, counters]
        # NaN compares False, so stale/absent cells never count as a reset.
        before_reset = np.zeros_like(cols, dtype=bool)
        before_reset[:-1] = cols[1:] < cols[:-1]
        keep[:, counters] |= before_reset
    rows = keep.any(axis=1)
    kept = np.where(keep, matrix, ABSENT)[rows]
    return ts[rows], kept
