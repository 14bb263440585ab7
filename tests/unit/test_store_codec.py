"""Codecs round-trip every bit: arbitrary float64 (NaN payloads, inf, stale markers) and int64."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.model import STALE_NAN_BITS
from monitor.store.codec import CodecError, decode_ints, decode_values, encode_ints, encode_values
from monitor.store.segment import (
    ABSENT,
    decode_column,
    decode_column_filled,
    decode_columns,
    encode_column,
    encode_columns,
)

STALE = float(np.uint64(STALE_NAN_BITS).view(np.float64))
specials = st.sampled_from([float("nan"), float("inf"), -float("inf"), STALE, -0.0, 0.0])
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), specials)
decimals = st.integers(-(10**9), 10**9).map(lambda i: i / 100)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and np.array_equal(a.view(np.uint64), b.view(np.uint64))


@settings(max_examples=300)
@given(st.lists(st.one_of(floats, decimals), max_size=300))
def test_values_round_trip_bit_exact(values: list[float]) -> None:
    array = np.array(values, dtype=np.float64)
    assert _same_bits(decode_values(encode_values(array)), array)


@settings(max_examples=300)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=300))
def test_timestamps_round_trip_any_int64(stamps: list[int]) -> None:
    array = np.array(stamps, dtype=np.int64)
    assert np.array_equal(decode_ints(encode_ints(array), array.size), array)


@given(st.lists(st.one_of(floats, st.just(float(ABSENT))), min_size=1, max_size=200))
def test_column_with_absent_cells_round_trips_present_ones(values: list[float]) -> None:
    array = np.array(values, dtype=np.float64)
    ts = np.arange(array.size, dtype=np.int64) * 1000
    present = array.view(np.uint64) != np.float64(ABSENT).view(np.uint64)
    got_ts, got_values = decode_column(ts, encode_column(array))
    assert np.array_equal(got_ts, ts[present])
    assert _same_bits(got_values, array[present])


def test_constant_and_counter_columns_are_small() -> None:
    assert len(encode_values(np.full(120, 42.0))) <= 16
    counter = np.cumsum(np.full(120, 1000.0))
    assert len(encode_values(counter)) < 40
    assert len(encode_ints(np.arange(120, dtype=np.int64) * 1000)) < 40


def test_corrupt_bytes_raise_codec_error() -> None:
    data = bytearray(encode_values(np.random.default_rng(1).random(100)))
    data[12:20] = b"\xff" * 8
    with pytest.raises(CodecError):
        decode_values(bytes(data))


# -- the bulk (whole-matrix) codec makes the per-column codec's bytes --------------------

_EDGE = [
    float("nan"),
    float(np.uint64(0x7FF8000000000123).view(np.float64)),  # a NaN with a payload
    float("inf"),
    -float("inf"),
    STALE,
    -0.0,
    0.0,
    2.0**53,
    2.0**53 + 2,
    -(2.0**62),
    2.0**63,
    1e300,
    5e-324,
]


def _column(rng: np.random.Generator, rows: int) -> np.ndarray:
    """One column of a kind a segment holds, edge cases included."""
    kind = int(rng.integers(0, 13))
    if kind == 0:
        return np.full(rows, rng.choice(_EDGE))
    if kind == 1:  # decimals 0..7 (7 is one too many: XOR)
        return np.round(rng.random(rows) * 10.0 ** rng.integers(0, 12), rng.integers(0, 8))
    if kind == 2:  # counters, scaled to 0..6 decimals, up to huge steps
        steps = rng.integers(-5, 10 ** rng.integers(1, 18), rows)
        return np.cumsum(steps).astype(float) / 10.0 ** rng.integers(0, 7)
    if kind == 3:
        return rng.random(rows)
    if kind == 4:  # decimals with exceptions among them
        column = np.round(rng.random(rows) * 1000, 2)
        hit = rng.random(rows) < 0.3
        column[hit] = rng.choice(_EDGE, int(hit.sum()))
        return column
    if kind == 5:
        return np.full(rows, float(rng.integers(0, 100)))
    if kind == 6:  # integers past 2**53
        return rng.integers(-(2**62), 2**62, rows).astype(float)
    if kind == 7:  # deltas whose costs cannot be summed exactly in float64
        return np.arange(rows) * 2.0**52 * float(rng.integers(1, 4))
    if kind == 8:
        return rng.choice(_EDGE, rows)
    if kind == 9:
        return np.cumsum(rng.integers(0, 3, rows)) * 0.1
    if kind == 10:  # any bits at all
        return rng.integers(0, 2**63, rows, dtype=np.uint64).view(np.float64)
    column = np.full(rows, 7.0)
    if kind == 11:
        column[rng.integers(0, rows)] = -0.0
    else:  # ABSENT cells: the column carries a bitmap
        column[rng.random(rows) < 0.5] = ABSENT
    return column


@pytest.mark.parametrize("seed", range(8))
def test_bulk_encoder_makes_the_per_column_bytes_and_decodes_every_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(150):
        rows = int(rng.choice([1, 2, 3, 4, 12, 60, 121]))
        matrix = np.column_stack([_column(rng, rows) for _ in range(int(rng.integers(1, 24)))])
        expected = [encode_column(matrix[:, i]) for i in range(matrix.shape[1])]
        assert encode_columns(matrix) == expected
        decoded = decode_columns(rows, expected)
        assert np.array_equal(decoded.view(np.uint64), matrix.view(np.uint64))
        filled = np.column_stack([decode_column_filled(rows, data) for data in expected])
        assert np.array_equal(decoded.view(np.uint64), filled.view(np.uint64))


@settings(max_examples=200)
@given(
    st.integers(1, 40).flatmap(
        lambda rows: st.lists(
            st.lists(st.one_of(floats, decimals), min_size=rows, max_size=rows),
            min_size=1,
            max_size=6,
        )
    )
)
def test_bulk_encoder_matches_per_column_on_any_floats(columns: list[list[float]]) -> None:
    matrix = np.array(columns, dtype=np.float64).T
    assert encode_columns(matrix) == [encode_column(matrix[:, i]) for i in range(len(columns))]


def test_bulk_decoder_raises_codec_error_for_a_damaged_column() -> None:
    matrix = np.cumsum(np.ones((60, 3)), axis=0)
    columns = encode_columns(matrix)
    columns[1] = columns[1][:-3]
    with pytest.raises(CodecError):
        decode_columns(60, columns)
