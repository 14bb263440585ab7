"""A real Prometheus scrapes cachewatch, and cachewatch reads back from it.

One module-scoped setup: a redis-server, cachewatch's engine polling it every second into
an embedded store, the HTTP app on a free port, and Debian's `prometheus` (tmp storage,
free port) scraping `/metrics` every second. Then:

- PromQL over that Prometheus and cachewatch's engine over the embedded store agree;
- `PrometheusReader` (the `backend = "prometheus"` store) reads the same series back;
- Prometheus's `hashmod` relabelling agrees with `monitor.sharding.hashmod`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from monitor.config import config_from_urls
from monitor.exporter import SelfMetrics
from monitor.http import RunningServer, make_app, serve_forever
from monitor.model import Matcher, now_ms
from monitor.query import Engine
from monitor.query.errors import BadDataError, QueryTimeoutError
from monitor.runtime import Runtime, static_metadata
from monitor.sharding import hashmod
from monitor.store import EmbeddedStore, StoreConfig
from monitor.store.remote import PrometheusReader, RemoteStoreError
from tests.servers import LocalRedis, free_port, have_binary

PROMETHEUS = "/usr/bin/prometheus"
#: closed loopback ports: scrapes fail at once, which is all the hashmod check needs
HASHMOD_TARGETS = [f"127.0.0.1:{port}" for port in range(1, 13)]
SHARDS = 3

pytestmark = pytest.mark.skipif(not have_binary(PROMETHEUS), reason="prometheus not installed")


@dataclass
class Setup:
    redis: LocalRedis
    runtime: Runtime
    store: EmbeddedStore
    cachewatch: RunningServer
    prometheus_url: str


def get_json(url: str, **params: str) -> Any:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{url}?{query}", timeout=10) as response:
        return json.loads(response.read())


def prometheus_config(cachewatch_port: int) -> str:
    targets = json.dumps(HASHMOD_TARGETS)
    return f"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: cachewatch
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:{cachewatch_port}"]
  - job_name: hashmod
    static_configs:
      - targets: {targets}
    relabel_configs:
      - source_labels: [__address__]
        modulus: {SHARDS}
        target_label: shard
        action: hashmod
"""


def wait_until(condition: Any, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    redis = LocalRedis().start()
    subprocess.run(
        ["redis-cli", "-p", str(redis.port), "SET", "k", "v"], check=True, capture_output=True
    )
    workdir = Path(tempfile.mkdtemp(prefix="cachewatch-prom-"))
    config = config_from_urls([redis.url], interval_s=1.0, store_path=str(workdir / "store"))
    self_metrics = SelfMetrics()
    store = EmbeddedStore.open(workdir / "store", StoreConfig())
    store.register_metadata(static_metadata(config))
    runtime = Runtime(config, store=store, observer=self_metrics)
    runtime.start_background()
    app = make_app(
        latest_batches=runtime.latest_batches,
        metadata=store.metadata,
        self_metrics=self_metrics,
        probe=runtime.probe,
        reader=store,
    )
    cachewatch = serve_forever(app, "127.0.0.1:0")
    prom_port = free_port()
    (workdir / "prometheus.yml").write_text(prometheus_config(cachewatch.port))
    prometheus = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    prometheus_url = f"http://127.0.0.1:{prom_port}"
    try:
        wait_until(
            lambda: (
                prometheus.poll() is None
                and float(
                    (
                        get_json(
                            f"{prometheus_url}/api/v1/query",
                            query='count_over_time(redis_up{job="cachewatch"}[1m])',
                        )["data"]["result"]
                        or [{"value": [0, "0"]}]
                    )[0]["value"][1]
                )
                >= 5
            ),
            "five scrapes of cachewatch by Prometheus",
        )
        yield Setup(redis, runtime, store, cachewatch, prometheus_url)
    finally:
        prometheus.terminate()
        prometheus.wait(10)
        cachewatch.stop()
        runtime.stop_background()
        store.close()
        redis.stop()
        subprocess.run(["rm", "-rf", str(workdir)], check=False)


def without_job(result: list[dict[str, Any]]) -> dict[tuple[tuple[str, str], ...], str]:
    """Instant-vector results keyed by labels, minus the `job` label Prometheus adds."""
    return {
        tuple(sorted((k, v) for k, v in item["metric"].items() if k != "job")): item["value"][1]
        for item in result
    }


def test_prometheus_scrapes_the_openmetrics_exposition(setup: Setup) -> None:
    # Prometheus negotiates OpenMetrics; a document it could not parse would fail every
    # scrape (a scrape that merely timed out on a loaded machine does not matter here)
    data = get_json(
        f"{setup.prometheus_url}/api/v1/query", query='max_over_time(up{job="cachewatch"}[1m])'
    )
    assert data["data"]["result"][0]["value"][1] == "1"
    samples = get_json(
        f"{setup.prometheus_url}/api/v1/query",
        query='max_over_time(scrape_samples_scraped{job="cachewatch"}[1m])',
    )
    assert float(samples["data"]["result"][0]["value"][1]) > 100


@pytest.mark.parametrize(
    ("expr", "compare_values"),
    [
        ("redis_up", True),
        ("redis_config_maxclients", True),
        ('redis_instance_info{role="master"}', True),
        ("sum by (instance) (redis_db_keys)", True),
        ("redis_uptime_in_seconds > 0", False),
        ("rate(redis_commands_processed_total[10s]) > 0", False),
        ('count by (instance) ({__name__=~"redis_config_.*"})', True),
        ("cachewatch_poll_duration_seconds > 0", False),
    ],
)
def test_promql_over_prometheus_and_the_embedded_store_agree(
    setup: Setup, expr: str, compare_values: bool
) -> None:
    def both_at(at: str) -> tuple[dict[Any, str], dict[Any, str]]:
        theirs = get_json(f"{setup.prometheus_url}/api/v1/query", query=expr, time=at)["data"]
        ours = get_json(f"{setup.cachewatch.url}/api/v1/query", query=expr, time=at)["data"]
        assert theirs["resultType"] == ours["resultType"] == "vector"
        return without_job(theirs["result"]), without_job(ours["result"])

    # A scrape that timed out on a loaded machine marks Prometheus's series stale for a
    # moment, so a few evaluation times are tried; one where both agree is enough.
    for _ in range(5):
        theirs, ours = both_at(f"{now_ms() / 1000:.3f}")
        agree = theirs.keys() == ours.keys() and (not compare_values or theirs == ours)
        if theirs and agree:
            break
        time.sleep(1)
    assert theirs, f"{expr} is empty in Prometheus"
    assert theirs.keys() == ours.keys()
    if compare_values:
        assert theirs == ours


def test_remote_reader_reads_raw_samples_back(setup: Setup) -> None:
    reader = PrometheusReader(setup.prometheus_url, timeout_s=5)
    end = now_ms()
    start = end - 60_000
    matchers = [Matcher("__name__", "=", "redis_up"), Matcher("job", "=", "cachewatch")]
    (series,) = reader.select(matchers, start, end)
    assert series.labels["instance"] == setup.redis.address
    assert series.labels["__name__"] == "redis_up"
    assert len(series.ts) >= 5
    assert (series.values == 1).all()
    assert (series.ts >= start).all() and (series.ts <= end).all()
    # raw scrape timestamps, not evaluation steps: consecutive ones about a scrape apart
    gaps = series.ts[1:] - series.ts[:-1]
    assert (gaps > 500).all() and (gaps < 30_000).all()
    assert setup.redis.address in reader.label_values("instance", [], start, end)
    assert "cmd" in reader.label_names(
        [Matcher("__name__", "=", "redis_commands_total")], start, end
    )
    assert {"__name__": "redis_up", "instance": setup.redis.address, "job": "cachewatch"} in (
        reader.series([Matcher("__name__", "=", "redis_up")], start, end)
    )


def test_engine_over_remote_reader_matches_engine_over_embedded_store(setup: Setup) -> None:
    at = now_ms()
    expr = 'sum by (instance) (redis_config_maxclients{job="cachewatch"})'
    remote = Engine(PrometheusReader(setup.prometheus_url)).instant(expr, at).to_api()
    local = Engine(setup.store).instant(expr.replace('{job="cachewatch"}', ""), at)
    assert remote == local.to_api()


def test_remote_reader_errors_are_clear(setup: Setup) -> None:
    reader = PrometheusReader(setup.prometheus_url)
    with pytest.raises(BadDataError, match=r"invalid regular expression|error parsing regexp"):
        reader.select([Matcher("__name__", "=~", "redis_(")], 0, now_ms())
    closed = PrometheusReader(f"http://user:hunter2@127.0.0.1:{free_port()}", timeout_s=2)
    with pytest.raises(RemoteStoreError, match="is unreachable") as failure:
        closed.label_names([], 0, now_ms())
    assert "hunter2" not in str(failure.value)
    with pytest.raises(ValueError, match="expected http"):
        PrometheusReader("prometheus:9090")


def test_prometheus_hashmod_agrees_with_sharding(setup: Setup) -> None:
    result = get_json(f"{setup.prometheus_url}/api/v1/query", query='up{job="hashmod"}')
    shards = {
        item["metric"]["instance"]: int(item["metric"]["shard"])
        for item in result["data"]["result"]
    }
    assert set(shards) == set(HASHMOD_TARGETS)
    assert shards == {address: hashmod(address, SHARDS) for address in HASHMOD_TARGETS}
    assert len(set(shards.values())) == SHARDS


def serve_canned(status: str, body: bytes, delay_s: float = 0.0) -> RunningServer:
    """A server that answers every request with the same reply: a Prometheus gone wrong."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        time.sleep(delay_s)
        start_response(status, [("Content-Type", "application/json")])
        return [body]

    return serve_forever(app, "127.0.0.1:0")


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        ("200 OK", b"<html>login</html>", RemoteStoreError, "did not answer with JSON"),
        (
            "200 OK",
            b'{"status":"success","data":{"resultType":"vector"}}',
            RemoteStoreError,
            "expected a matrix result",
        ),
        (
            "200 OK",
            b'{"status":"success","data":{"resultType":"matrix","result":[{"x":1}]}}',
            RemoteStoreError,
            "bad series",
        ),
        (
            "503 Service Unavailable",
            b'{"status":"error","errorType":"unavailable","error":"store gateway down"}',
            RemoteStoreError,
            "store gateway down",
        ),
        (
            "422 Unprocessable Entity",
            b'{"status":"error","errorType":"timeout","error":"query timed out"}',
            QueryTimeoutError,
            "query timed out",
        ),
        ("502 Bad Gateway", b"upstream", RemoteStoreError, "answered HTTP 502"),
    ],
)
def test_remote_reader_explains_unusable_answers(
    status: str, body: bytes, error: type[Exception], message: str
) -> None:
    server = serve_canned(status, body)
    try:
        reader = PrometheusReader(server.url, timeout_s=5)
        with pytest.raises(error, match=re.escape(message)):
            reader.select([Matcher("__name__", "=", "redis_up")], 0, 1000)
    finally:
        server.stop()


def test_remote_reader_times_out() -> None:
    server = serve_canned("200 OK", b"{}", delay_s=0.6)
    try:
        reader = PrometheusReader(server.url, timeout_s=0.2)
        with pytest.raises(RemoteStoreError, match=r"did not answer within 0\.2s"):
            reader.label_names([], 0, 1000)
    finally:
        server.stop()


def test_store_backend_prometheus_reads_history_from_it(setup: Setup, tmp_path: Path) -> None:
    """`[store] backend = "prometheus"`: `cachewatch query` answers from Prometheus's history
    (the `job` label only Prometheus adds proves where the data came from)."""
    config = tmp_path / "cachewatch.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "local"}"\nbackend = "prometheus"\n'
        f'url = "{setup.prometheus_url}"\n'
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            "query",
            "-c",
            str(config),
            'count_over_time(redis_up{job="cachewatch"}[1m])',
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["resultType"] == "vector"
    (sample,) = data["result"]
    assert sample["metric"]["job"] == "cachewatch"
    assert float(sample["value"][1]) >= 5
