"""Immutable on-disk blocks: encoded segments plus an index of their series.

Layout of `<tier>/<start>-<end>.blk` (version 2):

    b"CWBLK002"                              magic
    segment data                             per segment: timestamps, then its columns
    index                                    zlib(JSON header) + zlib(int64 column table)
                                             + u32 crc32 of every column, in table order
    footer: u64 index offset, u32 header length, u32 table length, u32 checksum-table
            length, u32 crc32(index), magic

The JSON header holds the block's tier, window, series labels (block-local order), one
entry per segment (with the crc32 of its timestamps) and `stands_in`: the coarser tiers
whose rollup of this window is this block's data row for row (a poll interval as long as
their resolution), which keep no copy of their own while this block exists (see
docs/STORE.md). The column table holds (local series, offset, length) per column. Every
piece a read decodes is checked against its crc32 first, so a flipped bit is an error
naming the file, never a wrong value.

Version 1 (`CWBLK001`, no per-piece checksums, a footer without the checksum-table length)
is still read; whatever compaction merges is written as version 2.
Blocks are written to a temp file, fsynced and renamed, so a block is either whole or absent.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monitor.store.batch_decode import decode_int_streams
from monitor.store.codec import CodecError, decode_ints
from monitor.store.segment import EncodedSegment, decode_column
from monitor.store.series_index import SeriesKey

__all__ = [
    "BlockError",
    "CorruptBlockError",
    "BlockReader",
    "WrittenIndex",
    "write_block",
    "write_copy",
    "block_name",
]

MAGIC = b"CWBLK002"
MAGIC_V1 = b"CWBLK001"
_FOOTER = struct.Struct("<QIIII8s")
_FOOTER_V1 = struct.Struct("<QIII8s")
#: the series id of a series a scoped open skipped (no read asks for a negative id)
_SKIPPED = -1
#: columns this close together are read with one system call (the bytes between are read
#: and dropped: cheaper than another pread)
_GAP = 16 * 1024


class BlockError(ValueError):
    """A block file that cannot be read; the message names the file."""


class CorruptBlockError(BlockError):
    """A block whose bytes do not match their checksum (or cannot be decoded)."""


def block_name(start_ms: int, end_ms: int) -> str:
    return f"{start_ms:015d}-{end_ms:015d}.blk"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class WrittenIndex:
    """A block's index as its writer made it, so a reader of the new file need not read
    the index back: parsing the JSON of 450,000 series' labels (three blocks per cut at
    1,000 targets) and interning them again cost more CPU than encoding the block, and its
    ~200 MB of short-lived lists and strings stayed in the process's RSS."""

    header: dict[str, Any]
    #: (local series, offset, length) per column
    table: np.ndarray
    crcs: np.ndarray
    #: series id of each local series
    gids: np.ndarray
    #: where the index starts, and its header, table and checksum lengths (`copy_parts`)
    index_at: int
    lengths: tuple[int, int, int]


def write_block(
    path: Path,
    tier: str,
    start_ms: int,
    end_ms: int,
    segments: list[EncodedSegment],
    key_of: Callable[[int], SeriesKey],
    stands_in: Sequence[str] = (),
) -> WrittenIndex:
    """Returns the index written, for `BlockReader(path, intern, written=...)`."""
    written: list[WrittenIndex] = []

    def write(tmp: Path) -> None:
        written.append(_write(tmp, tier, start_ms, end_ms, segments, key_of, stands_in))

    _replace(path, write)
    return written[0]


def write_copy(source: BlockReader, path: Path, tier: str, stands_in: Sequence[str]) -> None:
    """Copy a (version 2) block as a block of `tier` standing in for `stands_in`: the data,
    column table and checksums byte for byte, a new header. Used when a block that stands in
    for a coarser tier is dropped (its tier's retention, or merged into a file that does
    not stand in): the coarser tier gets its own copy without decoding anything."""
    body, header, table, checksums = source.copy_parts()
    header = {**header, "tier": tier}
    header.pop("stands_in", None)
    if stands_in:
        header["stands_in"] = list(stands_in)
    header_bytes = zlib.compress(json.dumps(header, separators=(",", ":")).encode(), 6)
    index = header_bytes + table + checksums

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            out.write(body)
            out.write(index)
            lengths = (len(header_bytes), len(table), len(checksums))
            out.write(_FOOTER.pack(len(body), *lengths, zlib.crc32(index), MAGIC))
            out.flush()
            os.fsync(out.fileno())

    _replace(path, write)


def _replace(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_suffix(".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not also leave half a block behind
        raise
    _fsync_dir(path.parent)


def _write(
    tmp: Path,
    tier: str,
    start_ms: int,
    end_ms: int,
    segments: list[EncodedSegment],
    key_of: Callable[[int], SeriesKey],
    stands_in: Sequence[str],
) -> WrittenIndex:
    local_of: dict[int, int] = {}
    #: label pairs as tuples: JSON writes a tuple as it writes a list, so the bytes are the
    #: same without a list made per pair of 450,000 series per block at 1,000 targets
    series: list[SeriesKey] = []
    entries = []
    table: list[np.ndarray] = []
    crcs: list[int] = []
    with open(tmp, "wb") as out:
        out.write(MAGIC)
        offset = len(MAGIC)
        for seg in segments:
            out.write(seg.ts_bytes)
            entries.append(
                [
                    seg.rows,
                    seg.min_ts,
                    seg.max_ts,
                    offset,
                    len(seg.ts_bytes),
                    zlib.crc32(seg.ts_bytes),
                ]
            )
            offset += len(seg.ts_bytes)
            locals_ = []
            for gid in seg.gids.tolist():
                local = local_of.get(gid)
                if local is None:
                    local = local_of[gid] = len(series)
                    series.append(key_of(gid))
                locals_.append(local)
            lengths = np.fromiter((len(c) for c in seg.columns), np.int64, len(seg.columns))
            starts = offset + np.concatenate(([0], np.cumsum(lengths)[:-1]))
            table.append(np.stack((np.array(locals_, np.int64), starts, lengths)))
            crcs.extend(zlib.crc32(column) for column in seg.columns)
            out.write(b"".join(seg.columns))
            offset += int(lengths.sum())
        header = {"tier": tier, "start": start_ms, "end": end_ms, "series": series}
        header["segments"] = entries
        header["columns"] = [len(seg.columns) for seg in segments]
        header["samples"] = sum(seg.samples for seg in segments)
        if stands_in:
            header["stands_in"] = list(stands_in)
        header_bytes = zlib.compress(json.dumps(header, separators=(",", ":")).encode(), 6)
        columns = np.concatenate(table, axis=1) if table else np.empty((3, 0), np.int64)
        table_bytes = zlib.compress(columns.astype("<i8").tobytes(), 6)
        crc_array = np.array(crcs, "<u4")
        crc_bytes = crc_array.tobytes()
        index = header_bytes + table_bytes + crc_bytes
        out.write(index)
        out.write(
            _FOOTER.pack(
                offset,
                len(header_bytes),
                len(table_bytes),
                len(crc_bytes),
                zlib.crc32(index),
                MAGIC,
            )
        )
        out.flush()
        os.fsync(out.fileno())
    gids = np.fromiter(local_of, np.int64, len(local_of))
    index_lengths = (len(header_bytes), len(table_bytes), len(crc_bytes))
    return WrittenIndex(header, columns, crc_array, gids, offset, index_lengths)


def _narrow(values: np.ndarray, dtype: type[np.signedinteger[Any]]) -> np.ndarray:
    info = np.iinfo(dtype)
    if not values.size or (info.min <= values.min() and values.max() <= info.max):
        return values.astype(dtype)
    return values


@dataclass
class _Segment:
    rows: int
    min_ts: int
    max_ts: int
    ts_offset: int
    ts_length: int
    ts_crc: int | None = None  # version 1 blocks have none


class BlockReader:
    """An open block: its index in memory (numpy arrays), data read on demand.

    Readers read a block outside the store's lock, so a block the writer drops (compaction,
    retention) is `retire()`d: its file is closed once the last reader `release()`s it.
    """

    def __init__(
        self,
        path: Path,
        intern: Callable[[SeriesKey], int],
        metrics: frozenset[str] | None = None,
        written: WrittenIndex | None = None,
    ) -> None:
        """With `metrics` (a scoped read-only open, `monitor.store.scope`) only series of
        those metric names are interned; the others' columns are never read. `written`:
        what `write_block` returned, for the block it just wrote."""
        self.path = path
        self._users = 0
        self._retired = False
        self._refs = threading.Lock()
        try:
            self._file = open(path, "rb")  # noqa: SIM115 - kept open for the block's life
        except OSError as exc:
            raise BlockError(f"{path}: cannot open block: {exc}") from exc
        try:
            if written is None:
                self._load_index(intern, metrics)
            else:
                self.nbytes = os.fstat(self._file.fileno()).st_size
                self._index_at, self._index_lengths = written.index_at, written.lengths
                self._version2 = True
                self._set_index(written.header, written.table, written.crcs, written.gids)
        except (BlockError, CodecError, ValueError, KeyError, TypeError, zlib.error) as exc:
            self._file.close()
            raise CorruptBlockError(f"{path}: corrupt block: {exc}") from exc

    def _load_index(
        self, intern: Callable[[SeriesKey], int], metrics: frozenset[str] | None
    ) -> None:
        fd = self._file.fileno()
        size = os.fstat(fd).st_size
        self.nbytes = size
        magic = os.pread(fd, len(MAGIC), 0)
        footer_format = {MAGIC: _FOOTER, MAGIC_V1: _FOOTER_V1}.get(magic)
        if footer_format is None or size < len(magic) + footer_format.size:
            raise BlockError("bad magic or file too short")
        footer = os.pread(fd, footer_format.size, size - footer_format.size)
        if footer_format is _FOOTER:
            index_at, header_len, table_len, crc_len, crc, end_magic = _FOOTER.unpack(footer)
        else:
            index_at, header_len, table_len, crc, end_magic = _FOOTER_V1.unpack(footer)
            crc_len = 0
        if end_magic != magic:
            raise BlockError("bad magic at the end (a truncated file?)")
        index = os.pread(fd, header_len + table_len + crc_len, index_at)
        if len(index) != header_len + table_len + crc_len or zlib.crc32(index) != crc:
            raise BlockError("index checksum mismatch")
        header_json = zlib.decompress(index[:header_len])
        table_end = header_len + table_len
        table = np.frombuffer(zlib.decompress(index[header_len:table_end]), "<i8").reshape(3, -1)
        count = int(table[0].max()) + 1 if table.shape[1] else 0
        split = None if metrics is None else _series_of(header_json, metrics, count)
        picked: dict[int, Any] | None = None
        if split is not None:
            header, picked = split
            series: list[Any] = []
        else:
            header = json.loads(header_json)
            series = header["series"]
            if metrics is not None:
                picked = {i: p for i, p in enumerate(series) if _metric(p) in metrics}
        crcs = np.frombuffer(index[table_end:], "<u4") if crc_len else None
        if crcs is not None and crcs.size != table.shape[1]:
            raise BlockError("checksum table does not match the column table")
        if picked is None:
            local_to_gid = np.array([intern(tuple(map(tuple, p))) for p in series], np.int64)
        else:
            local_to_gid = np.full(max(count, len(series)), _SKIPPED, np.int64)
            for local, pairs in picked.items():
                local_to_gid[local] = intern(tuple(map(tuple, pairs)))
        self._index_at = index_at
        self._index_lengths = (header_len, table_len, crc_len)
        self._version2 = footer_format is _FOOTER
        self._set_index(header, table, crcs, local_to_gid)

    def _set_index(
        self,
        header: dict[str, Any],
        table: np.ndarray,
        crcs: np.ndarray | None,
        local_to_gid: np.ndarray,
    ) -> None:
        self.tier: str = header["tier"]
        self.start_ms: int = header["start"]
        self.end_ms: int = header["end"]
        self.segments = [_Segment(*entry) for entry in header["segments"]]
        seg_of_col = np.repeat(np.arange(len(self.segments)), header["columns"])
        gids = local_to_gid[table[0]] if table.shape[1] else np.empty(0, np.int64)
        order = np.lexsort((seg_of_col, gids))
        # Held per column of every open block (450,000 per 10-minute block at 1,000
        # targets): narrowed where the values fit, 24 bytes a column instead of 36. Series
        # ids stay int64: `searchsorted` with a needle of another dtype would copy the array.
        self._gids = gids[order]
        self._seg = _narrow(seg_of_col[order], np.int32)
        positions = np.uint32 if self.nbytes < 2**32 else np.int64
        self._offset = table[1][order].astype(positions)
        self._length = table[2][order].astype(positions)
        self._crc = crcs[order] if crcs is not None else None
        self.series_ids = np.unique(gids[gids != _SKIPPED])
        self.samples: int = header["samples"]
        self.stands_in: tuple[str, ...] = tuple(header.get("stands_in", ()))
        self._bounds: np.ndarray | None = None

    # -- sharing with readers ----------------------------------------------------------------
    def acquire(self) -> bool:
        """Keep the file open for a read; False once the block was retired."""
        with self._refs:
            if self._retired:
                return False
            self._users += 1
            return True

    def release(self) -> None:
        with self._refs:
            self._users -= 1
            last = self._retired and self._users == 0
        if last:
            self._file.close()

    def retire(self) -> None:
        """No new reads; the file closes when the last running one ends."""
        with self._refs:
            self._retired = True
            idle = self._users == 0
        if idle:
            self._file.close()

    def close(self) -> None:
        self.retire()

    # -- reading -----------------------------------------------------------------------------
    def copy_parts(self) -> tuple[bytes, dict[str, object], bytes, bytes]:
        """What `write_copy` needs: the bytes before the index (magic, segment data), the
        parsed header, the column table and the checksums as stored. The index is checked
        against its crc32 again."""
        if not self._version2:
            raise BlockError(f"{self.path}: a version 1 block cannot be copied")
        header_len, table_len, crc_len = self._index_lengths
        fd = self._file.fileno()
        body = os.pread(fd, self._index_at, 0)
        index = os.pread(fd, header_len + table_len + crc_len, self._index_at)
        footer = os.pread(fd, _FOOTER.size, self._index_at + len(index))
        if len(body) != self._index_at or zlib.crc32(index) != _FOOTER.unpack(footer)[4]:
            raise CorruptBlockError(f"{self.path}: index checksum mismatch")
        header = json.loads(zlib.decompress(index[:header_len]))
        table_end = header_len + table_len
        return body, header, index[header_len:table_end], index[table_end:]

    def _read(self, offset: int, length: int, crc: int | None) -> bytes:
        data = os.pread(self._file.fileno(), length, offset)
        if len(data) != length:
            raise CorruptBlockError(f"{self.path}: truncated data at offset {offset}")
        if crc is not None and zlib.crc32(data) != crc:
            raise CorruptBlockError(f"{self.path}: checksum mismatch at offset {offset}")
        return data

    def timestamps(self, seg_index: int) -> np.ndarray:
        seg = self.segments[seg_index]
        data = self._read(seg.ts_offset, seg.ts_length, seg.ts_crc)
        try:
            return decode_ints(data, seg.rows)
        except CodecError as exc:
            raise CorruptBlockError(f"{self.path}: corrupt timestamps: {exc}") from exc

    def _column(self, i: int) -> bytes:
        crc = None if self._crc is None else int(self._crc[i])
        return self._read(int(self._offset[i]), int(self._length[i]), crc)

    def _overlapping(self, gid: int, start_ms: int, end_ms: int) -> Iterator[tuple[int, int]]:
        """(column entry, segment) of series `gid` in segments overlapping the range."""
        lo, hi = np.searchsorted(self._gids, [gid, gid + 1])
        for i in range(int(lo), int(hi)):
            seg_index = int(self._seg[i])
            seg = self.segments[seg_index]
            if seg.max_ts >= start_ms and seg.min_ts <= end_ms:
                yield i, seg_index

    def locate(self, gids: np.ndarray, start_ms: int, end_ms: int) -> tuple[np.ndarray, np.ndarray]:
        """For a read of many series (`gids` ascending): (position in `gids`, column entry)
        of each of their columns in segments overlapping the range, in the order `read` of
        each series in turn would read them."""
        first = np.searchsorted(self._gids, gids, "left")
        counts = np.searchsorted(self._gids, gids, "right") - first
        positions = np.repeat(np.arange(gids.size), counts)
        starts = np.cumsum(counts) - counts
        entries = np.repeat(first - starts, counts) + np.arange(positions.size)
        seg = self._seg[entries]
        bounds = self._segment_bounds()
        overlapping = (bounds[1][seg] >= start_ms) & (bounds[0][seg] <= end_ms)
        return positions[overlapping], entries[overlapping]

    def _segment_bounds(self) -> np.ndarray:
        """min_ts, max_ts and rows of every segment, as arrays (worked out once)."""
        if self._bounds is None:
            self._bounds = (
                np.array([[s.min_ts, s.max_ts, s.rows] for s in self.segments], np.int64)
                .reshape(-1, 3)
                .T.copy()
            )
        return self._bounds

    def entry_segments(self, entries: np.ndarray) -> np.ndarray:
        return self._seg[entries]

    def segment_rows(self, segments: np.ndarray) -> np.ndarray:
        return self._segment_bounds()[2][segments]

    def read_columns(self, entries: np.ndarray) -> list[bytes]:
        """The bytes of these column entries, checked against their checksums; neighbouring
        columns are read with one system call (a segment's columns are contiguous)."""
        offsets, lengths = self._offset[entries], self._length[entries]
        crcs = None if self._crc is None else self._crc[entries].tolist()
        return self._read_spans(offsets.tolist(), lengths.tolist(), crcs)

    def read_timestamps(self, segments: list[int]) -> list[np.ndarray]:
        """`[timestamps(s) for s in segments]`, decoded together."""
        spans = [self.segments[s] for s in segments]
        data = self._read_spans(
            [s.ts_offset for s in spans], [s.ts_length for s in spans], [s.ts_crc for s in spans]
        )
        try:
            return decode_int_streams([(d, s.rows) for d, s in zip(data, spans, strict=True)])
        except CodecError as exc:
            raise CorruptBlockError(f"{self.path}: corrupt timestamps: {exc}") from exc

    def _read_spans(
        self, offsets: list[int], lengths: list[int], crcs: Sequence[int | None] | None
    ) -> list[bytes]:
        order = sorted(range(len(offsets)), key=offsets.__getitem__)
        out: list[bytes] = [b""] * len(offsets)
        fd = self._file.fileno()
        i = 0
        while i < len(order):
            run_start = offsets[order[i]]
            run_end = run_start + lengths[order[i]]
            j = i + 1
            while j < len(order) and offsets[order[j]] <= run_end + _GAP:
                run_end = max(run_end, offsets[order[j]] + lengths[order[j]])
                j += 1
            data = os.pread(fd, run_end - run_start, run_start)
            for k in order[i:j]:
                at = offsets[k] - run_start
                piece = data[at : at + lengths[k]]
                if len(piece) != lengths[k]:
                    raise CorruptBlockError(f"{self.path}: truncated data at offset {offsets[k]}")
                crc = None if crcs is None else crcs[k]
                if crc is not None and zlib.crc32(piece) != crc:
                    raise CorruptBlockError(
                        f"{self.path}: checksum mismatch at offset {offsets[k]}"
                    )
                out[k] = piece
            i = j
        return out

    def read(self, gid: int, start_ms: int, end_ms: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """One series' pieces in the range, read on their own (a read of many series uses
        `locate`, `read_columns` and `read_timestamps` instead)."""
        pieces = []
        for i, seg_index in self._overlapping(gid, start_ms, end_ms):
            ts = self.timestamps(seg_index)
            try:
                pieces.append(decode_column(ts, self._column(i)))
            except CodecError as exc:
                raise CorruptBlockError(
                    f"{self.path}: corrupt column of series {gid}: {exc}"
                ) from exc
        return pieces

    def iter_segments(self) -> Iterator[tuple[np.ndarray, list[bytes], np.ndarray]]:
        """(gids, columns, timestamps) of each segment, in file order, every piece checked."""
        order = np.argsort(self._seg, kind="stable")
        bounds = np.searchsorted(self._seg[order], np.arange(len(self.segments) + 1))
        for seg_index in range(len(self.segments)):
            cols = order[bounds[seg_index] : bounds[seg_index + 1]]
            cols = cols[np.argsort(self._offset[cols])]
            yield self._gids[cols], self._columns(cols), self.timestamps(seg_index)

    def _columns(self, cols: np.ndarray) -> list[bytes]:
        """Columns `cols` (by offset) read with one `pread` (a segment's columns are
        written back to back; a compaction read ~450 of them per segment one by one), each
        checked against its own crc32."""
        if not cols.size:
            return []
        starts, lengths = self._offset[cols], self._length[cols]
        base = int(starts[0])
        blob = self._read(base, int((starts + lengths).max()) - base, None)
        crcs = [None] * cols.size if self._crc is None else self._crc[cols].tolist()
        out = []
        for start, length, crc in zip(starts.tolist(), lengths.tolist(), crcs, strict=True):
            piece = blob[start - base : start - base + length]
            if crc is not None and zlib.crc32(piece) != crc:
                raise CorruptBlockError(f"{self.path}: checksum mismatch at offset {start}")
            out.append(piece)
        return out


_SERIES_FROM = b'"series":['
_SERIES_UNTIL = b'],"segments":'
_BETWEEN_SERIES = b"]],[["


def _metric(pairs: list[list[str]]) -> str | None:
    return next((v for k, v in pairs if k == "__name__"), None)


def _series_of(
    header: bytes, metrics: frozenset[str], count: int
) -> tuple[dict[str, Any], dict[int, Any]] | None:
    """The header without its series, and the series of `metrics` by block-local index,
    without decoding the others (at 1,000 targets the series are a 50 MB JSON array, and
    decoding it was most of opening a block). Relies on what `_write` writes: compact JSON,
    keys in order, the series array followed by `"segments"`, each series `[["k","v"],...]`;
    a quote inside a string is escaped, so neither `],"segments":` nor a `["__name__","x"]`
    pair can occur inside a label value. `]],[[` can: the series are counted, and when that
    count is not the block's (a label value holds it) this returns None and the caller
    decodes everything."""
    begin = header.find(_SERIES_FROM)
    end = header.find(_SERIES_UNTIL, begin)
    if begin < 0 or end < 0:
        return None
    begin += len(_SERIES_FROM)
    if (header.count(_BETWEEN_SERIES, begin, end) + 1 if end > begin else 0) != count:
        return None
    rest = json.loads(header[: begin - len(_SERIES_FROM)] + header[end + 2 :])
    needles = [json.dumps(["__name__", m], separators=(",", ":")).encode() for m in metrics]
    hits = sorted(at for needle in needles for at in _occurrences(header, needle, begin, end))
    picked: dict[int, Any] = {}
    local, counted_to = 0, begin
    for at in hits:
        # a pair that opens its series shares its "[" with the `]],[[` before it
        local += header.count(_BETWEEN_SERIES, counted_to, at + 1)
        counted_to = at + 1
        start = header.rfind(_BETWEEN_SERIES, begin, at + 1)
        start = begin if start < 0 else start + 3
        stop = header.find(_BETWEEN_SERIES, at, end)
        stop = end if stop < 0 else stop + 2
        picked[local] = json.loads(header[start:stop])
    return rest, picked


def _occurrences(data: bytes, needle: bytes, begin: int, end: int) -> Iterator[int]:
    at = data.find(needle, begin, end)
    while at >= 0:
        yield at
        at = data.find(needle, at + len(needle), end)
