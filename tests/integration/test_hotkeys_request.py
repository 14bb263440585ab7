"""A person's "hot keys now" against real servers: on servers where nothing cheaper can rank
keys, a bounded MONITOR sample by default, within its cost, saying what it rests on; refused
MONITOR, `--no-monitor`, auto mode backing off on a busy server, and the HTTP API."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from monitor.config import config_from_urls
from monitor.hotkeys_runner import HotKeysRunner, RunningHotKeys
from monitor.http.app import make_app
from monitor.runtime import Runtime
from tests.loads import fill_keys, run_loads, zipf_keys, zipf_load
from tests.servers import LocalRedis
from tests.waiting import wait_for

KEYS = zipf_keys(20_000)


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "hotkeys", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def loaded_lru() -> Iterator[LocalRedis]:
    server = LocalRedis(extra=["--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru"])
    server.start()
    fill_keys(server.port, KEYS)
    stop, threads = run_loads((zipf_load, (server.port, KEYS)))
    try:
        yield server
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        server.stop()


def test_an_lru_server_is_sampled_with_monitor_within_its_cost(loaded_lru: LocalRedis) -> None:
    done = _cli(loaded_lru.url, "--duration", "4s", "--top", "5", "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["methods"] == ["monitor"]
    found = [row["key"] for row in result["keys"]]
    assert set(KEYS[:3]) <= set(found)
    rates = [row["ops_per_sec"] for row in result["keys"]]
    assert rates == sorted(rates, reverse=True)  # rows by the figure shown
    assert all(row["error"] > 0 for row in result["keys"])
    (sample,) = result["samples"]
    assert sample["method"] == "monitor" and sample["commands"] > 0
    # a sample on too few commands says so
    assert (sample["commands"] < 1000) == any("too few" in n for n in result["notes"])
    # measured: commands/s while attached against between bursts (0 here where the load,
    # not the server, sets the pace); never over the 3 % budget
    assert sample["bursts"] >= 1 and 0 <= sample["throughput_loss"] <= 0.03
    patterns = {p["pattern"]: p["share"] for p in result["patterns"]}
    assert set(patterns) == {"user:{id}:profile", "session:{id}"}
    assert sum(patterns.values()) == pytest.approx(1.0, abs=0.01)
    table = _cli(loaded_lru.url, "--duration", "2s", "--by", "pattern")
    assert table.returncode == 0 and "user:{id}:profile" in table.stdout
    assert "commands" in table.stdout.splitlines()[0]  # what the result rests on


def test_without_monitor_and_nothing_else_it_says_so_at_once_and_exits_1() -> None:
    server = LocalRedis().start()  # noeviction: no LFU counters
    try:
        started = time.monotonic()
        done = _cli(server.url, "--duration", "60s", "--no-monitor", "--format", "json")
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    assert done.returncode == 1
    assert elapsed < 30  # it did not wait out the 60 s duration
    assert "no hot-key method available" in done.stderr and "--no-monitor" in done.stderr
    assert json.loads(done.stdout)["keys"] == []


def test_monitor_refused_by_acl_says_so_once_and_the_next_method_runs() -> None:
    server = LocalRedis(extra=["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lfu"])
    server.start()
    try:
        admin = redis.Redis(port=server.port)
        admin.execute_command("ACL", "SETUSER", "nomon", "on", ">pw", "~*", "+@all", "-monitor")
        fill_keys(server.port, KEYS)  # too many for LFU to cover in 2 s: MONITOR first
        url = f"redis://nomon:pw@127.0.0.1:{server.port}"
        done = _cli(url, "--duration", "2s", "--format", "json")
    finally:
        server.stop()
    result = json.loads(done.stdout)
    assert result["methods"] == ["lfu"]
    refused = [line for line in done.stderr.splitlines() if "MONITOR refused" in line]
    assert len(refused) == 1 and "NOPERM" in refused[0]
    assert "pw" not in done.stderr


@pytest.fixture
def runtime_with(tmp_path: Path):  # type: ignore[no-untyped-def]
    started: list[Runtime] = []

    def start(urls: list[str], table: dict[str, object]) -> tuple[Runtime, HotKeysRunner]:
        runner = HotKeysRunner(table)
        config = config_from_urls(urls, interval_s=1.0, store_path=str(tmp_path / "store"))
        runtime = Runtime(config)
        runtime.on_started(runner.start)
        runtime.on_stopping(runner.stop)
        runtime.start_background()
        started.append(runtime)
        return runtime, runner

    yield start
    for runtime in started:
        runtime.stop_background()


def test_auto_mode_bursts_only_while_the_server_has_headroom(  # type: ignore[no-untyped-def]
    runtime_with,
) -> None:
    quiet, busy = LocalRedis().start(), LocalRedis().start()
    load = subprocess.Popen(
        ["redis-benchmark", "-p", str(busy.port), "-q", "-l", "-P", "16", "-t", "get,set"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    monitored: dict[int, bool] = {quiet.port: False, busy.port: False}
    watch = threading.Event()

    def watch_monitor_clients() -> None:
        clients = {port: redis.Redis(port=port) for port in monitored}
        while not watch.is_set():
            for port, client in clients.items():
                if any("O" in c["flags"] for c in client.client_list()):
                    monitored[port] = True
            time.sleep(0.02)

    watcher = threading.Thread(target=watch_monitor_clients, daemon=True)
    try:
        # a pipelined benchmark keeps the busy server's CPU far above 2 % of a core (our own
        # polls and bursts keep the quiet one well under it)
        _, runner = runtime_with(
            [quiet.url, busy.url],
            {"monitor": "auto", "monitor_auto_max_cpu": 0.02, "window": "2s"},
        )
        watcher.start()
        wait_for(lambda: monitored[quiet.port], 60, "a burst on the quiet server")
        busy_share = runner.headroom()[busy.address].cpu_share()
        assert busy_share is not None and busy_share >= 0.02, busy_share
        assert not monitored[busy.port]
        report = next(r for r in runner.reports() if r.target == quiet.address)
        assert report.methods[0].value == "monitor" and report.samples
    finally:
        watch.set()
        load.kill()
        load.wait(10)
        quiet.stop()
        busy.stop()


def test_the_http_api_samples_now_and_refuses_what_it_cannot(  # type: ignore[no-untyped-def]
    runtime_with, loaded_lru: LocalRedis
) -> None:
    runtime, runner = runtime_with([loaded_lru.url], {"request_duration": "2s"})
    wait_for(lambda: runtime.statuses()[0].up, 30, "the first poll")
    app = make_app(latest_batches=list, metadata=dict, hotkeys=RunningHotKeys(runtime, runner))

    def call(method: str, query: str) -> tuple[str, dict[str, object]]:
        status: list[str] = []
        body = b"".join(
            app(
                {
                    "REQUEST_METHOD": method,
                    "PATH_INFO": "/api/v1/cachewatch/hotkeys",
                    "QUERY_STRING": query,
                    "wsgi.input": __import__("io").BytesIO(b""),
                    "CONTENT_LENGTH": "0",
                },
                lambda s, headers: status.append(s),
            )
        )
        return status[0], json.loads(body)

    status, answer = call("POST", f"target={loaded_lru.address}")
    assert status.startswith("200"), answer
    data = answer["data"]
    assert isinstance(data, dict) and data["methods"] == ["monitor"]
    assert data["samples"][0]["commands"] > 0 and data["keys"]
    status, answer = call("POST", "target=10.9.9.9:1")
    assert status.startswith("404") and answer["status"] == "error"
    status, answer = call("POST", f"target={loaded_lru.address}&duration=10m")
    assert status.startswith("400")
    status, answer = call("GET", "")
    assert status.startswith("200") and isinstance(answer["data"], list)
