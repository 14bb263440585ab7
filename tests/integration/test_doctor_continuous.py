"""The doctor as `serve` runs it: findings evaluated continuously become `cachewatch_finding`
series with first/last seen, keep their first-seen time while they hold, clear (the series
ends) when the evidence does, and read back the same through the read model the UIs use;
`cachewatch doctor` prints them and exits 1 while a critical one stands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import redis

from monitor.model import now_ms
from monitor.query import Engine
from monitor.readmodel.doctor import (
    clients_view,
    namespace_view,
    no_findings_text,
    standing_findings,
)
from monitor.readmodel.local import LocalSource
from tests.doctor_harness import watching
from tests.servers import LocalRedis
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(180)
RULE = "redis-latency-monitor-off"


def _series(engine: Engine, expr: str) -> list[tuple[dict[str, str], float]]:
    return [(dict(labels), value) for labels, value in engine.instant(expr, now_ms()).samples]


def test_findings_become_series_that_end_when_the_evidence_does() -> None:
    server = LocalRedis(extra=["--latency-monitor-threshold", "0"]).start()
    try:
        with redis.Redis(port=server.port) as conn:
            conn.mset({f"order:{i}": "o" * 40 for i in range(500)})
        with watching([server.url], doctor={"interval": "1s"}) as watched:
            engine = Engine(watched.runtime.store)
            finding = f'cachewatch_finding{{rule="{RULE}"}}'
            wait_for(lambda: _series(engine, finding), 30, "the finding's series")
            ((labels, value),) = _series(engine, finding)
            assert value == 1 and labels["severity"] == "info"
            assert labels["instance"] == server.address
            first_expr = f'cachewatch_finding_first_seen_timestamp_seconds{{rule="{RULE}"}}'
            last_expr = f'cachewatch_finding_last_seen_timestamp_seconds{{rule="{RULE}"}}'
            first_seen = _series(engine, first_expr)[0][1]
            # later evaluations keep the first-seen time and move the last-seen one
            wait_for(lambda: _series(engine, last_expr)[0][1] > first_seen + 1.5)
            assert _series(engine, first_expr)[0][1] == first_seen

            # the UIs' read model tells the same story as the engine
            source = LocalSource(watched.runtime)
            shown = {f.rule: f for f in standing_findings(source, source.now_ms())}
            assert RULE in shown
            assert shown[RULE].first_seen_ms == int(first_seen * 1000)
            assert shown[RULE].title == next(f for f in watched.findings() if f.rule == RULE).title
            assert shown[RULE].evidence[0].text == "0 ms"
            # the namespace sampler's and the client summary's series reach the views too
            wait_for(lambda: namespace_view(source, server.address, source.now_ms()).rows)
            rows = namespace_view(source, server.address, source.now_ms()).rows
            assert rows[0].pattern == "order:{id}" and rows[0].keys == pytest.approx(500)
            clients = clients_view(source, server.address, source.now_ms())
            assert ("cachewatch", pytest.approx(clients.by_name[0][1])) in [
                (n, c) for n, c in clients.by_name
            ]
            text = source.server_doctor(server.address)
            assert "latency" in text["latency"].lower() and text["memory"]

            with redis.Redis(port=server.port) as conn:
                conn.config_set("latency-monitor-threshold", 100)
            wait_for(lambda: not _series(engine, finding), 30, "the finding to clear")
            assert RULE not in {f.rule for f in watched.doctor.findings()}
    finally:
        server.stop()


def test_views_tell_not_yet_evaluated_from_nothing_found() -> None:
    """A page opened before the doctor's first look must not say "nothing to fix"."""
    server = LocalRedis().start()
    try:
        with watching([server.url], evaluate_continuously=False) as watched:
            source = LocalSource(watched.runtime)
            wait_for(lambda: watched.runtime.statuses()[0].up, 30, "the first poll")
            text = no_findings_text(source, source.now_ms(), server.address)
            assert text.startswith("The doctor has not evaluated its rules yet")
            polls = watched.runtime.statuses()[0].last_poll_ms
            watched.doctor.evaluate_now(watched.runtime.store)
            # the evaluation's time reaches the store with the target's next poll
            wait_for(lambda: watched.runtime.statuses()[0].last_poll_ms > polls, 30, "a poll")
            wait_for(
                lambda: (
                    "every rule was checked"
                    in no_findings_text(source, source.now_ms(), server.address)
                ),
                30,
                "the evaluation's time in the store",
            )
            text = no_findings_text(source, source.now_ms(), server.address)
            assert text.startswith("No finding stands on this target: every rule was checked")
    finally:
        server.stop()


def test_the_doctor_command_exits_1_while_a_critical_finding_stands() -> None:
    full = LocalRedis(extra=["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"]).start()
    healthy = LocalRedis(extra=["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"]).start()
    try:
        with redis.Redis(port=full.port) as conn:
            for i in range(400):
                try:
                    conn.set(f"k:{i}", "v" * 8000)
                except redis.ResponseError:
                    break
        command = [sys.executable, "-m", "monitor", "doctor", "--duration", "3s", "--format"]
        bad = subprocess.run(
            [*command, "json", full.url], capture_output=True, text=True, timeout=120
        )
        assert bad.returncode == 1, bad.stderr
        report = json.loads(bad.stdout)
        rules = {f["rule"]: f for f in report["findings"]}
        critical = rules["redis-noeviction-near-full"]
        assert critical["severity"] == "critical"
        assert critical["evidence"][0]["query"].startswith("sum by (instance)")
        assert critical["evidence"][0]["explore"].startswith("/explore?q=")
        assert report["targets"] == [full.address]
        good = subprocess.run(
            [*command, "table", healthy.url], capture_output=True, text=True, timeout=120
        )
        assert good.returncode == 0, good.stderr
        assert "0 critical" in good.stdout
    finally:
        full.stop()
        healthy.stop()
