"""The default rule pack fires for standalone targets given as bare URLs.

They did not: the recording rules aggregate `by (instance)`, and their output was written
under `{instance="…"}`, the very label set of a bare-URL target, so every evaluation ended
all of that target's raw series. No RedisDown for a frozen server, no RedisRestarted for a
fresh one, no RedisEvictingKeys for a full one. Cluster nodes (more labels) were unaffected,
which is why the earlier tests passed.

One test runs the pack as shipped against two frozen servers (`for: 1m`, 30 s groups); the
other runs every rule of the pack with its durations (`for`, group interval) divided by 20 —
expressions, labels and recording rules unchanged — against servers set up so that each
alert's condition holds, and checks each fires within `for` + two evaluation intervals of
becoming pending.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from alerts.engine import RuleEngine
from alerts.querier import EngineQuerier
from alerts.rules import AlertingRule, RuleGroup, default_rule_files, load_rule_files
from alerts.sink import StoreSink
from alerts.state import AlertSnapshot
from monitor.config import config_from_urls
from monitor.model import now_ms
from monitor.runtime import Runtime
from tests.loads import fill_memcached, fill_redis, run_loads
from tests.servers import LocalMemcached, LocalRedis


def _pack(scale: int = 1) -> list[RuleGroup]:
    groups = load_rule_files([str(p) for p in default_rule_files()])
    return [
        replace(
            group,
            interval_ms=group.interval_ms // scale,
            rules=tuple(
                replace(rule, for_ms=rule.for_ms // scale)
                if isinstance(rule, AlertingRule)
                else rule
                for rule in group.rules
            ),
        )
        for group in groups
    ]


def _run_until(
    engine: RuleEngine, wanted: set[tuple[str, str]], deadline_s: float
) -> tuple[dict[tuple[str, str], AlertSnapshot], dict[tuple[str, str], int]]:
    """Evaluate as the service does (`RuleEngine.run`: due groups at the wall clock, so rule
    output lands after the polls before it) until every (alert, instance) in `wanted`
    fired; returns the firing snapshots and, per alert, when it was first seen active."""
    first_active: dict[tuple[str, str], int] = {}
    fired: dict[tuple[str, str], AlertSnapshot] = {}
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and not wanted <= fired.keys():
        engine.evaluate_due(now_ms())
        for alert in engine.alerts():
            key = (alert.rule, alert.label_map.get("instance", ""))
            first_active.setdefault(key, alert.active_at_ms)
            if alert.fired_at_ms is not None:
                fired.setdefault(key, alert)
        time.sleep(0.2)
    missing = sorted(wanted - fired.keys())
    assert not missing, f"never fired: {missing}; pending or firing: {sorted(first_active)}"
    return fired, first_active


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Runtime, list]]:
    servers: list = []
    runtime_box: list[Runtime] = []

    def start(*started: LocalRedis | LocalMemcached) -> Runtime:
        servers.extend(started)
        config = config_from_urls(
            [s.url for s in started], interval_s=1.0, store_path=str(tmp_path / "store")
        )
        runtime = Runtime(config)
        runtime.start_background()
        runtime_box.append(runtime)
        return runtime

    yield start  # type: ignore[misc]
    for runtime in runtime_box:
        runtime.stop_background()
    for server in servers:
        server.stop()


def test_the_pack_as_shipped_fires_down_alerts_for_bare_urls(watched) -> None:  # type: ignore[no-untyped-def]
    redis_server, memcached_server = LocalRedis().start(), LocalMemcached().start()
    runtime = watched(redis_server, memcached_server)
    engine = RuleEngine(_pack(), EngineQuerier.over(runtime.store), StoreSink(runtime.store))
    time.sleep(3)  # a few good polls first
    redis_server.pause()
    memcached_server.pause()
    frozen_at = now_ms()
    fired, _ = _run_until(
        engine,
        {("RedisDown", redis_server.address), ("MemcachedDown", memcached_server.address)},
        # the poll timeout (0.8 s), `for: 1m` and two 30 s evaluation intervals, and slack
        deadline_s=1 + 60 + 2 * 30 + 20,
    )
    for alert in fired.values():
        assert alert.fired_at_ms is not None
        assert alert.fired_at_ms - frozen_at <= 800 + 1000 + 60_000 + 2 * 30_000


def test_every_pack_alert_its_condition_calls_for_fires_for_bare_urls(watched) -> None:  # type: ignore[no-untyped-def]
    full = LocalRedis(extra=["--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru"]).start()
    frozen = LocalRedis().start()
    evicting = LocalMemcached(memory_mb=2).start()
    frozen_mc = LocalMemcached().start()
    runtime = watched(full, frozen, evicting, frozen_mc)
    scale = 20
    groups = _pack(scale)
    engine = RuleEngine(groups, EngineQuerier.over(runtime.store), StoreSink(runtime.store))
    stop, loads = run_loads((fill_redis, (full.port,)), (fill_memcached, (evicting.port,)))
    try:
        time.sleep(2)
        frozen.pause()
        frozen_mc.pause()
        wanted = {
            ("RedisRestarted", full.address),
            ("MemcachedRestarted", evicting.address),
            ("RedisDown", frozen.address),
            ("MemcachedDown", frozen_mc.address),
            ("RedisEvictingKeys", full.address),
            ("RedisMemoryNearMaxmemory", full.address),
            ("RedisHitRatioLow", full.address),
            ("MemcachedEvicting", evicting.address),
        }
        fired, first_active = _run_until(engine, wanted, deadline_s=150)
    finally:
        stop.set()
        for load in loads:
            load.join(10)
    intervals = {
        rule.name: (rule.for_ms, group.interval_ms)
        for group in groups
        for rule in group.rules
        if isinstance(rule, AlertingRule)
    }
    for key, alert in fired.items():
        for_ms, interval_ms = intervals[alert.rule]
        assert alert.fired_at_ms is not None
        # pending once, never reset by a stale input, firing `for` later (the engine
        # evaluates on its group's grid, so within two intervals of that)
        assert alert.fired_at_ms - first_active[key] <= for_ms + 2 * interval_ms, key
