"""Engine behaviour the differential tests can't reach (stale markers, limits, errors) and
hand-computed values that pin the arithmetic."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from monitor.model import STALE_NAN_BITS
from monitor.query import (
    BadDataError,
    Engine,
    ExecutionError,
    MemoryReader,
    NotSupportedError,
    QueryTimeoutError,
    TooManySamplesError,
)

STALE = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]
S = 1000


def engine_with(series: dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]) -> Engine:
    reader = MemoryReader()
    for labels, points in series.items():
        reader.add_series(dict(labels), [t for t, _ in points], [v for _, v in points])
    return Engine(reader)


def values(result: object) -> dict[tuple, float]:
    return {tuple(sorted(labels.items())): value for labels, value in result.samples}  # type: ignore[attr-defined]


COUNTER = (("__name__", "c_total"), ("job", "a"))


def test_rate_over_samples_that_fill_the_window_is_the_plain_slope() -> None:
    engine = engine_with({COUNTER: [(t * S, t * 1.0) for t in range(0, 61, 10)]})
    assert values(engine.instant("rate(c_total[1m])", 60 * S)) == {(("job", "a"),): 1.0}


def test_increase_corrects_counter_resets() -> None:
    points = [(0, 10.0), (10 * S, 20.0), (20 * S, 5.0), (30 * S, 15.0)]
    engine = engine_with({COUNTER: points})
    # 10 -> 20, reset, 0 -> 5 -> 15: 25 over the 30 s sampled. The first sample sits on the
    # window's start; the end is 30 s past the last sample, too far to extrapolate to, so
    # only half an interval (5 s) is added there.
    result = values(engine.instant("increase(c_total[1m])", 60 * S))
    assert result[(("job", "a"),)] == pytest.approx(25 * (30 + 0 + 5) / 30)


def test_irate_uses_the_last_two_samples() -> None:
    points = [(0, 0.0), (10 * S, 100.0), (12 * S, 104.0)]
    engine = engine_with({COUNTER: points})
    assert values(engine.instant("irate(c_total[1m])", 12 * S)) == {(("job", "a"),): 2.0}


def test_a_stale_marker_ends_the_series_at_once() -> None:
    gauge = (("__name__", "g"),)
    engine = engine_with({gauge: [(0, 1.0), (10 * S, 2.0), (20 * S, STALE)]})
    assert values(engine.instant("g", 15 * S)) == {gauge: 2.0}
    assert engine.instant("g", 25 * S).samples == []
    # without the marker the lookback would still show the last value
    assert values(engine.instant("count_over_time(g[1m])", 25 * S)) == {(): 2.0}


@pytest.mark.parametrize(
    "expr", ["rate(c_total[5s])", "irate(c_total[5s])", "max_over_time(c_total[5s])"]
)
def test_a_window_holding_only_a_stale_marker_is_empty_not_an_error(expr: str) -> None:
    # seen under a frozen target: the poll's stale markers were the only samples in range
    engine = engine_with({COUNTER: [(0, 1.0), (10 * S, STALE)]})
    assert engine.instant(expr, 12 * S).samples == []
    assert engine.range(expr, 11 * S, 13 * S, S).series == []


def test_lookback_is_five_minutes_inclusive() -> None:
    gauge = (("__name__", "g"),)
    engine = engine_with({gauge: [(0, 7.0)]})
    assert values(engine.instant("g", 300 * S)) == {gauge: 7.0}
    assert engine.instant("g", 300 * S + 1).samples == []


def test_range_query_evaluates_every_step() -> None:
    gauge = (("__name__", "g"),)
    engine = engine_with({gauge: [(t * S, float(t)) for t in range(0, 100, 10)]})
    result = engine.range("g * 2", 0, 40 * S, 20 * S)
    assert result.result_type == "matrix"
    ((labels, ts, vals),) = result.series
    assert labels == {}
    assert ts.tolist() == [0, 20 * S, 40 * S]
    assert vals.tolist() == [0.0, 40.0, 80.0]


def test_subquery_and_at_modifier() -> None:
    gauge = (("__name__", "g"),)
    engine = engine_with({gauge: [(t * S, float(t)) for t in range(0, 601, 15)]})
    assert values(engine.instant("max_over_time(g[2m:30s])", 300 * S)) == {(): 300.0}
    result = engine.range("g @ start()", 60 * S, 120 * S, 30 * S)
    assert result.series[0][2].tolist() == [60.0, 60.0, 60.0]


def test_to_api_has_prometheus_shapes_and_number_spelling() -> None:
    gauge = (("__name__", "g"),)
    engine = engine_with({gauge: [(1_500, 1e21)]})
    assert engine.instant("g", 2_000).to_api() == {
        "resultType": "vector",
        "result": [{"metric": {"__name__": "g"}, "value": [2.0, "1000000000000000000000"]}],
    }
    assert engine.instant("1/0", 0).to_api()["result"][1] == "+Inf"
    assert engine.instant("-1/0", 0).to_api()["result"][1] == "-Inf"
    assert engine.instant("0/0", 0).to_api()["result"][1] == "NaN"
    assert engine.instant('"s"', 500).to_api() == {"resultType": "string", "result": [0.5, "s"]}
    assert engine.instant("g[1s]", 2_000).to_api()["result"][0]["values"] == [
        [1.5, "1000000000000000000000"]
    ]


def test_sort_orders_an_instant_vector() -> None:
    engine = engine_with(
        {(("__name__", "g"), ("i", str(i))): [(0, v)] for i, v in enumerate([3.0, math.nan, 1.0])}
    )
    ordered = [v for _, v in engine.instant("sort(g)", 0).samples]
    assert ordered[:2] == [1.0, 3.0] and math.isnan(ordered[2])
    assert [v for _, v in engine.instant("sort_desc(g)", 0).samples][:2] == [3.0, 1.0]


def test_label_replace_expands_like_go() -> None:
    engine = engine_with({(("__name__", "g"), ("a", "x-y")): [(0, 1.0)]})
    expr = 'label_replace(g, "b", "$1x|${1}x|$$|$2", "a", "(.)-(.)")'
    ((labels, _),) = engine.instant(expr, 0).samples
    assert labels["b"] == "|xx|$|y"


@pytest.mark.parametrize(
    ("expr", "error", "text"),
    [
        ("sum(", BadDataError, "parse error"),
        ("histogram_count(g)", NotSupportedError, "not supported: function histogram_count()"),
        ("limitk(1, g)", NotSupportedError, "not supported: aggregation limitk"),
        ('g{a="1" or a="2"}', NotSupportedError, "not supported: 'or' between label matchers"),
        ("g + on(a) group_left g", ExecutionError, "many-to-many matching not allowed"),
        ('label_replace(g, "1bad", "", "a", "")', ExecutionError, "invalid destination label"),
    ],
)
def test_errors_carry_prometheus_error_types(expr: str, error: type, text: str) -> None:
    engine = engine_with(
        {(("__name__", "g"), ("a", "1"), ("b", str(i))): [(0, 1.0)] for i in range(2)}
    )
    with pytest.raises(error) as caught:
        engine.instant(expr, 0)
    assert text in caught.value.message
    expected_type = "bad_data" if issubclass(error, BadDataError) else "execution"
    assert caught.value.to_api()["errorType"] == expected_type


def test_range_query_refuses_what_prometheus_refuses() -> None:
    engine = engine_with({(("__name__", "g"),): [(0, 1.0)]})
    with pytest.raises(BadDataError, match="range vector"):
        engine.range("g[1m]", 0, 10, 1)
    with pytest.raises(BadDataError, match="step"):
        engine.range("g", 0, 10, 0)
    with pytest.raises(BadDataError, match="11,000 points"):
        engine.range("g", 0, 20_000, 1)


def test_limits_stop_a_query_that_is_too_big_or_too_slow() -> None:
    reader = MemoryReader()
    reader.add_series({"__name__": "g"}, np.arange(1000), np.ones(1000))
    with pytest.raises(TooManySamplesError):
        Engine(reader, max_samples=500).instant("count_over_time(g[1m])", 999)
    with pytest.raises(QueryTimeoutError) as caught:
        Engine(reader, timeout_s=-1).instant("g", 999)
    assert caught.value.to_api()["errorType"] == "timeout"
