"""Decoding many columns in one pass, bit for bit what decoding each alone gives.

A fleet-wide read decodes tens of thousands of small columns (one per series per segment).
Decoding one alone (`segment.decode_column`) is two dozen numpy calls on a few dozen
values: at 1,000 targets the calls, not the arithmetic, were most of a read's time. Here
each column's header is parsed and its deflate stream inflated on its own (that part is per
column in the format), then the columns of one shape (number of integers, byte width,
mode) are unshuffled, unzigzagged and summed as the rows of one matrix.

Anything the fast path does not expect (a short stream, a bad flag, a stream of two values
or fewer) is decoded by the one-column functions, which raise the `CodecError` they always
raised: corrupt data is reported exactly as before.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

import numpy as np

from monitor.store.codec import (
    _HEAD,
    _INT_HEAD,
    _KIND_CONST,
    _KIND_INT,
    _KIND_XOR,
    _MODE_DELTA,
    _MODE_DOD,
    MAX_DECIMALS,
    decode_ints,
)
from monitor.store.segment import _ALL_PRESENT, _WITH_BITMAP, decode_column

__all__ = ["decode_columns", "decode_int_streams"]

_DECIMAL_HEAD = struct.Struct("<BI")
_WIDTHS = (1, 2, 4, 8)
#: what a group of integer streams is decoded by: (integers after the first two, byte width,
#: delta mode, or -1 for XOR'd float bits)
_Shape = tuple[int, int, int]
#: one stream of a group: slot, first value, first delta, inflated bytes, decimals (-1: none)
_Job = tuple[int, int, int, bytes, int]


class _Streams:
    """Streams waiting to be decoded together; `run` decodes them."""

    def __init__(self) -> None:
        self.groups: dict[_Shape, list[_Job]] = {}
        #: constant columns, by length: (slot, the value's bits)
        self.constants: dict[int, list[tuple[int, int]]] = {}

    def add_constant(self, slot: int, data: bytes, offset: int, count: int) -> bool:
        """A constant column's value (8 bytes at `data[offset:]`, the column's end)."""
        if count == 0 or len(data) != offset + 8:
            return False
        bits = int.from_bytes(data[offset:], "little")
        self.constants.setdefault(count, []).append((slot, bits))
        return True

    def add_ints(self, slot: int, data: bytes, offset: int, count: int, decimals: int = -1) -> bool:
        """The `encode_ints` stream at `data[offset:]` holding `count` integers (values
        with `decimals` decimals, or integers); False when it is not for the fast path."""
        if count <= 2 or len(data) < offset + _INT_HEAD.size + 1:
            return False
        _kind, mode, first, first_delta = _INT_HEAD.unpack_from(data, offset)
        if mode != _MODE_DOD and mode != _MODE_DELTA:
            return False
        offset += _INT_HEAD.size
        width = data[offset]
        raw = _inflate(data, offset, width, count - 2)
        if raw is None:
            return False
        job = (slot, first, first_delta, raw, decimals)
        self.groups.setdefault((count - 2, width, mode), []).append(job)
        return True

    def add_xor(self, slot: int, data: bytes, offset: int, count: int) -> bool:
        """The XOR'd float bits at `data[offset:]` (`count` values)."""
        if count <= 2 or len(data) < offset + 1:
            return False
        width = data[offset]
        raw = _inflate(data, offset, width, count)
        if raw is None:
            return False
        self.groups.setdefault((count, width, -1), []).append((slot, 0, 0, raw, -1))
        return True

    def run(self) -> dict[int, np.ndarray]:
        """slot -> its integers (int64), or its values (float64) when it has decimals or
        is a constant or XOR'd column."""
        out: dict[int, np.ndarray] = {}
        for count, constants in self.constants.items():
            bits = np.array([c[1] for c in constants], np.uint64)[:, None]
            values = np.repeat(bits, count, axis=1).view(np.float64)
            out.update(zip([c[0] for c in constants], values, strict=True))
        for (count, width, mode), jobs in self.groups.items():
            planes = np.frombuffer(b"".join([j[3] for j in jobs]), np.uint8)
            narrow = planes.reshape(len(jobs), width, count).transpose(0, 2, 1).copy()
            unsigned = narrow.view(f"<u{width}").reshape(len(jobs), count).astype(np.uint64)
            if mode < 0:
                out.update(zip([j[0] for j in jobs], _unxor(unsigned), strict=True))
                continue
            body = ((unsigned >> np.uint64(1)) ^ (np.uint64(0) - (unsigned & np.uint64(1)))).view(
                np.int64
            )
            first_delta = np.array([j[2] for j in jobs], np.int64)[:, None]
            deltas = np.concatenate((first_delta, body), axis=1)
            if mode == _MODE_DOD:
                deltas = np.cumsum(deltas, axis=1, dtype=np.int64)
            first = np.array([j[1] for j in jobs], np.int64)[:, None]
            rows = np.cumsum(np.concatenate((first, deltas), axis=1), axis=1, dtype=np.int64)
            if jobs[0][4] >= 0:  # a group holds value columns only, or integers only
                # 10.0 ** d as `decode_values` computes it: the same float, divided the same
                scale = np.array([10.0 ** j[4] for j in jobs])[:, None]
                out.update(zip([j[0] for j in jobs], rows.astype(np.float64) / scale, strict=True))
            else:
                out.update(zip([j[0] for j in jobs], rows, strict=True))
        return out


def _inflate(data: bytes, offset: int, width: int, count: int) -> bytes | None:
    """The deflated, byte-shuffled integers after the width byte at `data[offset]`."""
    if width not in _WIDTHS:
        return None
    try:
        raw = zlib.decompress(memoryview(data)[offset + 1 :], -15)
    except zlib.error:
        return None
    return raw if len(raw) == width * count else None


def _unxor(unsigned: np.ndarray) -> np.ndarray:
    return np.bitwise_xor.accumulate(unsigned, axis=1).view(np.float64)


def decode_int_streams(streams: Sequence[tuple[bytes, int]]) -> list[np.ndarray]:
    """`[decode_ints(data, count) for data, count in streams]`."""
    pending = _Streams()
    out: list[np.ndarray | None] = [None] * len(streams)
    for slot, (data, count) in enumerate(streams):
        if not pending.add_ints(slot, data, 0, count):
            out[slot] = decode_ints(data, count)
    for slot, ints in pending.run().items():
        out[slot] = ints
    return out  # type: ignore[return-value]  # every slot is filled


def decode_columns(
    columns: Sequence[tuple[np.ndarray, bytes]],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """`[decode_column(ts, data) for ts, data in columns]`: (timestamps, values) of each
    column's samples, the timestamps `ts` itself when every row has one."""
    out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(columns)
    pending = _Streams()
    #: columns with a bitmap or exceptions: what to apply once decoded
    special: dict[int, _Special] = {}
    for slot, (ts, data) in enumerate(columns):
        if not _queue(slot, ts, data, pending, special):
            out[slot] = decode_column(ts, data)
    for slot, values in pending.run().items():
        ts = columns[slot][0]
        extra = special.get(slot)
        if extra is None:
            out[slot] = (ts, values)
            continue
        present, exceptions = extra
        if exceptions is not None:
            values.view(np.uint64)[exceptions[0]] = exceptions[1]
        out[slot] = (ts, values) if present is None else (ts[present], values)
    return out  # type: ignore[return-value]  # every slot is filled


#: a column's bitmap of rows with a sample, and its exceptions (positions, bits)
_Special = tuple[np.ndarray | None, tuple[np.ndarray, np.ndarray] | None]


def _queue(
    slot: int, ts: np.ndarray, data: bytes, pending: _Streams, special: dict[int, _Special]
) -> bool:
    """Queue the column's values in `pending`; False when it is for `decode_column`
    (anything out of the ordinary)."""
    if not data:
        return False
    flag = data[0]
    present = None
    if flag == _ALL_PRESENT:
        at, expected = 1, ts.size
    elif flag == _WITH_BITMAP:
        nbytes = (ts.size + 7) // 8
        if len(data) < 1 + nbytes:
            return False
        bitmap = np.frombuffer(data, np.uint8, nbytes, 1)
        present = np.unpackbits(bitmap, count=ts.size).astype(bool)
        at, expected = 1 + nbytes, int(present.sum())
    else:
        return False
    if len(data) < at + _HEAD.size:
        return False
    kind, count = _HEAD.unpack_from(data, at)
    if count != expected:
        return False
    at += _HEAD.size
    exceptions = None
    if kind == _KIND_INT:
        if len(data) < at + _DECIMAL_HEAD.size:
            return False
        decimals, n_exceptions = _DECIMAL_HEAD.unpack_from(data, at)
        at += _DECIMAL_HEAD.size
        if decimals > MAX_DECIMALS or len(data) < at + 12 * n_exceptions:
            return False
        if n_exceptions:
            positions = np.frombuffer(data, "<u4", n_exceptions, at)
            if int(positions.max()) >= count:
                return False
            bits = np.frombuffer(data, "<u8", n_exceptions, at + 4 * n_exceptions)
            exceptions = (positions, bits)
        queued = pending.add_ints(slot, data, at + 12 * n_exceptions, count, decimals)
    elif kind == _KIND_CONST:
        queued = pending.add_constant(slot, data, at, count)
    elif kind == _KIND_XOR:
        queued = pending.add_xor(slot, data, at, count)
    else:
        return False
    if queued and (present is not None or exceptions is not None):
        special[slot] = (present, exceptions)
    return queued
