"""The write-ahead log that protects the head.

Records are buffered in memory and written as one frame per flush:
`u32 length, u32 crc32, zlib(records)`. A crash loses at most the unflushed buffer. On replay
a torn or corrupt frame ends the log: the writer truncates the file there, with one log line;
a read-only replay stops there and changes nothing.

A flush that fails (a full disk) cuts the file back to its last whole frame, so no torn frame
hides the frames written after it, and keeps the frames in memory to write with the next
flush: nothing the head holds is dropped while the disk is full.

Each block cut starts a new log file (`wal/<seq>.wal`) holding a snapshot of what the head
still needs, then deletes the old one, so the log never grows past one block of data.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import threading
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from monitor.model import Labels

__all__ = [
    "RawRecord",
    "WalRecord",
    "WalWriter",
    "decode_labels",
    "label_needle",
    "latest_wal",
    "read_frames",
    "replay_wal",
    "scan_records",
]

log = logging.getLogger(__name__)

_FRAME = struct.Struct("<II")
_SERIES = struct.Struct("<cII")
_LAYOUT = struct.Struct("<cII")
_ROW = struct.Struct("<cIqI")

#: ("series", gid, key) | ("target", tid, labels) | ("layout", tid, gids) | ("row", tid, ts, row)
WalRecord = tuple[object, ...]
#: a record located in a frame, not decoded (`scan_records`): kind, id, ts, at, n
RawRecord = tuple[bytes, int, int, int, int]


def series_record(gid: int, key: tuple[tuple[str, str], ...]) -> bytes:
    data = json.dumps(key).encode()
    return _SERIES.pack(b"S", gid, len(data)) + data


def target_record(tid: int, labels: Labels) -> bytes:
    data = json.dumps(labels).encode()
    return _SERIES.pack(b"T", tid, len(data)) + data


def layout_record(tid: int, gids: np.ndarray) -> bytes:
    return _LAYOUT.pack(b"L", tid, gids.size) + gids.astype("<i8").tobytes()


def row_record(tid: int, ts_ms: int, row: np.ndarray) -> bytes:
    return _ROW.pack(b"R", tid, ts_ms, row.size) + row.astype("<f8").tobytes()


class WalWriter:
    """Buffers records and writes them as one frame per `flush`.

    `add` is called by the appender under the store's lock; `flush` may run in another
    thread without that lock (compressing and fsyncing a second of rows takes milliseconds
    the polling loop should not wait for): it swaps the buffer out under its own lock, so
    frames keep the order records were added in. With `deferred=True` the file is not
    opened until `open()`: the log after a rotation buffers until its snapshot is on disk.
    """

    def __init__(self, path: Path, deferred: bool = False) -> None:
        self.path = path
        self._fd: int | None = None
        #: the file's length after its last whole frame
        self._good_size = 0
        self._buffer: list[bytes] = []
        #: frames a failed flush could not write, oldest first
        self._unwritten: list[bytes] = []
        self._io = threading.Lock()
        if not deferred:
            self.open()

    def add(self, record: bytes) -> None:
        self._buffer.append(record)

    def open(self) -> None:
        with self._io:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._good_size = os.fstat(self._fd).st_size

    @property
    def unwritten_frames(self) -> int:
        return len(self._unwritten)

    def take_back(self) -> list[bytes]:
        """Frames and records not on disk yet, for the log that replaces this one."""
        with self._io:
            frames, self._unwritten = self._unwritten, []
            if self._buffer:
                frames.append(_frame(self._buffer))
                self._buffer = []
            return frames

    def put_back(self, frames: list[bytes]) -> None:
        """Write `frames` (from `take_back`) before anything added since."""
        with self._io:
            self._unwritten[:0] = frames

    def flush(self) -> None:
        """Write what was added as one frame and fsync; OSError leaves it for the next one."""
        with self._io:
            if self._fd is None:
                return
            if self._buffer:
                records, self._buffer = self._buffer, []
                self._unwritten.append(_frame(records))
            if not self._unwritten:
                return
            data = b"".join(self._unwritten)
            try:
                _write_all(self._fd, data)
                os.fsync(self._fd)
            except OSError:
                # a torn frame would end every replay there, hiding the frames after it
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self._good_size)
                raise
            self._good_size += len(data)
            self._unwritten = []

    def close(self) -> None:
        try:
            self.flush()
        finally:
            with self._io:
                if self._fd is not None:
                    os.close(self._fd)
                    self._fd = None


def _frame(records: list[bytes]) -> bytes:
    payload = zlib.compress(b"".join(records), 1)
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def wal_path(directory: Path, seq: int) -> Path:
    return directory / f"{seq:010d}.wal"


def latest_wal(directory: Path) -> tuple[int, Path | None]:
    """The newest complete log (older ones and unfinished snapshots are deleted)."""
    for leftover in directory.glob("*.tmp"):
        leftover.unlink()
    logs = sorted(directory.glob("*.wal"))
    for old in logs[:-1]:
        old.unlink()
    if not logs:
        return 0, None
    return int(logs[-1].stem), logs[-1]


def write_snapshot(directory: Path, seq: int, records: list[bytes]) -> Path:
    """Write a new log holding `records`, atomically, and return its path."""
    final = wal_path(directory, seq)
    tmp = final.with_suffix(".tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(_frame(records))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return final


def replay_wal(path: Path, repair: bool = True, ahead: int = 0) -> Iterator[WalRecord]:
    """The log's records up to its first torn or corrupt frame; with `repair` (the writer)
    the file is truncated there, without it (a read-only open) nothing is changed. `ahead`:
    see `read_frames`."""
    for payload in read_frames(path, repair, ahead):
        yield from _records(payload)


def read_frames(path: Path, repair: bool = True, ahead: int = 0) -> Iterator[bytes]:
    """Each frame's records (decompressed), up to the first torn or corrupt frame (see
    `replay_wal`). With `ahead`, a thread decompresses up to that many frames ahead of the
    caller: zlib lets go of the GIL, and decompressing is half of reading a log of 1,000
    targets (a quarter of a gigabyte of rows for a 10-minute head)."""
    frames = _payloads(path, repair)
    if ahead <= 0:
        yield from map(zlib.decompress, frames)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="wal-read") as pool:
        pending: deque[Future[bytes]] = deque()
        try:
            for frame in frames:
                pending.append(pool.submit(zlib.decompress, frame))
                if len(pending) > ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:  # the caller stopped early
                future.cancel()


def _payloads(path: Path, repair: bool) -> Iterator[memoryview]:
    """The compressed payload of each whole frame, checked, in order."""
    with open(path, "rb") as wal:
        data = wal.read()
    view = memoryview(data)
    at = 0
    while at < len(data):
        problem = _frame_problem(view, at)
        if problem:
            if not repair:
                log.debug("WAL %s: %s at byte %d: reading up to there", path, problem, at)
                return
            log.warning(
                "WAL %s: %s at byte %d; truncating %d bytes", path, problem, at, len(data) - at
            )
            with open(path, "r+b") as wal:
                wal.truncate(at)
            return
        length, _crc = _FRAME.unpack_from(view, at)
        yield view[at + _FRAME.size : at + _FRAME.size + length]
        at += _FRAME.size + length


def _frame_problem(data: memoryview, at: int) -> str:
    if at + _FRAME.size > len(data):
        return "torn frame header"
    length, crc = _FRAME.unpack_from(data, at)
    payload = data[at + _FRAME.size : at + _FRAME.size + length]
    if len(payload) != length:
        return "torn frame"
    if zlib.crc32(payload) != crc:
        return "checksum mismatch"
    return ""


def decode_labels(data: bytes) -> tuple[tuple[str, str], ...]:
    """The labels in the body of a series or target record."""
    return tuple((str(k), str(v)) for k, v in json.loads(data))


def label_needle(name: str, value: str) -> bytes:
    """What the body of a series record holding the label `name="value"` contains (records
    are written by `json.dumps` with its default separators): a cheap test that rules a
    record out without decoding it."""
    return json.dumps([name, value]).encode()


def scan_records(data: bytes) -> Iterator[RawRecord]:
    """The records of one frame (`read_frames`), located but not decoded, so a reader that
    wants a few series skips the JSON and the arrays of the others: (kind, id, ts, at, n)
    with kind S, T, L or R; the body starts at byte `at` of `data`: `n` bytes of label JSON
    (S, T), `n` int64 gids (L) or `n` float64 values (R, at time `ts`)."""
    at = 0
    while at < len(data):
        kind = data[at : at + 1]
        if kind in (b"S", b"T"):
            _k, ident, length = _SERIES.unpack_from(data, at)
            yield kind, ident, 0, at + _SERIES.size, length
            at += _SERIES.size + length
        elif kind == b"L":
            _k, tid, count = _LAYOUT.unpack_from(data, at)
            yield kind, tid, 0, at + _LAYOUT.size, count
            at += _LAYOUT.size + 8 * count
        elif kind == b"R":
            _k, tid, ts, count = _ROW.unpack_from(data, at)
            yield kind, tid, ts, at + _ROW.size, count
            at += _ROW.size + 8 * count
        else:
            raise ValueError(f"unknown WAL record type {kind!r} at byte {at}")
        if at > len(data):
            raise ValueError(f"WAL record of type {kind!r} runs past its frame")


def _records(data: bytes) -> Iterator[WalRecord]:
    at = 0
    while at < len(data):
        kind = data[at : at + 1]
        if kind in (b"S", b"T"):
            _k, ident, length = _SERIES.unpack_from(data, at)
            at += _SERIES.size
            pairs = decode_labels(data[at : at + length])
            at += length
            yield ("series" if kind == b"S" else "target", ident, pairs)
        elif kind == b"L":
            _k, tid, count = _LAYOUT.unpack_from(data, at)
            at += _LAYOUT.size
            yield ("layout", tid, np.frombuffer(data, "<i8", count, at).astype(np.int64))
            at += 8 * count
        elif kind == b"R":
            _k, tid, ts, count = _ROW.unpack_from(data, at)
            at += _ROW.size
            yield ("row", tid, ts, np.frombuffer(data, "<f8", count, at).astype(np.float64))
            at += 8 * count
        else:
            raise ValueError(f"unknown WAL record type {kind!r} at byte {at}")
