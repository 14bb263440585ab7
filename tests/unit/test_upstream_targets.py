"""A reader node's target list, parsed from the upstream's `redis_up`/`memcached_up` series
(`monitor/readmodel/upstream.py`), what a reader refuses (`monitor/readmodel/reader.py`),
and which configs make one."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from monitor.commands.common import resolve_config
from monitor.config import ConfigError
from monitor.http.targets import state_to_api
from monitor.model import Matcher
from monitor.query.errors import QueryError
from monitor.readernode import is_reader
from monitor.readmodel.reader import ReaderCannot, ReaderSource
from monitor.readmodel.source import Health
from monitor.readmodel.upstream import (
    LOOKBACK_MS,
    UpstreamTargets,
    UpstreamUnavailable,
    targets_from_series,
)
from monitor.store.api import ReadBudget, SeriesData
from monitor.store.remote import RemoteStoreError

NOW = 1_800_000_000_000


def up_series(name: str, labels: dict[str, str], points: Sequence[tuple[int, float]]) -> SeriesData:
    return SeriesData(
        {"__name__": name, "job": "cachewatch", **labels},
        np.array([t for t, _ in points], dtype=np.int64),
        np.array([v for _, v in points], dtype=np.float64),
    )


def every_second(until_ms: int, values: Sequence[float]) -> list[tuple[int, float]]:
    start = until_ms - 1000 * (len(values) - 1)
    return [(start + 1000 * i, v) for i, v in enumerate(values)]


def test_each_series_is_a_target_with_its_labels_kind_and_last_poll() -> None:
    series = [
        up_series(
            "redis_up",
            {"instance": "10.0.0.5:6379", "cluster": "c1", "role": "primary", "shard": "0"},
            every_second(NOW - 500, [1, 1, 1]),
        ),
        up_series(
            "memcached_up",
            {"instance": "10.0.0.9:11211", "service": "sessions"},
            every_second(NOW - 800, [1, 1, 0]),
        ),
    ]
    states = targets_from_series(series, NOW)
    assert [s.instance for s in states] == ["10.0.0.5:6379", "10.0.0.9:11211"]
    redis, memcached = states
    assert redis.kind == "redis" and memcached.kind == "memcached"
    # the target's labels, with what Prometheus added (job), without the metric name
    assert dict(redis.labels) == {
        "instance": "10.0.0.5:6379",
        "cluster": "c1",
        "role": "primary",
        "shard": "0",
        "job": "cachewatch",
    }
    assert dict(memcached.labels)["service"] == "sessions"
    assert redis.health is Health.UP and redis.last_error is None
    assert memcached.health is Health.DOWN and "its shard reports" in (memcached.last_error or "")
    assert redis.last_poll_ms == NOW - 500 and memcached.last_poll_ms == NOW - 800
    assert redis.interval_s == pytest.approx(1.0)


def test_up_since_is_the_start_of_the_last_run_of_up_samples() -> None:
    came_back = up_series("redis_up", {"instance": "a:1"}, every_second(NOW, [1, 0, 0, 1, 1]))
    always = up_series("redis_up", {"instance": "b:1"}, every_second(NOW, [1, 1, 1]))
    down = up_series("redis_up", {"instance": "c:1"}, every_second(NOW, [1, 1, 0]))
    a, b, c = targets_from_series([came_back, always, down], NOW)
    assert a.up_since_ms == NOW - 1000
    assert b.up_since_ms == NOW - 2000  # as far back as the window sees
    assert c.up_since_ms == 0


def test_a_series_without_recent_samples_is_unknown_with_why() -> None:
    # scraped every 15 s, last sample 2 minutes ago: its shard stopped, or dropped it
    points = [(NOW - 120_000 - 15_000 * i, 1.0) for i in reversed(range(5))]
    (state,) = targets_from_series([up_series("redis_up", {"instance": "a:1"}, points)], NOW)
    assert state.health is Health.UNKNOWN
    assert state.interval_s == pytest.approx(15.0)
    assert "no sample upstream for 120s" in (state.last_error or "")
    # one interval late is still up: Prometheus scrapes late when loaded
    points = [(NOW - 20_000 - 15_000 * i, 1.0) for i in reversed(range(5))]
    (state,) = targets_from_series([up_series("redis_up", {"instance": "a:1"}, points)], NOW)
    assert state.health is Health.UP


def test_one_target_per_instance_the_newest_series_wins() -> None:
    # the target moved: the old shard's series (other labels) ended, the new one goes on
    old = up_series(
        "redis_up", {"instance": "a:1", "service": "old"}, every_second(NOW - 60_000, [1, 0])
    )
    new = up_series("redis_up", {"instance": "a:1", "service": "new"}, every_second(NOW, [1, 1]))
    (state,) = targets_from_series([new, old], NOW)
    assert dict(state.labels)["service"] == "new" and state.health is Health.UP


def test_series_without_instance_or_samples_are_not_targets() -> None:
    empty = SeriesData(
        {"__name__": "redis_up", "instance": "a:1"},
        np.array([], dtype=np.int64),
        np.array([], dtype=np.float64),
    )
    nameless = up_series("redis_up", {}, every_second(NOW, [1]))
    nan_only = up_series("redis_up", {"instance": "b:1"}, [(NOW, float("nan"))])
    assert targets_from_series([empty, nameless, nan_only], NOW) == []


class Upstream:
    """A `SeriesReader` seam with canned series, or failing like a server that is down."""

    def __init__(self, series: list[SeriesData]) -> None:
        self.series = series
        self.down = False
        self.asked: list[tuple[list[Matcher], int, int]] = []

    def select(
        self,
        matchers: Sequence[Matcher],
        start_ms: int,
        end_ms: int,
        budget: ReadBudget | None = None,
    ) -> list[SeriesData]:
        self.asked.append((list(matchers), start_ms, end_ms))
        if self.down:
            raise RemoteStoreError("Prometheus at http://p:9090/api/v1/query is unreachable")
        return self.series


def test_the_list_is_read_again_once_older_than_the_refresh_interval() -> None:
    clock = [NOW]
    upstream = Upstream([up_series("redis_up", {"instance": "a:1"}, every_second(NOW, [1]))])
    targets = UpstreamTargets(upstream, "http://p:9090", refresh_s=5.0, clock=lambda: clock[0])
    assert [s.instance for s in targets.states()] == ["a:1"]
    matchers, start, end = upstream.asked[0]
    assert matchers == [Matcher("__name__", "=~", "redis_up|memcached_up")]
    assert (start, end) == (NOW - LOOKBACK_MS, NOW)
    clock[0] += 4_000
    upstream.series = []  # a shard stopped exporting it...
    assert [s.instance for s in targets.states()] == ["a:1"]  # ...not looked at yet
    assert len(upstream.asked) == 1
    clock[0] += 1_000
    assert targets.states() == []
    assert len(upstream.asked) == 2


def test_an_unreachable_upstream_is_a_query_error_naming_it_and_keeps_the_last_list() -> None:
    clock = [NOW]
    upstream = Upstream([up_series("redis_up", {"instance": "a:1"}, every_second(NOW, [1]))])
    targets = UpstreamTargets(upstream, "http://p:9090", refresh_s=1.0, clock=lambda: clock[0])
    targets.states()
    upstream.down = True
    clock[0] += 1_000
    with pytest.raises(UpstreamUnavailable) as raised:
        targets.states()
    assert isinstance(raised.value, QueryError) and raised.value.error_type == "unavailable"
    assert "cannot list targets from http://p:9090" in str(raised.value)
    view = targets.view()
    assert [s.instance for s in view.targets] == ["a:1"] and view.error is not None
    upstream.down = False
    clock[0] += 1_000
    assert [s.instance for s in targets.states()] == ["a:1"]


def test_targets_api_rows_of_upstream_states() -> None:
    (state,) = targets_from_series(
        [up_series("redis_up", {"instance": "a:1", "role": "replica"}, every_second(NOW, [0, 0]))],
        NOW,
    )
    row = state_to_api(state)
    assert row["labels"] == {"instance": "a:1", "role": "replica", "job": "cachewatch"}
    assert row["health"] == "down" and row["scrapePool"] == "redis"
    assert row["lastScrape"] == "2027-01-15T08:00:00+00:00"
    assert "its shard reports" in str(row["lastError"])


def test_a_reader_refuses_what_needs_a_connection_and_names_the_shard() -> None:
    upstream = Upstream([])
    source = ReaderSource(None, UpstreamTargets(upstream, "http://p:9090"))
    with pytest.raises(ReaderCannot, match=r"reader node: it reads http://p:9090") as raised:
        source.sample_hot_keys("a:1", None)
    assert "export --shard" in str(raised.value)
    with pytest.raises(ReaderCannot, match="LATENCY/MEMORY DOCTOR needs a connection to a:1"):
        source.server_doctor("a:1")


def _args(config: Path | None, urls: Sequence[str] = ()) -> argparse.Namespace:
    return argparse.Namespace(
        config=str(config) if config else None, urls=list(urls), interval=None, store=None
    )


def test_only_a_prometheus_backed_config_without_targets_is_a_reader(tmp_path: Path) -> None:
    prometheus = tmp_path / "reader.toml"
    prometheus.write_text('[store]\nbackend = "prometheus"\nurl = "http://127.0.0.1:9090"\n')
    config = resolve_config(_args(prometheus), need_targets=True, reader_ok=True)
    assert is_reader(config)
    # targets given: it polls them, as before (history still from Prometheus)
    polling = resolve_config(_args(prometheus, ["redis://127.0.0.1:6379"]), need_targets=True)
    assert not is_reader(polling) and len(polling.targets) == 1
    # commands that cannot read (and the embedded store) still need targets
    with pytest.raises(ConfigError, match="no targets: give URLs"):
        resolve_config(_args(prometheus), need_targets=True)
    embedded = tmp_path / "embedded.toml"
    embedded.write_text('[store]\nbackend = "embedded"\n')
    with pytest.raises(ConfigError, match="no targets: give URLs"):
        resolve_config(_args(embedded), need_targets=True, reader_ok=True)
