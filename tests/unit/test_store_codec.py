"""Codecs round-trip every bit: arbitrary float64 (NaN payloads, inf, stale markers) and int64."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.model import STALE_NAN_BITS
from monitor.store.codec import CodecError, decode_ints, decode_values, encode_ints, encode_values
from monitor.store.segment import ABSENT, decode_column, encode_column

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
