"""The default rule pack over what cachewatch's own collectors store: every rule evaluates
without error against real servers, and healthy fresh servers raise only the restart alerts."""

from __future__ import annotations

import time
from pathlib import Path

from alerts.engine import RuleEngine
from alerts.querier import EngineQuerier
from alerts.rules import default_rule_files, load_rule_files
from alerts.sink import StoreSink
from monitor.config import config_from_urls
from monitor.model import now_ms
from monitor.runtime import Runtime
from tests.servers import LocalMemcached, LocalRedis


def test_pack_evaluates_cleanly_over_real_collectors(
    tmp_path: Path, redis_server: LocalRedis, memcached_server: LocalMemcached
) -> None:
    config = config_from_urls(
        [redis_server.url, memcached_server.url], interval_s=0.5, store_path=str(tmp_path / "store")
    )
    runtime = Runtime(config)
    runtime.start_background()
    try:
        querier = EngineQuerier.over(runtime.store)
        needed = [
            "redis_uptime_in_seconds",
            "redis_config_maxclients",
            "memcached_uptime_seconds",
            "memcached_max_connections",
        ]
        deadline = time.monotonic() + 30
        # Evaluate at an instant whose polls are all written: a sample is stamped with its
        # poll's slot, so the poll in flight now may still write (say, stale markers after a
        # timeout on a loaded machine) at a time just before now. Four intervals back is done.
        settled = 2000
        at_ms = now_ms() - settled
        while not all(querier.query(name, at_ms) for name in needed):
            assert time.monotonic() < deadline, "collectors did not deliver the pack's inputs"
            time.sleep(0.1)
            at_ms = now_ms() - settled
        groups = load_rule_files([str(p) for p in default_rule_files()])
        engine = RuleEngine(groups, querier, StoreSink(runtime.store))
        engine.evaluate_due(at_ms)
    finally:
        runtime.stop_background()
    assert [h for h in engine.health() if h.error] == []
    assert len(engine.health()) == sum(len(g.rules) for g in groups)
    firing = sorted({a.rule for a in engine.alerts()})
    assert firing == ["MemcachedRestarted", "RedisRestarted"]
    restarted = next(a for a in engine.alerts() if a.rule == "RedisRestarted")
    assert restarted.label_map["instance"] == redis_server.address
    assert restarted.annotation_map["summary"].startswith(
        f"Redis {redis_server.address} restarted "
    )
