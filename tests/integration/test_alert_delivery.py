"""Alerts reach real receivers: an HTTP webhook (down, then back), a real Alertmanager,
a real Redis going down and coming back; the rule pack passes promtool."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from alerts.dispatcher import Dispatcher, Route
from alerts.engine import RuleEngine
from alerts.outbox import Outbox
from alerts.querier import EngineQuerier
from alerts.receivers import AlertmanagerReceiver, WebhookReceiver
from alerts.rules import parse_rule_file
from alerts.service import AlertingService
from alerts.silences import SilenceStore, parse_matcher
from monitor.config import config_from_urls
from monitor.localservers import LocalRedis, free_port
from monitor.model import Matcher, now_ms
from monitor.runtime import Runtime
from monitor.secrets import Secret
from tests.waiting import wait_for

RULES_DIR = Path(__file__).resolve().parents[2] / "alerts" / "rules"


class Hook:
    """A tiny webhook receiver on a free port; `start()` again after `stop()` = back up."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bodies: list[dict[str, Any]] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> Secret:
        return Secret(f"http://127.0.0.1:{self.port}/hook")


@pytest.fixture
def hook() -> Iterator[Hook]:
    receiver = Hook()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.skip("prometheus-alertmanager not installed")
    port = free_port()
    config = tmp_path / "am.yml"
    config.write_text("route:\n  receiver: none\nreceivers:\n- name: none\n")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _get(url + "/-/ready") is not None)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            body = response.read()
    except OSError:
        return None
    return json.loads(body) if body.startswith((b"[", b"{")) else body


DOWN_RULES = """
groups:
- name: liveness
  interval: 1s
  rules:
  - alert: RedisDown
    expr: redis_up == 0
    for: 2s
    labels: {severity: critical}
    annotations: {summary: "Redis {{ $labels.instance }} is down"}
"""


def test_redis_down_reaches_webhook_and_alertmanager_then_resolves(
    tmp_path: Path, hook: Hook, alertmanager: str, redis_server: LocalRedis
) -> None:
    """The whole path: poller -> embedded store -> PromQL engine -> rules -> receivers."""
    hook.start()
    groups, problems = parse_rule_file(DOWN_RULES, "down.yml")
    assert problems == []
    config = config_from_urls(
        [redis_server.url], interval_s=0.5, store_path=str(tmp_path / "store")
    )
    runtime = Runtime(config)
    fast = {"group_wait_ms": 0, "group_interval_ms": 1000, "continue_matching": True}
    services: list[AlertingService] = []

    async def start_alerting(rt: Runtime) -> None:
        service = AlertingService(
            groups,
            EngineQuerier.over(rt.store),
            rt.store,
            tmp_path / "alerts",
            [
                WebhookReceiver("hook", hook.url, timeout_s=2),
                AlertmanagerReceiver("am", [Secret(alertmanager)], timeout_s=2),
            ],
            [Route("hook", **fast), Route("am", group_by=("...",), **fast)],
        )
        services.append(service)
        asyncio.get_running_loop().create_task(service.run(asyncio.Event()))

    runtime.on_started(start_alerting)
    runtime.start_background()
    try:
        querier = EngineQuerier.over(runtime.store)
        wait_for(lambda: querier.query("redis_up == 1", now_ms()) != [], 10)
        redis_server.kill()
        wait_for(lambda: any(b["status"] == "firing" for b in hook.bodies), 30)
        firing = next(b for b in hook.bodies if b["status"] == "firing")
        # fired within `for` (2s) + two rule intervals (1s each) of the first down sample,
        # judged by the engine's own timestamps, not by how busy this machine is
        (up,) = runtime.store.select([Matcher("__name__", "=", "redis_up")], 0, now_ms())
        first_down = int(up.ts[up.values == 0][0])
        fired = datetime.fromisoformat(firing["alerts"][0]["startsAt"].replace("Z", "+00:00"))
        assert 0 < fired.timestamp() * 1000 - first_down <= 2000 + 2 * 1000
        assert firing["alerts"][0]["labels"]["instance"] == redis_server.address
        summary = firing["alerts"][0]["annotations"]["summary"]
        assert summary == f"Redis {redis_server.address} is down"
        alerts_series = querier.query('ALERTS{alertstate="firing"}', now_ms())
        assert [labels["alertname"] for labels, _ in alerts_series] == ["RedisDown"]
        wait_for(lambda: any(a["labels"]["alertname"] == "RedisDown" for a in _am(alertmanager)))
        redis_server.start()
        wait_for(lambda: any(b["status"] == "resolved" for b in hook.bodies), 15)
        wait_for(lambda: not [a for a in _am(alertmanager) if a["status"]["state"] == "active"])
        assert querier.query('ALERTS{alertstate="firing"}', now_ms()) == []
    finally:
        runtime.stop_background()
        for service in services:
            service.stop()


def _am(base: str) -> list[dict[str, Any]]:
    return _get(base + "/api/v2/alerts?active=true") or []


def make_alert_pipeline(tmp_path: Path, hook: Hook, route: Route) -> tuple[RuleEngine, Outbox, Any]:
    groups, _ = parse_rule_file(DOWN_RULES.replace("for: 2s", "for: 0s"), "down.yml")

    class Toggle:
        down = False

        def query(self, expr: str, at_ms: int) -> list[tuple[dict[str, str], float]]:
            return [({"instance": "r:1"}, 0.0)] if self.down else []

    toggle = Toggle()
    outbox = Outbox(
        tmp_path / "outbox",
        [WebhookReceiver("hook", hook.url, timeout_s=1)],
        initial_backoff_s=0.05,
        max_backoff_s=0.2,
    )
    silences = SilenceStore(tmp_path)
    dispatcher = Dispatcher([route], outbox, silences, tmp_path / "notifications.json")
    return RuleEngine(groups, toggle, None, dispatcher), outbox, (toggle, silences)


def test_flapping_target_does_not_storm(tmp_path: Path, hook: Hook) -> None:
    hook.start()
    route = Route("hook", group_wait_ms=0, group_interval_ms=60_000)
    engine, outbox, (toggle, _) = make_alert_pipeline(tmp_path, hook, route)
    outbox.start()
    try:
        t0 = now_ms()
        for second in range(120):  # flaps every 3 s for two minutes
            toggle.down = (second // 3) % 2 == 0
            engine.evaluate_due(t0 + second * 1000)
        assert outbox.wait_idle(10)
    finally:
        outbox.stop()
    assert 1 <= len(hook.bodies) <= 3, [b["status"] for b in hook.bodies]


def test_receiver_down_then_back_gets_what_it_missed(tmp_path: Path, hook: Hook) -> None:
    route = Route("hook", group_wait_ms=0, group_interval_ms=1000)
    engine, outbox, (toggle, _) = make_alert_pipeline(tmp_path, hook, route)
    outbox.start()
    try:
        toggle.down = True
        t0 = now_ms()
        engine.evaluate_due(t0)
        toggle.down = False
        engine.evaluate_due(t0 + 2_000)
        time.sleep(0.3)  # a few failed attempts against the closed port
        assert hook.bodies == []
        hook.start()
        wait_for(lambda: len(hook.bodies) == 2)
    finally:
        outbox.stop()
    assert [b["status"] for b in hook.bodies] == ["firing", "resolved"]


def test_silenced_alert_is_not_sent(tmp_path: Path, hook: Hook) -> None:
    hook.start()
    route = Route("hook", group_wait_ms=0, group_interval_ms=1000)
    engine, outbox, (toggle, silences) = make_alert_pipeline(tmp_path, hook, route)
    silences.add([parse_matcher("alertname=RedisDown")], 3_600_000, "maintenance")
    outbox.start()
    try:
        toggle.down = True
        engine.evaluate_due()
        assert outbox.wait_idle(5)
    finally:
        outbox.stop()
    assert hook.bodies == []


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_rule_pack_passes_promtool() -> None:
    files = sorted(str(p) for p in RULES_DIR.glob("*.yml"))
    checked = subprocess.run(["promtool", "check", "rules", *files], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tests = sorted(p.name for p in (RULES_DIR / "tests").glob("*.yml"))
    tested = subprocess.run(
        ["promtool", "test", "rules", *tests],
        cwd=RULES_DIR / "tests",
        capture_output=True,
        text=True,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
