"""A Sentinel-managed set watched from one Sentinel address: three real Sentinels, a primary
and two replicas on loopback (`sentinel_set` fixture).

Periodic discovery is set to ten minutes, so following a failover has to come from the
polls themselves: a Sentinel reporting a primary the fleet does not know, or a data node
going down, asks for a refresh at once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from alerts.engine import RuleEngine
from alerts.querier import EngineQuerier
from alerts.rules import AlertingRule, RuleGroup, default_rule_files, load_rule_files
from collectors.hotkeys import HotKeyOptions
from collectors.hotkeys.oneshot import detect_hot_keys
from monitor.config import config_from_urls
from monitor.model import now_ms
from monitor.runtime import Runtime
from monitor.targets import parse_target_url
from tests.servers import LocalSentinelSet
from tests.waiting import wait_for

#: generous: a failover takes a few seconds itself, and the machine may be loaded
FOLLOW_S = 60.0


@pytest.fixture
def watched(sentinel_set: LocalSentinelSet, tmp_path: Path) -> Iterator[Runtime]:
    config = config_from_urls([sentinel_set.seed_url], interval_s=1.0, store_path=str(tmp_path))
    config = replace(config, global_=replace(config.global_, discovery_interval_s=600.0))
    runtime = Runtime(config)
    runtime.start_background()
    try:
        yield runtime
    finally:
        runtime.stop_background()


def roles(runtime: Runtime) -> dict[str, str]:
    return {s.target.instance: dict(s.target.labels).get("role", "") for s in runtime.statuses()}


def up(runtime: Runtime) -> dict[str, bool | None]:
    return {s.target.instance: s.up for s in runtime.statuses()}


def by_instance(runtime: Runtime, expr: str) -> dict[str, float]:
    result = EngineQuerier.over(runtime.store).query(expr, now_ms())
    return {labels["instance"]: value for labels, value in result}


def expected_roles(sentinels: LocalSentinelSet, primary: str) -> dict[str, str]:
    found = {s.address: "sentinel" for s in sentinels.sentinel_nodes}
    found.update({n.address: "replica" for n in sentinels.data_nodes})
    found[primary] = "primary"
    return found


def failovers(runtime: Runtime) -> list[tuple[str, str]]:
    events = runtime.store.events("topology.failover", None, 0, None, 10)
    return [(str(e.data["before"]), str(e.data["after"])) for e in events]


def test_one_sentinel_address_discovers_the_whole_set(
    sentinel_set: LocalSentinelSet, watched: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    primary = sentinel_set.primary_address()
    want = expected_roles(sentinel_set, primary)
    wait_for(lambda: roles(watched) == want, FOLLOW_S, "every node with its role")
    wait_for(lambda: all(up(watched).values()), FOLLOW_S, "every node polled")
    seed = sentinel_set.sentinel_nodes[0].address
    for status in watched.statuses():
        labels = dict(status.target.labels)
        assert labels["sentinel_set"] == seed
        if labels["role"] != "sentinel":
            assert labels["sentinel_master"] == "mymaster"
    # every Sentinel is polled with redis_exporter's names, and sees its peers healthy
    sentinel_addresses = {s.address for s in sentinel_set.sentinel_nodes}
    wait_for(
        lambda: (
            by_instance(watched, "redis_sentinel_master_ok_sentinels")
            == dict.fromkeys(sentinel_addresses, 3.0)
        ),
        FOLLOW_S,
        "each Sentinel's count of healthy Sentinels",
    )
    # a Sentinel has no CONFIG/LATENCY/SLOWLOG: those collectors stay quiet there
    assert "switched off" not in caplog.text


def test_sentinel_failover_is_followed(sentinel_set: LocalSentinelSet, watched: Runtime) -> None:
    old = sentinel_set.primary_address()
    wait_for(lambda: roles(watched) == expected_roles(sentinel_set, old), FOLLOW_S, "discovery")
    with redis.Redis(port=sentinel_set.sentinel_nodes[1].port) as conn:
        conn.execute_command("SENTINEL", "FAILOVER", "mymaster")
    wait_for(lambda: sentinel_set.primary_address() != old, FOLLOW_S, "the Sentinels to switch")
    new = sentinel_set.primary_address()
    wait_for(
        lambda: roles(watched) == expected_roles(sentinel_set, new), FOLLOW_S, "roles to follow"
    )
    assert failovers(watched) == [(old, new)]
    wait_for(lambda: all(up(watched).values()), FOLLOW_S, "every node polled again")


def test_killed_primary_is_followed(sentinel_set: LocalSentinelSet, watched: Runtime) -> None:
    old = sentinel_set.primary_address()
    wait_for(lambda: roles(watched) == expected_roles(sentinel_set, old), FOLLOW_S, "discovery")
    sentinel_set.node(old).kill()
    wait_for(lambda: sentinel_set.primary_address() != old, FOLLOW_S, "the Sentinels to fail over")
    new = sentinel_set.primary_address()
    # the dead primary stays a member, as the replica Sentinel now lists it, shown down
    wait_for(
        lambda: roles(watched) == expected_roles(sentinel_set, new), FOLLOW_S, "roles to follow"
    )
    wait_for(lambda: up(watched)[old] is False, FOLLOW_S, "the old primary shown down")
    wait_for(lambda: up(watched)[new] is True, FOLLOW_S, "the new primary polled")
    assert failovers(watched) == [(old, new)]


def _pack_without_waiting() -> list[RuleGroup]:
    """The default pack's Redis and Sentinel groups, each `for` cut to zero: the test
    checks what fires, not how long the pack waits (promtool's unit tests check that)."""
    groups = load_rule_files([str(p) for p in default_rule_files()])
    return [
        replace(
            group,
            rules=tuple(
                replace(rule, for_ms=0) if isinstance(rule, AlertingRule) else rule
                for rule in group.rules
            ),
        )
        for group in groups
        if group.name in ("redis", "redis-sentinel")
    ]


def test_a_sentinel_down_is_shown_and_alerted(
    sentinel_set: LocalSentinelSet, watched: Runtime
) -> None:
    primary = sentinel_set.primary_address()
    wait_for(lambda: roles(watched) == expected_roles(sentinel_set, primary), FOLLOW_S, "discovery")
    wait_for(lambda: all(up(watched).values()), FOLLOW_S, "every node polled")
    dead, *alive = sentinel_set.sentinel_nodes
    dead.kill()
    wait_for(lambda: up(watched)[dead.address] is False, FOLLOW_S, "the Sentinel shown down")
    wait_for(
        lambda: (
            by_instance(watched, "redis_sentinel_master_ok_sentinels")
            == {s.address: 2.0 for s in alive}
        ),
        FOLLOW_S,
        "the other Sentinels to flag it s_down",
    )
    engine = RuleEngine(_pack_without_waiting(), EngineQuerier.over(watched.store))
    engine.evaluate_due(now_ms())
    firing = {
        (alert.rule, alert.label_map.get("instance", ""))
        for alert in engine.alerts()
        if alert.state.value == "firing"
    }
    assert ("RedisDown", dead.address) in firing
    assert {("RedisSentinelPeerDown", s.address) for s in alive} <= firing
    assert [h for h in engine.health() if h.error] == []
    # the set is still whole otherwise: the dead Sentinel stays a member, shown down
    assert roles(watched)[dead.address] == "sentinel"


def test_hot_keys_of_a_set_sample_its_primary(sentinel_set: LocalSentinelSet) -> None:
    """`cachewatch hotkeys redis+sentinel://…` samples the data nodes, never a Sentinel."""
    primary = sentinel_set.primary_address()
    stop = threading.Event()

    def load() -> None:
        with redis.Redis(port=sentinel_set.node(primary).port) as conn:
            while not stop.is_set():
                conn.get("hot:session")

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    try:
        options = HotKeyOptions(monitor=True, burst_s=0.3, burst_every_s=0.0, window_s=30.0)
        seed = parse_target_url(sentinel_set.seed_url)
        report = asyncio.run(detect_hot_keys(seed, 2.0, options, poll_s=0.5))
    finally:
        stop.set()
        worker.join(10)
    assert report.hot and report.hot[0].key == "hot:session"
    assert {entry.instance for entry in report.hot} == {primary}
