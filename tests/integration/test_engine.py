"""The engine against real servers: poll --once, scheduling under a frozen target,
restarts, and following a cluster failover without a restart."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest
import redis

from monitor.config import config_from_urls
from monitor.model import Event, Labels, SampleBatch
from monitor.runtime import Runtime, poll_once
from tests.servers import LocalCluster, LocalMemcached, LocalRedis
from tests.waiting import wait_for


class RecordingSink:
    """A store stand-in that keeps what the engine hands it (the engine's output seam)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.batches: list[SampleBatch] = []
        self.events: list[Event] = []
        self.stale: list[Labels] = []

    def append(self, batch: SampleBatch) -> None:
        with self.lock:
            self.batches.append(batch)

    def add_events(self, events: list[Event]) -> None:
        with self.lock:
            self.events.extend(events)

    def mark_stale(self, target_labels: Labels, ts_ms: int) -> None:
        with self.lock:
            self.stale.append(target_labels)

    def polls_of(self, instance: str) -> list[SampleBatch]:
        with self.lock:
            return [b for b in self.batches if dict(b.target_labels)["instance"] == instance]


def value(batch: SampleBatch, name: str) -> float:
    return batch.values[batch.names.index(name)]


def poll_json(*urls: str) -> list[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "poll", *urls, "--once", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_poll_once_prints_exporter_named_samples(
    redis_server: LocalRedis, memcached_server: LocalMemcached
) -> None:
    samples = poll_json(redis_server.url, memcached_server.url)
    by_name: dict[str, list[dict[str, object]]] = {}
    for sample in samples:
        assert set(sample) == {"name", "labels", "value", "ts"}
        by_name.setdefault(str(sample["name"]), []).append(sample)
    for name in (
        "redis_up",
        "redis_connected_clients",
        "redis_commands_processed_total",
        "redis_memory_used_bytes",
        "memcached_up",
        "memcached_current_items",
        "memcached_items_evicted_total",
    ):
        assert name in by_name, name
    (up,) = by_name["redis_up"]
    assert up["value"] == 1.0 and up["labels"] == {"instance": redis_server.address}
    assert by_name["memcached_up"][0]["labels"] == {"instance": memcached_server.address}
    assert any(
        s["labels"].get("cmd") == "info"  # type: ignore[union-attr]
        for s in by_name.get("redis_commands_total", [])
    )


def test_poll_once_on_a_cluster_seed_covers_all_six_nodes(redis_cluster: LocalCluster) -> None:
    samples = poll_json(redis_cluster.seed_url)
    ups = [s for s in samples if s["name"] == "redis_up"]
    assert len(ups) == 6 and all(s["value"] == 1.0 for s in ups)
    roles = sorted(s["labels"]["role"] for s in ups)  # type: ignore[index]
    assert roles == ["primary"] * 3 + ["replica"] * 3
    shards = {s["labels"]["shard"] for s in ups}  # type: ignore[index]
    assert shards == {"0-5460", "5461-10922", "10923-16383"}


def test_frozen_target_shows_down_and_never_delays_the_others(
    redis_server: LocalRedis, memcached_server: LocalMemcached
) -> None:
    other = LocalRedis().start()
    sink = RecordingSink()
    config = config_from_urls([redis_server.url, other.url, memcached_server.url], interval_s=0.5)
    runtime = Runtime(config, store=sink, with_store=False)
    runtime.start_background()
    try:
        wait_for(lambda: all(s.up for s in runtime.statuses()), 10, "all targets up")
        redis_server.pause()
        frozen_at = time.time() * 1000
        wait_for(
            lambda: any(
                value(b, "redis_up") == 0.0 and b.ts_ms > frozen_at
                for b in sink.polls_of(redis_server.address)
            ),
            5,
            "the frozen target to show redis_up 0",
        )
        before = {a: len(sink.polls_of(a)) for a in (other.address, memcached_server.address)}
        time.sleep(2.0)
        for address, count in before.items():
            polls = sink.polls_of(address)
            # polled on schedule while the frozen one times out: ~4 polls in 2 s
            assert len(polls) - count >= 3, address
            assert all(
                value(b, "redis_up" if "redis" in b.names[-2] else b.names[-2]) == 1.0
                for b in polls[count:]
            )
        redis_server.resume()
        wait_for(
            lambda: sink.polls_of(redis_server.address)[-1].values[-2] == 1.0,
            10,
            "the thawed target to come back up",
        )
    finally:
        redis_server.resume()
        runtime.stop_background()
        other.stop()


def test_restarted_target_comes_back_with_reset_counters(redis_server: LocalRedis) -> None:
    sink = RecordingSink()
    runtime = Runtime(
        config_from_urls([redis_server.url], interval_s=0.5), store=sink, with_store=False
    )
    runtime.start_background()
    try:
        client = redis.Redis(port=redis_server.port)
        for i in range(500):
            client.set(f"k{i}", i)
        client.close()
        loaded_at = time.time() * 1000
        wait_for(
            lambda: sink.polls_of(redis_server.address)[-1].ts_ms > loaded_at,
            10,
            "a poll after the load",
        )
        before_restart = value(
            sink.polls_of(redis_server.address)[-1], "redis_commands_processed_total"
        )
        redis_server.restart()
        restarted_at = time.time() * 1000
        wait_for(
            lambda: any(
                b.ts_ms > restarted_at and "redis_commands_processed_total" in b.names
                for b in sink.polls_of(redis_server.address)
            ),
            15,
            "polls after the restart",
        )
        after = [
            b
            for b in sink.polls_of(redis_server.address)
            if b.ts_ms > restarted_at and "redis_commands_processed_total" in b.names
        ]
        assert before_restart > 500
        assert value(after[0], "redis_commands_processed_total") < before_restart
        assert value(after[0], "redis_uptime_in_seconds") < 5
    finally:
        runtime.stop_background()


def test_discovery_follows_a_failover(redis_cluster: LocalCluster) -> None:
    sink = RecordingSink()
    config = config_from_urls([redis_cluster.seed_url], interval_s=0.5)
    config = replace(config, global_=replace(config.global_, discovery_interval_s=1.0))
    runtime = Runtime(config, store=sink, with_store=False)
    runtime.start_background()
    try:
        wait_for(
            lambda: len(runtime.statuses()) == 6 and all(s.up for s in runtime.statuses()),
            15,
            "six nodes up",
        )
        replica = next(
            s.target for s in runtime.statuses() if dict(s.target.labels)["role"] == "replica"
        )
        subprocess.run(
            ["redis-cli", "-p", str(replica.port), "cluster", "failover"],
            check=True,
            capture_output=True,
            timeout=10,
        )

        def promoted() -> bool:
            roles = {s.target.instance: dict(s.target.labels)["role"] for s in runtime.statuses()}
            return roles.get(replica.instance) == "primary"

        wait_for(promoted, 20, "the replica to be polled as a primary")
        assert len(runtime.statuses()) == 6
        kinds = {(e.kind, dict(e.target_labels)["instance"]) for e in sink.events}
        assert ("topology.role_changed", replica.instance) in kinds
        # the old series of the promoted node were ended
        assert any(
            dict(labels).get("instance") == replica.instance
            and dict(labels).get("role") == "replica"
            for labels in sink.stale
        )
    finally:
        runtime.stop_background()


@pytest.mark.parametrize("bad", ["redis://127.0.0.1:1"])
def test_unreachable_target_reports_down_not_crash(bad: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "poll", bad, "--once", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    (sample,) = [json.loads(line) for line in result.stdout.splitlines() if '"redis_up"' in line]
    assert sample["value"] == 0.0
    assert "cannot connect" in result.stderr


def test_shards_split_a_cluster_between_instances(redis_cluster: LocalCluster) -> None:
    from monitor.sharding import parse_shard

    polled: list[set[str]] = []
    for index in range(2):
        config = replace(
            config_from_urls([redis_cluster.seed_url]), shard=parse_shard(f"{index}/2")
        )
        statuses = asyncio.run(poll_once(config))
        polled.append({s.target.instance for s in statuses})
    assert polled[0].isdisjoint(polled[1])
    assert len(polled[0] | polled[1]) == 6


def test_polls_are_stamped_exactly_one_interval_apart(redis_server: LocalRedis) -> None:
    sink = RecordingSink()
    runtime = Runtime(
        config_from_urls([redis_server.url], interval_s=0.5), store=sink, with_store=False
    )
    runtime.start_background()
    try:
        wait_for(lambda: len(sink.polls_of(redis_server.address)) >= 7, 15, "seven polls")
    finally:
        runtime.stop_background()
    stamps = [b.ts_ms for b in sink.polls_of(redis_server.address)]
    # after the immediate first poll, every poll sits on the target's phase grid
    gaps = {b - a for a, b in itertools.pairwise(stamps[1:])}
    assert gaps == {500}, stamps
