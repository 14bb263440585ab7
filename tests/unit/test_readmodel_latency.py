"""The application's latency merged exactly from sparse per-command histograms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.model import SampleBatch
from monitor.query import Engine, MemoryReader
from monitor.readmodel.latency import fleet_latency, latency_histogram, merge_latency
from monitor.readmodel.source import InstantSample, RangeSeries


def _series(cmd: str, le: str, points: dict[int, float], instance: str = "a:1") -> RangeSeries:
    ts = tuple(sorted(points))
    return RangeSeries(
        {
            "__name__": "redis_commands_latencies_usec_bucket",
            "instance": instance,
            "cmd": cmd,
            "le": le,
        },
        ts,
        tuple(points[t] for t in ts),
    )


def test_sparse_buckets_of_two_commands_merge_exactly() -> None:
    # get: 1000 calls, all <= 2 µs; zadd: 10 calls, all in (8192, 16384] µs.
    # sum by (le) would mix them; merged, p99 lies in get's (1, 2] bucket.
    series = [
        _series("get", "1", {0: 0, 10: 400}),
        _series("get", "2", {0: 0, 10: 1000}),
        _series("get", "+Inf", {0: 0, 10: 1000}),
        _series("zadd", "16384", {0: 0, 10: 10}),
        _series("zadd", "+Inf", {0: 0, 10: 10}),
    ]
    histogram = merge_latency(series, [0, 10], lag=1, window_s=10.0)
    # Redis's buckets are powers of two: 16384 holds calls in (8192, 16384]
    assert histogram.bounds.tolist() == [1.0, 2.0, 8192.0, 16384.0, math.inf]
    assert histogram.calls[:, 0].tolist() == [400.0, 600.0, 0.0, 10.0, 0.0]
    p99 = histogram.last(0.99)
    assert p99 is not None and 1.0 < p99 <= 2.0
    assert histogram.last(0.999) == pytest.approx(8192 + 8192 * (0.999 * 1010 - 1000) / 10)


def test_a_bound_that_appears_later_does_not_change_the_past() -> None:
    early = [
        _series("get", "4", {0: 100, 10: 200, 20: 300}),
        _series("get", "+Inf", {0: 100, 10: 200, 20: 300}),
    ]
    before = merge_latency(early, [0, 10, 20], lag=1, window_s=10.0)
    # a 600 µs call at t=30 makes le="1024" appear, holding every earlier call too
    later = [
        _series("get", "4", {0: 100, 10: 200, 20: 300, 30: 400}),
        _series("get", "1024", {30: 401}),
        _series("get", "+Inf", {0: 100, 10: 200, 20: 300, 30: 401}),
    ]
    after = merge_latency(later, [0, 10, 20, 30], lag=1, window_s=10.0)
    past = [list(after.ts_ms).index(t) for t in before.ts_ms]
    assert after.quantile(0.999)[past].tolist() == before.quantile(0.999).tolist()
    assert after.calls[after.bounds.tolist().index(4.0), past].tolist() == [100.0, 100.0]
    # the new call is in (4, 1024] in the window where it happened, and only there
    assert after.calls[:, -1].tolist() == [0.0, 100.0, 0.0, 1.0, 0.0]


def test_restart_restarts_the_difference_and_new_commands_count_from_zero() -> None:
    series = [
        _series("get", "8", {0: 1000, 10: 5}),  # restarted between 0 and 10
        _series("get", "+Inf", {0: 1000, 10: 5}),
        _series("info", "256", {0: 1, 10: 2}),  # the monitor: polled at both steps
        _series("info", "+Inf", {0: 1, 10: 2}),
        _series("set", "2", {10: 7}),  # first call ever inside the window
        _series("set", "+Inf", {10: 7}),
    ]
    histogram = merge_latency(series, [0, 10], lag=1, window_s=10.0)
    assert histogram.bounds.tolist() == [1.0, 2.0, 4.0, 8.0, math.inf]
    assert histogram.calls[:, 0].tolist() == [0.0, 7.0, 0.0, 5.0, 0.0]


def test_monitoring_commands_are_left_out() -> None:
    series = [
        _series("get", "2", {0: 0, 10: 100}),
        _series("get", "+Inf", {0: 0, 10: 100}),
        _series("info", "1024", {0: 0, 10: 50}),
        _series("info", "+Inf", {0: 0, 10: 50}),
        _series("latency|histogram", "512", {0: 0, 10: 10}),
        _series("latency|histogram", "+Inf", {0: 0, 10: 10}),
    ]
    histogram = merge_latency(series, [0, 10], lag=1, window_s=10.0)
    p99 = histogram.last(0.99)
    assert p99 is not None and p99 <= 2.0


def test_unpolled_start_is_unknown_not_zero() -> None:
    series = [_series("get", "2", {10: 100}), _series("get", "+Inf", {10: 100})]
    histogram = merge_latency(series, [0, 10], lag=1, window_s=10.0)
    assert histogram.last(0.5) is None
    assert np.isnan(histogram.calls).all()


class _Source:
    """The `DataSource` surface `latency_histogram` reads, over the real PromQL engine."""

    def __init__(self, reader: MemoryReader) -> None:
        self.engine = Engine(reader)

    def range(self, expr: str, start: int, end: int, step: int) -> list[RangeSeries]:
        return [
            RangeSeries(labels, tuple(int(t) for t in ts), tuple(float(v) for v in values))
            for labels, ts, values in self.engine.range(expr, start, end, step).series
        ]

    def instant(self, expr: str, at: int) -> list[InstantSample]:
        raise NotImplementedError


def test_histogram_over_the_store_forward_fills_between_polls() -> None:
    reader = MemoryReader()
    batch = SampleBatch(0, (("instance", "a:1"),))
    for t, count in ((0, 0.0), (10_000, 50.0), (20_000, 100.0)):
        for le in ("2", "+Inf"):
            reader.add_series(
                {
                    "__name__": "redis_commands_latencies_usec_bucket",
                    "instance": "a:1",
                    "cmd": "get",
                    "le": le,
                },
                [t],
                [count],
            )
    del batch
    histogram = latency_histogram(_Source(reader), 'instance="a:1"', 10_000, 25_000, 5_000, 10_000)
    assert histogram.ts_ms == (10_000, 15_000, 20_000, 25_000)
    per_window = np.nansum(histogram.calls, axis=0).tolist()
    assert per_window == [50.0, 50.0, 50.0, 50.0]


def test_fleet_latency_reads_app_buckets_and_monitoring_inf_only_and_agrees() -> None:
    """The fleet read leaves out the monitoring commands' finite buckets; the result is
    what merging every bucket gives (their +Inf says when the target was polled)."""
    reader = MemoryReader()
    steps = [0, 60_000, 120_000]

    def add(instance: str, cmd: str, le: str, counts: list[float | None]) -> None:
        ts = [t for t, c in zip(steps, counts, strict=True) if c is not None]
        values = [c for c in counts if c is not None]
        labels = {"__name__": "redis_commands_latencies_usec_bucket", "instance": instance}
        reader.add_series({**labels, "cmd": cmd, "le": le}, ts, values)

    for instance, scale in (("a:1", 1.0), ("b:1", 3.0)):
        add(instance, "info", "64", [10.0, 20.0, 30.0])
        add(instance, "info", "+Inf", [10.0, 20.0, 30.0])
        add(instance, "client|list", "+Inf", [1.0, 2.0, 3.0])
        # `get` appears after the first poll: before it, the target had no app calls
        add(instance, "get", "8", [None, 40.0 * scale, 90.0 * scale])
        add(instance, "get", "1024", [None, None, 95.0 * scale])
        add(instance, "get", "+Inf", [None, 40.0 * scale, 100.0 * scale])
    source = _Source(reader)
    asked: list[str] = []
    real_range = source.range

    def recording_range(expr: str, start: int, end: int, step: int) -> list[RangeSeries]:
        asked.append(expr)
        return real_range(expr, start, end, step)

    source.range = recording_range  # type: ignore[method-assign]
    fleet = fleet_latency(source, 120_000, 60_000)  # type: ignore[arg-type]
    everything = real_range("redis_commands_latencies_usec_bucket", 60_000, 120_000, 60_000)
    for instance in ("a:1", "b:1"):
        mine = [s for s in everything if s.labels["instance"] == instance]
        expected = merge_latency(mine, [60_000, 120_000], 1, 60.0)
        got = fleet[instance]
        np.testing.assert_array_equal(got.bounds, expected.bounds)
        np.testing.assert_array_equal(got.calls, expected.calls)
        assert got.last(0.99) == expected.last(0.99) is not None
    assert all('cmd!~"' in e or 'le="+Inf"' in e for e in asked) and len(asked) == 2
