"""The codecs of `codec.py` applied to every column of a matrix at once.

A segment holds a few hundred short columns (a target polled every 10 s gives 60 rows per
10-minute block), so encoding column by column spent ~30 µs of Python and numpy call
overhead per column, whatever its length. Here the work that does not depend on a column's
bytes (classifying columns as constant, decimal or XOR; scaling; deltas and their costs;
zigzag; widths; byte shuffling) runs as numpy operations over the whole matrix, and only the
per-column deflate and the concatenation of each column's bytes stay in Python.

The bytes are exactly those of `codec.encode_values` for each column (a test checks it
over random and edge-case matrices), so segments encoded either way are interchangeable.
Columns that take an unusual path (non-finite or -0.0 cells among decimals, costs too large
to sum exactly) are handed to the per-column codec.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from monitor.store.codec import (
    _EXACT_INT_LIMIT,
    _HEAD,
    _INT_HEAD,
    _KIND_CONST,
    _KIND_INT,
    _KIND_XOR,
    _MODE_DELTA,
    _MODE_DOD,
    MAX_DECIMALS,
    CodecError,
    decode_values,
    encode_values,
)

__all__ = ["encode_value_matrix", "decode_value_columns"]

_NO_EXCEPTIONS = struct.pack("<BI", 0, 0)[1:]  # the exception count, 0, after the decimals
_DECIMAL_HEAD = struct.Struct("<BI")
_FACTORS = np.array([10.0**d for d in range(MAX_DECIMALS + 1)])


def _deflate(data: bytes) -> bytes:
    # one call instead of a compressobj and two methods: the same raw deflate stream
    return zlib.compress(data, 6, -15)


def encode_value_matrix(matrix: np.ndarray) -> list[bytes]:
    """`[encode_values(matrix[:, j]) for j in columns]`, byte for byte, in bulk."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float64)
    rows, cols = matrix.shape
    if rows == 0:
        return [encode_values(matrix[:, j]) for j in range(cols)]
    bits = matrix.view(np.uint64)
    out: list[bytes | None] = [None] * cols
    constant = (bits == bits[0]).all(axis=0)
    const_head = _HEAD.pack(_KIND_CONST, rows)
    first_row = bits[0].astype("<u8")
    for j in np.flatnonzero(constant).tolist():
        out[j] = const_head + first_row[j : j + 1].tobytes()
    varying = np.flatnonzero(~constant)
    if varying.size:
        sub = matrix[:, varying]
        finite = np.isfinite(sub) & ~((sub == 0) & np.signbit(sub))
        clean = finite.all(axis=0)
        for j in varying[~clean].tolist():
            out[j] = encode_values(matrix[:, j])
        clean_cols = varying[clean]
        if clean_cols.size:
            _encode_clean(matrix[:, clean_cols], clean_cols, out)
    assert all(o is not None for o in out)
    return out  # type: ignore[return-value]


def _decimals(sub: np.ndarray) -> np.ndarray:
    """Per column, `codec._decimal_scale` of its (all finite) values; -1 for None."""
    bits = sub.view(np.uint64)
    decimals = np.full(sub.shape[1], -1, np.int64)
    undecided = np.arange(sub.shape[1])
    for d in range(MAX_DECIMALS + 1):
        if not undecided.size:
            break
        cols = sub[:, undecided]
        factor = _FACTORS[d]
        scaled = np.round(cols * factor)
        too_big = (np.abs(scaled) >= _EXACT_INT_LIMIT).any(axis=0)
        exact = ((scaled / factor).view(np.uint64) == bits[:, undecided]).all(axis=0)
        # the scalar codec tests the size first: a too-big column is never decimal
        decimals[undecided[exact & ~too_big]] = d
        undecided = undecided[~(exact | too_big)]
    return decimals


def _encode_clean(sub: np.ndarray, where: np.ndarray, out: list[bytes | None]) -> None:
    """Columns with varying, all finite values (no -0.0): decimal or XOR."""
    rows = sub.shape[0]
    decimals = _decimals(sub)
    xor = decimals < 0
    if xor.any():
        bits = sub[:, xor].view(np.uint64)
        xored = bits.copy()
        xored[1:] ^= bits[:-1]
        head = _HEAD.pack(_KIND_XOR, rows)
        for j, body in zip(where[xor].tolist(), _pack_unsigned(xored), strict=True):
            out[j] = head + body
    scaled = ~xor
    if not scaled.any():
        return
    dec = decimals[scaled]
    ints = np.round(sub[:, scaled] * _FACTORS[dec]).astype(np.int64)
    value_head = _HEAD.pack(_KIND_INT, rows)
    bodies = _encode_int_columns(ints)
    for j, d, body in zip(where[scaled].tolist(), dec.tolist(), bodies, strict=True):
        out[j] = value_head + bytes([d]) + _NO_EXCEPTIONS + body


def _encode_int_columns(ints: np.ndarray) -> list[bytes]:
    """`codec.encode_ints` of each column."""
    rows, cols = ints.shape
    firsts = ints[0].tolist()
    deltas = np.diff(ints, axis=0)
    first_deltas = deltas[0].tolist() if rows > 1 else [0] * cols
    dods = np.diff(deltas, axis=0)
    tail = deltas[1:]
    delta_abs = np.abs(tail.astype(np.float64))
    dod_abs = np.abs(dods.astype(np.float64))
    delta_cost = delta_abs.sum(axis=0)
    dod_cost = dod_abs.sum(axis=0)
    # Sums of integers below 2**53 are exact in any order; beyond that the order numpy adds
    # in could differ from the scalar codec's, so those columns are summed as it sums them.
    if tail.size:
        limit = _EXACT_INT_LIMIT / max(tail.shape[0], 1)
        inexact = (delta_abs.max(axis=0) >= limit) | (dod_abs.max(axis=0) >= limit)
        for j in np.flatnonzero(inexact).tolist():
            delta_cost[j] = float(np.abs(tail[:, j].astype(np.float64)).sum())
            dod_cost[j] = float(np.abs(dods[:, j].astype(np.float64)).sum())
    use_dod = dod_cost < delta_cost
    body = np.where(use_dod, dods, tail)
    zigzag = ((body << 1) ^ (body >> 63)).view(np.uint64)
    modes = np.where(use_dod, _MODE_DOD, _MODE_DELTA).tolist()
    packed = _pack_unsigned(zigzag)
    return [
        _INT_HEAD.pack(_KIND_INT, mode, first, first_delta) + data
        for mode, first, first_delta, data in zip(modes, firsts, first_deltas, packed, strict=True)
    ]


def _pack_unsigned(values: np.ndarray) -> list[bytes]:
    """`codec._pack_unsigned` of each column: narrowed, byte-shuffled, deflated."""
    rows, cols = values.shape
    top = values.max(axis=0) if rows else np.zeros(cols, np.uint64)
    widths = np.select(
        [top <= 0xFF, top <= 0xFFFF, top <= 0xFFFFFFFF], [1, 2, 4], default=8
    ).astype(np.int64)
    out: list[bytes] = [b""] * cols
    for width in (1, 2, 4, 8):
        group = np.flatnonzero(widths == width)
        if not group.size:
            continue
        narrow = values[:, group].astype(f"<u{width}", order="C")
        # (rows, columns, bytes) -> (columns, bytes, rows): each column's byte planes
        planes = np.ascontiguousarray(
            narrow.view(np.uint8).reshape(rows, group.size, width).transpose(1, 2, 0)
        )
        tag = bytes([width])
        for j, plane in zip(group.tolist(), planes, strict=True):
            out[j] = tag + _deflate(plane.tobytes())
    return out


def decode_value_columns(columns: list[bytes], rows: int) -> np.ndarray:
    """A (rows, len(columns)) matrix of `decode_values` of each column (CodecError as it
    raises). Constant, XOR and exception-free decimal columns are decoded in bulk.

    The matrix is column-major (the transpose of a row-major one): each column is filled
    as one contiguous run."""
    by_column = np.empty((len(columns), rows), np.float64)
    bits = by_column.view(np.uint64)
    if rows <= 2:
        for j, data in enumerate(columns):
            by_column[j] = _checked(decode_values(data), rows)
        return by_column.T
    const_cols: list[int] = []
    const_bits: list[bytes] = []
    #: width -> (columns, inflated planes), for XOR and for decimal columns
    xor_groups: dict[int, tuple[list[int], list[bytes]]] = {}
    int_groups: dict[int, tuple[list[int], list[bytes]]] = {}
    int_heads: dict[int, tuple[int, int, int, int]] = {}
    head_size = _HEAD.size
    int_at = head_size + _DECIMAL_HEAD.size
    for j, data in enumerate(columns):
        if len(data) >= head_size:
            kind, count = _HEAD.unpack_from(data)
            if count == rows:
                if kind == _KIND_CONST and len(data) == head_size + 8:
                    const_cols.append(j)
                    const_bits.append(data[head_size:])
                    continue
                if kind == _KIND_XOR and _bulk(data, head_size, rows, j, xor_groups):
                    continue
                if kind == _KIND_INT and len(data) >= int_at + _INT_HEAD.size:
                    decimals, exceptions = _DECIMAL_HEAD.unpack_from(data, head_size)
                    if exceptions == 0 and decimals <= MAX_DECIMALS:
                        _kind, mode, first, first_delta = _INT_HEAD.unpack_from(data, int_at)
                        body_at = int_at + _INT_HEAD.size
                        if mode in (_MODE_DELTA, _MODE_DOD) and _bulk(
                            data, body_at, rows - 2, j, int_groups
                        ):
                            int_heads[j] = (decimals, mode, first, first_delta)
                            continue
        by_column[j] = _checked(decode_values(data), rows)
    if const_cols:
        bits[const_cols] = np.frombuffer(b"".join(const_bits), "<u8")[:, None]
    for width, (cols, planes) in xor_groups.items():
        xored = _unshuffle(planes, width, rows)
        bits[cols] = np.bitwise_xor.accumulate(xored, axis=1)
    for width, (cols, planes) in int_groups.items():
        zigzag = _unshuffle(planes, width, rows - 2)
        body = ((zigzag >> np.uint64(1)) ^ (np.uint64(0) - (zigzag & np.uint64(1)))).view(np.int64)
        decimals, modes, firsts, first_deltas = np.array([int_heads[j] for j in cols], np.int64).T
        deltas = np.concatenate((first_deltas[:, None], body), axis=1)
        dod = modes == _MODE_DOD
        deltas[dod] = np.cumsum(deltas[dod], axis=1, dtype=np.int64)
        ints = np.cumsum(np.concatenate((firsts[:, None], deltas), axis=1), axis=1, dtype=np.int64)
        by_column[cols] = ints.astype(np.float64) / _FACTORS[decimals][:, None]
    return by_column.T


def _bulk(
    data: bytes,
    at: int,
    count: int,
    j: int,
    groups: dict[int, tuple[list[int], list[bytes]]],
) -> bool:
    """Inflate a packed integer stream into its width's group; False if it does not look
    right (the per-column decoder then raises the precise error)."""
    if len(data) <= at:
        return False
    width = data[at]
    if width not in (1, 2, 4, 8):
        return False
    try:
        raw = zlib.decompress(data[at + 1 :], -15)
    except zlib.error:
        return False
    if len(raw) != width * count:
        return False
    cols, planes = groups.setdefault(width, ([], []))
    cols.append(j)
    planes.append(raw)
    return True


def _unshuffle(planes: list[bytes], width: int, count: int) -> np.ndarray:
    """(columns, count) uint64 from each column's byte planes."""
    raw = np.frombuffer(b"".join(planes), np.uint8).reshape(len(planes), width, count)
    values = np.ascontiguousarray(raw.transpose(0, 2, 1)).view(f"<u{width}")
    return values.reshape(len(planes), count).astype(np.uint64)


def _checked(values: np.ndarray, rows: int) -> np.ndarray:
    if values.size != rows:
        raise CodecError(f"column has {values.size} values for {rows} rows")
    return values
