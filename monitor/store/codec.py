"""Bulk numpy codecs for one column of samples.

Values: a column whose samples are all bit-identical costs 8 bytes. A column of decimal
numbers (integers, or numbers with up to `MAX_DECIMALS` decimals, which is what INFO and
`stats` print) is scaled to integers and stored as delta or delta-of-delta, whichever is
smaller; non-finite values (NaN, inf, stale markers) ride along as exceptions with their exact
bits. Anything else is XOR'd with its predecessor as uint64. The integers are zigzagged,
narrowed to the smallest width that fits, byte-shuffled and deflated.

Timestamps use the integer path (delta-of-delta) and round-trip any int64.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["CodecError", "encode_values", "decode_values", "encode_ints", "decode_ints"]

MAX_DECIMALS = 6
_EXACT_INT_LIMIT = float(2**53)
_KIND_CONST, _KIND_INT, _KIND_XOR = 0, 1, 2
_MODE_DELTA, _MODE_DOD = 0, 1
_WIDTHS = ((0xFF, "<u1"), (0xFFFF, "<u2"), (0xFFFFFFFF, "<u4"))
_HEAD = struct.Struct("<BI")
_INT_HEAD = struct.Struct("<BBqq")


class CodecError(ValueError):
    """Encoded bytes that cannot be decoded (a corrupt chunk)."""


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data, -15)
    except zlib.error as exc:
        raise CodecError(f"corrupt deflate stream: {exc}") from exc


def _pack_unsigned(values: np.ndarray) -> bytes:
    """Narrow uint64 values to the smallest width, byte-shuffle, deflate."""
    top = int(values.max()) if values.size else 0
    dtype = "<u8"
    for limit, candidate in _WIDTHS:
        if top <= limit:
            dtype = candidate
            break
    narrow = values.astype(dtype)
    width = narrow.dtype.itemsize
    shuffled = narrow.view(np.uint8).reshape(-1, width).T.tobytes()
    return bytes([width]) + _deflate(shuffled)


def _unpack_unsigned(data: bytes, count: int) -> np.ndarray:
    if not data:
        raise CodecError("empty integer stream")
    width = data[0]
    if width not in (1, 2, 4, 8):
        raise CodecError(f"bad integer width {width}")
    raw = _inflate(data[1:])
    if len(raw) != width * count:
        raise CodecError(f"expected {count} integers of {width} bytes, got {len(raw)} bytes")
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(width, count)
    return planes.T.copy().view(f"<u{width}").reshape(count).astype(np.uint64)


def _zigzag(values: np.ndarray) -> np.ndarray:
    signed = values.astype(np.int64)
    return ((signed << 1) ^ (signed >> 63)).view(np.uint64)


def _unzigzag(values: np.ndarray) -> np.ndarray:
    unsigned = values.astype(np.uint64)
    return ((unsigned >> np.uint64(1)) ^ (np.uint64(0) - (unsigned & np.uint64(1)))).view(np.int64)


def encode_ints(ints: np.ndarray) -> bytes:
    """Any int64 array, as delta or delta-of-delta (wrapping arithmetic, so lossless)."""
    ints = np.ascontiguousarray(ints, dtype=np.int64)
    first = int(ints[0]) if ints.size else 0
    deltas = np.diff(ints)
    first_delta = int(deltas[0]) if deltas.size else 0
    dods = np.diff(deltas)
    delta_cost = float(np.abs(deltas[1:].astype(np.float64)).sum())
    dod_cost = float(np.abs(dods.astype(np.float64)).sum())
    mode, body = (_MODE_DOD, dods) if dod_cost < delta_cost else (_MODE_DELTA, deltas[1:])
    return _INT_HEAD.pack(_KIND_INT, mode, first, first_delta) + _pack_unsigned(_zigzag(body))


def decode_ints(data: bytes, count: int) -> np.ndarray:
    if len(data) < _INT_HEAD.size:
        raise CodecError("truncated integer header")
    _kind, mode, first, first_delta = _INT_HEAD.unpack_from(data)
    if count <= 2:
        return np.cumsum(np.array([first, first_delta], dtype=np.int64))[:count]
    body = _unzigzag(_unpack_unsigned(data[_INT_HEAD.size :], count - 2))
    if mode == _MODE_DOD:
        deltas = np.cumsum(np.concatenate(([first_delta], body)), dtype=np.int64)
    elif mode == _MODE_DELTA:
        deltas = np.concatenate(([first_delta], body)).astype(np.int64)
    else:
        raise CodecError(f"bad integer mode {mode}")
    return np.cumsum(np.concatenate(([first], deltas)), dtype=np.int64)


def _decimal_scale(finite: np.ndarray) -> int | None:
    """The fewest decimals k such that every value is exactly round(v * 10**k) / 10**k."""
    if finite.size == 0:
        return None
    bits = finite.view(np.uint64)
    for decimals in range(MAX_DECIMALS + 1):
        factor = 10.0**decimals
        scaled = np.round(finite * factor)
        if np.abs(scaled).max() >= _EXACT_INT_LIMIT:
            return None
        if np.array_equal((scaled / factor).view(np.uint64), bits):
            return decimals
    return None


def encode_values(values: np.ndarray) -> bytes:
    """float64 array -> bytes; `decode_values` restores every bit (NaN payloads too)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    count = values.size
    bits = values.view(np.uint64)
    if count == 0 or np.all(bits == bits[0]):
        return _HEAD.pack(_KIND_CONST, count) + (bits[:1].tobytes() if count else b"")
    # -0.0 would lose its sign as an integer, so it travels as an exception like NaN and inf.
    finite_mask = np.isfinite(values) & ~((values == 0) & np.signbit(values))
    decimals = _decimal_scale(values[finite_mask])
    if decimals is None:
        xored = bits ^ np.concatenate(([np.uint64(0)], bits[:-1]))
        return _HEAD.pack(_KIND_XOR, count) + _pack_unsigned(xored)
    exceptions = np.flatnonzero(~finite_mask).astype("<u4")
    positions = np.where(finite_mask, np.arange(count), -1)
    filled_from = np.maximum.accumulate(positions)
    filled_from[filled_from < 0] = int(np.argmax(finite_mask))
    ints = np.round(values[filled_from] * 10.0**decimals).astype(np.int64)
    return (
        _HEAD.pack(_KIND_INT, count)
        + struct.pack("<BI", decimals, exceptions.size)
        + exceptions.tobytes()
        + bits[exceptions].astype("<u8").tobytes()
        + encode_ints(ints)
    )


def decode_values(data: bytes) -> np.ndarray:
    if len(data) < _HEAD.size:
        raise CodecError("truncated value header")
    kind, count = _HEAD.unpack_from(data)
    body = data[_HEAD.size :]
    if kind == _KIND_CONST:
        if count == 0:
            return np.empty(0, dtype=np.float64)
        if len(body) != 8:
            raise CodecError("bad constant column")
        return np.full(count, np.frombuffer(body, dtype="<u8")[0], dtype=np.uint64).view(np.float64)
    if kind == _KIND_XOR:
        xored = _unpack_unsigned(body, count)
        return np.bitwise_xor.accumulate(xored).view(np.float64)
    if kind != _KIND_INT:
        raise CodecError(f"bad column kind {kind}")
    if len(body) < 5:
        raise CodecError("truncated decimal header")
    decimals, n_exceptions = struct.unpack_from("<BI", body)
    offset = 5 + n_exceptions * 12
    if len(body) < offset or decimals > MAX_DECIMALS:
        raise CodecError("truncated exception list")
    positions = np.frombuffer(body, dtype="<u4", count=n_exceptions, offset=5)
    exception_bits = np.frombuffer(
        body, dtype="<u8", count=n_exceptions, offset=5 + 4 * n_exceptions
    )
    ints = decode_ints(body[offset:], count)
    values = ints.astype(np.float64) / 10.0**decimals
    if n_exceptions:
        if int(positions.max()) >= count:
            raise CodecError("exception position out of range")
        values.view(np.uint64)[positions] = exception_bits
    return values
