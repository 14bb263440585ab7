"""Issue 13 against a real `cachewatch serve` process: each abuse that used to crash it, stop
collection or exhaust it is answered, while the process stays up, `/-/healthy` answers
within 2 s throughout and the target misses at most three polls.

1. a query nested 12,000 levels deep, and a 16,000-long `or` chain (both crashed the
   process in the Rust parser);
2. a backtracking regex over a label value any Redis client can plant (ran 33 s under the
   store's lock);
3. queries asking for too many samples, and a subquery of 2.6 billion steps;
4. 120 slowloris sockets, without credentials;
7. a redis and a memcached target on one address, a silent target's scrape duration,
   and the Prometheus API paths that answered the dashboard's HTML.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.servers import LocalRedis, free_port
from tests.waiting import wait_for

PASSWORD = "hardening-test-password"
#: every series, and a subquery of 600 steps: a query that holds its slot for a while
HEAVY_QUERY = 'count({__name__=~".+"} offset 10s) + sum(count_over_time(redis_up[1m:100ms]))'
AUTH = "Basic " + base64.b64encode(f"ops:{PASSWORD}".encode()).decode()
RULES = """
groups:
  - name: hardening
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1) > 0
        labels: {severity: page}
        annotations: {summary: "always"}
      - record: job:redis_up:sum
        expr: sum(redis_up)
"""


@dataclass
class Serve:
    proc: subprocess.Popen[bytes]
    url: str
    redis: LocalRedis
    silent_port: int
    log: Path
    health: list[float] = field(default_factory=list)

    def get(
        self, path: str, params: dict[str, str] | None = None, timeout: float = 35.0
    ) -> tuple[int, bytes, float]:
        """(status, body, seconds taken), with the credentials."""
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        request = urllib.request.Request(url, headers={"Authorization": AUTH})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read(), time.monotonic() - started
        except urllib.error.HTTPError as error:
            return error.code, error.read(), time.monotonic() - started

    def json(self, path: str, params: dict[str, str] | None = None) -> Any:
        status, body, _ = self.get(path, params)
        assert status == 200, body[:500]
        return json.loads(body)

    def alive(self) -> bool:
        return self.proc.poll() is None


def write_config(tmp_path: Path, redis_port: int, silent_port: int, listen: str) -> Path:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    config = tmp_path / "cachewatch.toml"
    config.write_text(f"""
[global]
interval = "1s"
timeout = "800ms"

[store]
path = "{tmp_path / "store"}"

[web]
listen = "{listen}"
auth_username = "ops"
auth_password_env = "CW_HARDENING_PASSWORD"
read_timeout = "3s"
max_connections = 40

[query]
max_samples = 200000
max_concurrent = 1
max_queued = 1
queue_timeout = "1s"

[alerts]
rule_files = ["{rules}"]
evaluation_interval = "1s"

[[targets]]
url = "redis://127.0.0.1:{redis_port}"

[[targets]]
url = "memcached://127.0.0.1:{redis_port}"

[[targets]]
url = "redis://127.0.0.1:{silent_port}"
timeout = "500ms"
discover = false
""")
    return config


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    tmp_path = tmp_path_factory.mktemp("serve")
    server = LocalRedis().start()
    # accepts connections (the kernel does) and never answers: a silent target
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    port = free_port()
    config = write_config(tmp_path, server.port, silent.getsockname()[1], f"127.0.0.1:{port}")
    log = tmp_path / "serve.log"
    env = {**os.environ, "CW_HARDENING_PASSWORD": PASSWORD}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor",
                "serve",
                "-c",
                str(config),
                "--alerts-state-dir",
                str(tmp_path / "alerts"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    running = Serve(proc, f"http://127.0.0.1:{port}", server, silent.getsockname()[1], log)
    try:
        wait_for(lambda: _redis_up_samples(running) >= 3, 60, "serve to collect")
        yield running
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        silent.close()
        server.stop()


def _redis_up_samples(serve: Serve) -> int:
    if not serve.alive():
        raise AssertionError("serve exited:\n" + serve.log.read_text()[-3000:])
    try:
        status, body, _ = serve.get(
            "/api/v1/query", {"query": f'redis_up{{instance="{serve.redis.address}"}}[1m]'}, 5
        )
    except OSError:
        return 0
    if status != 200:
        return 0
    result = json.loads(body)["data"]["result"]
    return len(result[0]["values"]) if result else 0


class Watch:
    """While an abuse runs: `/-/healthy` every 0.2 s (no credentials, as a probe would)."""

    def __init__(self, serve: Serve) -> None:
        self.serve = serve
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.serve.url + "/-/healthy", timeout=10) as r:
                    assert r.status == 200
            except (OSError, AssertionError) as exc:
                self.failures.append(repr(exc))
            self.latencies.append(time.monotonic() - started)
            self._stop.wait(0.2)

    def __enter__(self) -> Watch:
        self.started_ms = int(time.time() * 1000)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)
        self.ended_ms = int(time.time() * 1000)


def missed_polls(serve: Serve, start_ms: int, end_ms: int) -> int:
    """Polls of the redis target missing from the store between the two times."""
    wait_for(lambda: _redis_up_samples(serve) > 0, 10, "polls after the abuse")
    span_s = (int(time.time() * 1000) - start_ms) // 1000 + 5
    data = serve.json(
        "/api/v1/query",
        {"query": f'redis_up{{instance="{serve.redis.address}"}}[{span_s}s]'},
    )
    stamps = [round(float(t) * 1000) for t, _ in data["data"]["result"][0]["values"]]
    inside = [t for t in stamps if start_ms - 1500 <= t <= end_ms + 1500]
    assert inside, "no poll at all during the abuse"
    gaps = [b - a for a, b in itertools.pairwise(inside)]
    return sum(max(0, round(gap / 1000) - 1) for gap in gaps)


def abuse(serve: Serve, act: Callable[[], None]) -> None:
    with Watch(serve) as watch:
        act()
        time.sleep(1.5)  # a poll or two after the abuse, inside the watched window
    assert serve.alive(), serve.log.read_text()[-3000:]
    assert not watch.failures, watch.failures
    assert max(watch.latencies) < 2.0, max(watch.latencies)
    assert missed_polls(serve, watch.started_ms, watch.ended_ms) <= 3


def expect_error(
    serve: Serve, path: str, params: dict[str, str], status: int, error_type: str
) -> str:
    code, body, took = serve.get(path, params)
    assert took < 30
    assert code == status, body[:300]
    answer = json.loads(body)
    assert answer["status"] == "error" and answer["errorType"] == error_type
    return str(answer["error"])


def test_case_1_deep_queries_are_refused_before_the_parser(serve: Serve) -> None:
    def act() -> None:
        deep = "(" * 12_000 + "up" + ")" * 12_000
        error = expect_error(serve, "/api/v1/query", {"query": deep}, 400, "bad_data")
        assert "query.max_depth" in error
        chain = " or ".join(["up"] * 16_000)
        error = expect_error(serve, "/api/v1/query", {"query": chain}, 400, "bad_data")
        assert "query.max_length" in error
        chain = " or ".join(["up"] * 1_000)  # short enough, too deep
        expect_error(serve, "/api/v1/query", {"query": chain}, 400, "bad_data")
        selector = "{" + "(" * 5000 + "}"
        expect_error(serve, "/api/v1/series", {"match[]": selector}, 400, "bad_data")

    abuse(serve, act)
    # the deepest allowed query still works, in a worker thread of the real server
    query = "(" * 120 + "redis_up" + ")" * 120
    assert serve.json("/api/v1/query", {"query": query})["status"] == "success"


def test_case_2_a_backtracking_regex_runs_in_linear_time(serve: Serve) -> None:
    # what any client may do: an error reply whose first word becomes an `err` label
    script = "return redis.error_reply('" + "a" * 28 + "B x')"
    subprocess.run(
        ["redis-cli", "-p", str(serve.redis.port), "eval", script, "0"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    wait_for(
        lambda: any(
            v.startswith("aaaa") for v in serve.json("/api/v1/label/err/values").get("data", [])
        ),
        30,
        "the planted label value",
    )

    def act() -> None:
        for query in ('redis_errors_total{err=~"(a+)+$"}', '{err=~"(a+)+$|(a|aa)+B"}'):
            code, body, took = serve.get("/api/v1/query", {"query": query})
            assert code == 200 and took < 5, (code, body[:300], took)
        data = serve.json("/api/v1/query", {"query": 'count(redis_errors_total{err=~"a+B"})'})
        assert data["data"]["result"][0]["value"][1] == "1"  # RE2, anchored like Prometheus

    abuse(serve, act)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_case_3_memory_is_budgeted_before_it_is_taken(serve: Serve) -> None:
    before = _peak_rss_mb(serve.proc.pid)
    count = serve.json("/api/v1/query", {"query": 'count({__name__=~".+"})'})
    series = int(count["data"]["result"][0]["value"][1])
    steps = min(10_999, 2 * 200_000 // series)  # twice what [query] max_samples allows

    def act() -> None:
        now = time.time()
        window = {"start": str(now - steps), "end": str(now), "step": "1"}
        error = expect_error(
            serve,
            "/api/v1/query_range",
            {"query": '{__name__=~".+"}', **window},
            422,
            "execution",
        )
        assert "too many samples" in error
        expect_error(
            serve, "/api/v1/query", {"query": "max_over_time(redis_up[30d:1ms])"}, 422, "execution"
        )

    abuse(serve, act)
    assert _peak_rss_mb(serve.proc.pid) - before < 300  # not the 20 GB the subquery asks


def test_case_3_the_query_pool_refuses_with_prometheus_errors(serve: Serve) -> None:
    answers: list[tuple[int, bytes]] = []

    def one() -> None:
        code, body, _ = serve.get(
            "/api/v1/query",
            {"query": HEAVY_QUERY},
        )
        answers.append((code, body))

    def act() -> None:
        threads = [threading.Thread(target=one) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

    abuse(serve, act)
    assert len(answers) == 12
    for code, body in answers:
        answer = json.loads(body)
        if code != 200:
            assert code == 503 and answer["errorType"] == "unavailable", answer


def test_case_4_slowloris_sockets_do_not_take_the_server_down(serve: Serve) -> None:
    host, port = "127.0.0.1", int(serve.url.rsplit(":", 1)[1])
    sockets: list[socket.socket] = []
    closed: set[int] = set()

    def act() -> None:
        for _ in range(120):  # three times max_connections, and no credentials
            sock = socket.create_connection((host, port), timeout=5)
            sock.sendall(b"GET /api/v1/query?query=up HTTP/1.1\r\nHost: x\r\n")
            sockets.append(sock)
        deadline = time.monotonic() + 12  # read_timeout is 3 s
        while time.monotonic() < deadline and len(closed) < len(sockets):
            for i, sock in enumerate(sockets):
                if i in closed:
                    continue
                try:
                    sock.sendall(b"X")
                except OSError:
                    closed.add(i)
            status, body, took = serve.get("/api/v1/query", {"query": "redis_up"}, timeout=10)
            assert status == 200 and took < 2, (status, body[:200], took)
            time.sleep(0.5)

    try:
        abuse(serve, act)
    finally:
        for sock in sockets:
            sock.close()
    assert len(closed) == len(sockets)  # every slow socket was closed by the server


def test_case_7_scheme_keyed_targets_real_durations_and_api_paths(serve: Serve) -> None:
    address = serve.redis.address
    targets = serve.json("/api/v1/targets")["data"]["activeTargets"]
    urls = {t["scrapeUrl"]: t for t in targets}
    assert {f"redis://{address}", f"memcached://{address}"} <= set(urls)
    assert urls[f"redis://{address}"]["health"] == "up"
    assert urls[f"memcached://{address}"]["health"] == "down"  # polled, not dropped
    for name, value in (("redis_up", "1"), ("memcached_up", "0")):
        result = serve.json("/api/v1/query", {"query": f'{name}{{instance="{address}"}}'})
        assert result["data"]["result"][0]["value"][1] == value
    silent = f"redis://127.0.0.1:{serve.silent_port}"
    wait_for(
        lambda: any(
            t["scrapeUrl"] == silent and t["health"] == "down" and t["lastScrapeDuration"] >= 0.4
            for t in serve.json("/api/v1/targets")["data"]["activeTargets"]
        ),
        20,
        "the silent target's real duration",
    )
    # Prometheus API parity
    labels = serve.json("/api/v1/labels")["data"]
    assert {"__name__", "instance", "err"} <= set(labels)
    names = serve.json("/api/v1/label/__name__/values")["data"]
    assert {"redis_up", "memcached_up"} <= set(names)
    code, body, _ = serve.get("/api/v1/nonexistent")
    assert code == 404 and json.loads(body)["status"] == "error"
    wait_for(lambda: serve.json("/api/v1/alerts")["data"]["alerts"], 30, "the alert to be active")
    (alert,) = serve.json("/api/v1/alerts")["data"]["alerts"]
    assert alert["labels"]["alertname"] == "AlwaysFiring" and alert["value"] == "1e+00"
    (group,) = serve.json("/api/v1/rules")["data"]["groups"]
    assert [r["type"] for r in group["rules"]] == ["alerting", "recording"]
    only = serve.json("/api/v1/rules", {"type": "record"})["data"]["groups"][0]["rules"]
    assert [r["name"] for r in only] == ["job:redis_up:sum"]
    expect_error(serve, "/api/v1/rules", {"type": "bogus"}, 400, "bad_data")


def test_case_5_scrape_polls_only_what_serve_polls(serve: Serve) -> None:
    elsewhere = LocalRedis().start()
    try:
        for target in (
            elsewhere.url,
            "unix:///var/run/redis/redis.sock",
            f"redis://:guess@{serve.redis.address}",
        ):
            error = expect_error(serve, "/scrape", {"target": target}, 400, "bad_data")
            assert "guess" not in error
        code, body, _ = serve.get("/scrape", {"target": serve.redis.url})
        assert code == 200 and b"redis_up 1" in body
    finally:
        elsewhere.stop()
