"""Trend classification and the eviction/hit-ratio correlation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.evictions import Trend, classify_trend, correlation

TIMES = np.arange(0.0, 60.0, 4.0)


def test_a_ramp_is_rising_and_its_change_is_measured() -> None:
    reading = classify_trend(TIMES, 10 + TIMES)  # 10/s -> 66/s
    assert reading.trend is Trend.RISING
    assert reading.slope == pytest.approx(1.0)
    assert reading.relative_change == pytest.approx(56 / np.mean(10 + TIMES))
    assert reading.points == len(TIMES)
    assert reading.span_s == pytest.approx(56.0)


def test_a_decay_is_falling() -> None:
    assert classify_trend(TIMES, 100 * np.exp(-TIMES / 20)).trend is Trend.FALLING


def test_noise_around_a_level_is_steady() -> None:
    noise = np.random.default_rng(7).normal(0, 5, len(TIMES))
    assert classify_trend(TIMES, 200 + noise).trend is Trend.STEADY


def test_one_burst_does_not_make_a_trend() -> None:
    values = np.full(len(TIMES), 50.0)
    values[-1] = 5000.0  # one poll's burst at the very end
    assert classify_trend(TIMES, values).trend is Trend.STEADY


def test_changes_below_the_floor_are_steady() -> None:
    # 0.001/s to 0.02/s is a twentyfold rise of almost nothing
    assert classify_trend(TIMES, np.linspace(0.001, 0.02, len(TIMES))).trend is Trend.STEADY
    # the same shape an order of magnitude higher is a trend
    assert classify_trend(TIMES, np.linspace(0.01, 0.2, len(TIMES))).trend is Trend.RISING


def test_from_nothing_to_evicting_is_rising() -> None:
    values = np.concatenate([np.zeros(5), np.linspace(10, 100, len(TIMES) - 5)])
    assert classify_trend(TIMES, values).trend is Trend.RISING


def test_too_few_points_or_no_span_is_unknown() -> None:
    assert classify_trend([0, 1], [1, 2]).trend is Trend.UNKNOWN
    assert classify_trend([5, 5, 5], [1, 2, 3]).trend is Trend.UNKNOWN
    reading = classify_trend([0, 1, 2, 3], [math.nan, math.nan, 1, 2])
    assert reading.trend is Trend.UNKNOWN
    assert reading.points == 2


def test_nans_are_dropped() -> None:
    values = 10 + TIMES
    values[3] = math.nan
    assert classify_trend(TIMES, values).trend is Trend.RISING


def test_correlation_sign_and_undefined_cases() -> None:
    evictions = np.linspace(0, 100, 10)
    assert correlation(evictions, 1 - evictions / 200) == pytest.approx(-1.0)
    assert correlation(evictions, evictions * 3 + 1) == pytest.approx(1.0)
    assert correlation(evictions, np.full(10, 0.9)) is None  # flat hit ratio
    assert correlation([1, 2], [2, 1]) is None
    with_gap = correlation([1, 2, math.nan, 4, 5], [5, 4, 3, math.nan, 1])
    assert with_gap == pytest.approx(-1.0)
