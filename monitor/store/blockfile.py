"""Immutable on-disk blocks: encoded segments plus an index of their series.

Layout of `<tier>/<start>-<end>.blk`:

    b"CWBLK001"                              magic
    segment data                             per segment: timestamps, then its columns
    index                                    zlib(JSON header) + zlib(int64 column table)
    footer: u64 index offset, u32 header length, u32 table length, u32 crc32(index), magic

The JSON header holds the block's tier, window, series labels (block-local order) and one
entry per segment; the column table holds (local series, offset, length) per column.
Blocks are written to a temp file, fsynced and renamed, so a block is either whole or absent.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.store.codec import CodecError, decode_ints
from monitor.store.segment import EncodedSegment, decode_column
from monitor.store.series_index import SeriesKey

__all__ = ["BlockError", "BlockReader", "write_block", "block_name"]

MAGIC = b"CWBLK001"
_FOOTER = struct.Struct("<QIII8s")


class BlockError(ValueError):
    """A block file that cannot be read; the message names the file."""


def block_name(start_ms: int, end_ms: int) -> str:
    return f"{start_ms:015d}-{end_ms:015d}.blk"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_block(
    path: Path,
    tier: str,
    start_ms: int,
    end_ms: int,
    segments: list[EncodedSegment],
    key_of: Callable[[int], SeriesKey],
) -> None:
    local_of: dict[int, int] = {}
    series: list[list[list[str]]] = []
    entries = []
    table: list[np.ndarray] = []
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        out.write(MAGIC)
        offset = len(MAGIC)
        for seg in segments:
            out.write(seg.ts_bytes)
            entries.append([seg.rows, seg.min_ts, seg.max_ts, offset, len(seg.ts_bytes)])
            offset += len(seg.ts_bytes)
            locals_ = []
            for gid in seg.gids.tolist():
                local = local_of.get(gid)
                if local is None:
                    local = local_of[gid] = len(series)
                    series.append([list(pair) for pair in key_of(gid)])
                locals_.append(local)
            lengths = np.fromiter((len(c) for c in seg.columns), np.int64, len(seg.columns))
            starts = offset + np.concatenate(([0], np.cumsum(lengths)[:-1]))
            table.append(np.stack((np.array(locals_, np.int64), starts, lengths)))
            out.write(b"".join(seg.columns))
            offset += int(lengths.sum())
        header = {"tier": tier, "start": start_ms, "end": end_ms, "series": series}
        header["segments"] = entries
        header["columns"] = [len(seg.columns) for seg in segments]
        header["samples"] = sum(seg.samples for seg in segments)
        header_bytes = zlib.compress(json.dumps(header, separators=(",", ":")).encode(), 6)
        columns = np.concatenate(table, axis=1) if table else np.empty((3, 0), np.int64)
        table_bytes = zlib.compress(columns.astype("<i8").tobytes(), 6)
        index = header_bytes + table_bytes
        out.write(index)
        out.write(
            _FOOTER.pack(offset, len(header_bytes), len(table_bytes), zlib.crc32(index), MAGIC)
        )
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


@dataclass
class _Segment:
    rows: int
    min_ts: int
    max_ts: int
    ts_offset: int
    ts_length: int


class BlockReader:
    """An open block: its index in memory (numpy arrays), data read on demand."""

    def __init__(self, path: Path, intern: Callable[[SeriesKey], int]) -> None:
        self.path = path
        try:
            self._file = open(path, "rb")  # noqa: SIM115 - kept open for the block's life
        except OSError as exc:
            raise BlockError(f"{path}: cannot open block: {exc}") from exc
        try:
            self._load_index(intern)
        except (BlockError, CodecError, ValueError, KeyError, zlib.error) as exc:
            self._file.close()
            raise BlockError(f"{path}: corrupt block: {exc}") from exc

    def _load_index(self, intern: Callable[[SeriesKey], int]) -> None:
        size = os.fstat(self._file.fileno()).st_size
        self.nbytes = size
        if size < len(MAGIC) + _FOOTER.size:
            raise BlockError("file too short")
        footer = os.pread(self._file.fileno(), _FOOTER.size, size - _FOOTER.size)
        index_at, header_len, table_len, crc, magic = _FOOTER.unpack(footer)
        if magic != MAGIC or os.pread(self._file.fileno(), len(MAGIC), 0) != MAGIC:
            raise BlockError("bad magic")
        index = os.pread(self._file.fileno(), header_len + table_len, index_at)
        if len(index) != header_len + table_len or zlib.crc32(index) != crc:
            raise BlockError("index checksum mismatch")
        header = json.loads(zlib.decompress(index[:header_len]))
        table = np.frombuffer(zlib.decompress(index[header_len:]), "<i8").reshape(3, -1)
        self.tier: str = header["tier"]
        self.start_ms: int = header["start"]
        self.end_ms: int = header["end"]
        self.segments = [_Segment(*entry) for entry in header["segments"]]
        local_to_gid = np.array(
            [intern(tuple((k, v) for k, v in pairs)) for pairs in header["series"]], np.int64
        )
        seg_of_col = np.repeat(np.arange(len(self.segments)), header["columns"])
        gids = local_to_gid[table[0]] if table.shape[1] else np.empty(0, np.int64)
        order = np.lexsort((seg_of_col, gids))
        self._gids = gids[order]
        self._seg = seg_of_col[order]
        self._offset = table[1][order]
        self._length = table[2][order]
        self.series_ids = np.unique(gids)
        self.samples: int = header["samples"]

    def close(self) -> None:
        self._file.close()

    def _read(self, offset: int, length: int) -> bytes:
        data = os.pread(self._file.fileno(), length, offset)
        if len(data) != length:
            raise BlockError(f"{self.path}: truncated data at offset {offset}")
        return data

    def timestamps(self, seg_index: int) -> np.ndarray:
        seg = self.segments[seg_index]
        return decode_ints(self._read(seg.ts_offset, seg.ts_length), seg.rows)

    def read(self, gid: int, start_ms: int, end_ms: int) -> list[tuple[np.ndarray, np.ndarray]]:
        lo, hi = np.searchsorted(self._gids, [gid, gid + 1])
        pieces = []
        for i in range(lo, hi):
            seg_index = int(self._seg[i])
            seg = self.segments[seg_index]
            if seg.max_ts < start_ms or seg.min_ts > end_ms:
                continue
            try:
                ts, values = decode_column(
                    self.timestamps(seg_index),
                    self._read(int(self._offset[i]), int(self._length[i])),
                )
            except CodecError as exc:
                raise BlockError(f"{self.path}: corrupt column of series {gid}: {exc}") from exc
            pieces.append((ts, values))
        return pieces

    def iter_segments(self) -> Iterator[tuple[np.ndarray, list[bytes], np.ndarray]]:
        """(gids, columns, timestamps) of each segment, in file order."""
        order = np.argsort(self._seg, kind="stable")
        bounds = np.searchsorted(self._seg[order], np.arange(len(self.segments) + 1))
        for seg_index in range(len(self.segments)):
            cols = order[bounds[seg_index] : bounds[seg_index + 1]]
            cols = cols[np.argsort(self._offset[cols])]
            data = [self._read(int(self._offset[c]), int(self._length[c])) for c in cols]
            yield self._gids[cols], data, self.timestamps(seg_index)
