"""The deployment kit in deploy/, each piece tried for real:

- the systemd units pass `systemd-analyze verify` (where systemd is installed) and their
  command lines parse with cachewatch's own argument parser;
- deploy/prometheus-scrape.yml, given to a real Prometheus, scrapes a real `cachewatch
  export` both ways (its /metrics, and the /scrape probe per target);
- deploy/alertmanager.yml, given to a real Alertmanager, routes what a real `cachewatch
  serve` sends (the default rule pack against a fresh Redis) to the cache-oncall webhook.

The files are used as shipped; only addresses and intervals are rewritten for the test.
"""

from __future__ import annotations

import configparser
import json
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import build_parser
from tests.servers import LocalMemcached, LocalRedis, free_port, have_binary
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = ["cachewatch.service", "cachewatch-export.service"]


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / name)
    return parser


def get_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())
    except OSError:
        return None


@pytest.mark.parametrize("name", UNITS)
def test_systemd_unit(name: str, tmp_path: Path) -> None:
    service = unit(name)["Service"]
    assert service["User"] == "cachewatch" and service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes"
    command = shlex.split(service["ExecStart"])
    assert command[0] == "/usr/local/bin/cachewatch"
    args = build_parser().parse_args(command[1:])  # the flags are cachewatch's own
    if name == "cachewatch.service":
        assert service["StateDirectory"] == "cachewatch"
        assert args.store.startswith("/var/lib/cachewatch/")
        assert str(args.alerts_state_dir).startswith("/var/lib/cachewatch/")
        assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"  # serve reloads on SIGHUP
    if not have_binary("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    # verify checks that ExecStart exists: point it at this checkout's entry point
    entry = shutil.which("cachewatch") or str(Path(sys.executable).parent / "cachewatch")
    local = tmp_path / name
    local.write_text((DEPLOY / name).read_text().replace("/usr/local/bin/cachewatch", entry))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(local)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Unknown" not in result.stderr and "ignoring" not in result.stderr, result.stderr


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[LocalRedis, LocalMemcached]]:
    redis, memcached = LocalRedis().start(), LocalMemcached().start()
    try:
        yield redis, memcached
    finally:
        redis.stop()
        memcached.stop()


def test_prometheus_scrapes_export_and_the_probe(
    servers: tuple[LocalRedis, LocalMemcached], tmp_path: Path
) -> None:
    if not have_binary("prometheus"):
        pytest.skip("prometheus not installed")
    redis, memcached = servers
    port = free_port()
    export_log = tmp_path / "export.log"
    with export_log.open("w") as sink:
        export = subprocess.Popen(
            [sys.executable, "-m", "monitor", "export", redis.url, memcached.url,
             "--interval", "1s", "--listen", f"127.0.0.1:{port}"],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    config = (
        (DEPLOY / "prometheus-scrape.yml")
        .read_text()
        .replace("127.0.0.1:9121", f"127.0.0.1:{port}")
        .replace("redis://127.0.0.1:6379", redis.url)
        .replace("memcached://127.0.0.1:11211", memcached.url)
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
    )
    (tmp_path / "prometheus.yml").write_text(config)
    prom_port = free_port()
    prometheus = subprocess.Popen(
        ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    api = f"http://127.0.0.1:{prom_port}/api/v1/query?query="

    def up_by(job: str) -> dict[str, float]:
        data = get_json(
            api + urllib.parse.quote(f'{{__name__=~"redis_up|memcached_up",job="{job}"}}')
        )
        if not data:
            return {}
        return {r["metric"]["instance"]: float(r["value"][1]) for r in data["data"]["result"]}

    expected = {redis.address: 1.0, memcached.address: 1.0}
    try:
        wait_for(lambda: up_by("cachewatch") == expected, 90, "the /metrics job")
        wait_for(lambda: up_by("cachewatch-probe") == expected, 90, "the /scrape probe job")
        targets = get_json(f"http://127.0.0.1:{prom_port}/api/v1/targets")
        health = {t["scrapePool"]: t["health"] for t in targets["data"]["activeTargets"]}
        assert set(health.values()) == {"up"}, health
    finally:
        for process in (prometheus, export):
            process.send_signal(signal.SIGTERM)
            process.wait(20)
    assert export.returncode == 0, export_log.read_text()


class Hook:
    """The webhook the route delivers to."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                bodies.append({"path": self.path, **json.loads(self.rfile.read(length))})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_alertmanager_routes_what_serve_sends(
    servers: tuple[LocalRedis, LocalMemcached], tmp_path: Path
) -> None:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.skip("prometheus-alertmanager not installed")
    redis, _ = servers
    hook = Hook()
    am_port = free_port()
    (tmp_path / "am.yml").write_text(
        (DEPLOY / "alertmanager.yml")
        .read_text()
        .replace("http://127.0.0.1:9000/", f"http://127.0.0.1:{hook.port}/")
        .replace("group_wait: 10s", "group_wait: 1s")
    )
    alertmanager = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'am'}",
         f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    config = tmp_path / "cachewatch.toml"
    config.write_text(
        f'[global]\ninterval = "1s"\ntimeout = "800ms"\n[store]\npath = "{tmp_path / "store"}"\n'
        # a label beside `instance`: until issue 11's fix lands, the pack's recording rules
        # end the series of a target labelled by `instance` alone
        f'[[targets]]\nurl = "{redis.url}"\nlabels = {{ service = "api-cache" }}\n'
        f'[web]\nlisten = "127.0.0.1:{free_port()}"\n'
        '[alerts]\nevaluation_interval = "1s"\ngroup_wait = "0s"\n'
        f'[[alerts.receivers]]\nname = "am"\ntype = "alertmanager"\n'
        f'urls = ["http://127.0.0.1:{am_port}"]\n'
    )
    assert (
        subprocess.run(
            [sys.executable, "-m", "monitor", "check", "-c", str(config)], capture_output=True
        ).returncode
        == 0
    )
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        serve = subprocess.Popen(
            [sys.executable, "-m", "monitor", "serve", "-c", str(config),
             "--alerts-state-dir", str(tmp_path / "alerts")],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        # the pack's RedisRestarted fires for a Redis younger than 5 minutes: a real alert
        # of the pack, sent by cachewatch, routed by the shipped route to cache-oncall
        wait_for(
            lambda: any(
                a["labels"].get("alertname") == "RedisRestarted"
                for body in hook.bodies
                for a in body["alerts"]
            ),
            90,
            "RedisRestarted at the cache-oncall webhook",
        )
        body = next(b for b in hook.bodies if b["alerts"])
        assert body["path"] == "/cache-oncall" and body["receiver"] == "cache-oncall"
        alert = body["alerts"][0]
        assert alert["labels"]["instance"] == redis.address
        assert alert["labels"]["severity"] == "warning"
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
        alertmanager.terminate()
        alertmanager.wait(10)
        hook.server.shutdown()
        hook.server.server_close()
    assert serve.returncode == 0, log.read_text()
