"""The HTTP server over real sockets: routes, Prometheus API envelope and errors, headers."""

from __future__ import annotations

import gzip
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from monitor.exporter import SelfMetrics
from monitor.http import ListenError, RunningServer, make_app, parse_listen, serve_forever
from monitor.model import MetricType, SampleBatch
from monitor.poller import TargetStatus
from monitor.query.errors import BadDataError, QueryTimeoutError
from monitor.query.memory_reader import MemoryReader
from monitor.targets import parse_target_url

T0_MS = 1_700_000_000_000


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def fetch(
    server: RunningServer,
    path: str,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
) -> Reply:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(
        server.url + path, data=body, headers=headers or {}, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, dict(error.headers), error.read())


@dataclass
class FakeResult:
    data: dict[str, Any]

    def to_api(self) -> dict[str, Any]:
        return self.data

    def iter_api_json(self) -> Iterator[bytes]:
        yield json.dumps({"status": "success", "data": self.data}).encode()


class RecordingEngine:
    """Answers with what it was asked, so the tests see how parameters were parsed."""

    def instant(self, expr: str, at_ms: int) -> FakeResult:
        if expr == "bad(":
            raise BadDataError("1:5: parse error: unclosed left parenthesis")
        if expr == "slow":
            raise QueryTimeoutError("query timed out in expression evaluation")
        if expr == "boom":
            raise RuntimeError("engine bug")
        return FakeResult({"resultType": "scalar", "result": [at_ms / 1000, expr]})

    def range(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> FakeResult:
        return FakeResult({"resultType": "matrix", "result": [start_ms, end_ms, step_ms]})


def target_batch(instance: str, up: float) -> SampleBatch:
    batch = SampleBatch(ts_ms=T0_MS, target_labels=(("env", "prod"), ("instance", instance)))
    batch.add("redis_up", up)
    batch.add("redis_commands_total", 5, (("cmd", "get"),))
    return batch


METADATA = {
    "redis_up": (MetricType.GAUGE, "Whether the last poll succeeded"),
    "redis_commands_total": (MetricType.COUNTER, "Calls per command"),
}


def fake_probe(url: str, timeout_s: float) -> SampleBatch:
    if "down" in url:
        raise ConnectionRefusedError(f"cannot reach {url}")
    batch = target_batch("probed:1", 1)
    batch.add("probe_timeout_seconds", timeout_s)
    return batch


@pytest.fixture
def server() -> Iterator[RunningServer]:
    reader = MemoryReader()
    for batch in (target_batch("a:1", 1), target_batch("b:2", 0)):
        reader.append(batch)
    self_metrics = SelfMetrics()
    self_metrics.observe_poll("a:1", 0.01, ok=True)
    app = make_app(
        latest_batches=lambda: [target_batch("a:1", 1), target_batch("b:2", 0)],
        metadata=lambda: METADATA,
        self_metrics=self_metrics,
        probe=fake_probe,
        reader=reader,
        engine=RecordingEngine(),
    )
    running = serve_forever(app, "127.0.0.1:0")
    try:
        yield running
    finally:
        running.stop()


def test_metrics_negotiates_format_and_compresses(server: RunningServer) -> None:
    reply = fetch(server, "/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = reply.body.decode()
    assert 'redis_up{env="prod",instance="b:2"} 0\n' in text
    assert 'cachewatch_polls_total{instance="a:1"} 1\n' in text
    reply = fetch(
        server,
        "/metrics",
        headers={"Accept": "application/openmetrics-text;version=1.0.0", "Accept-Encoding": "gzip"},
    )
    assert reply.headers["Content-Encoding"] == "gzip"
    assert reply.headers["Content-Type"].startswith("application/openmetrics-text")
    assert gzip.decompress(reply.body).decode().endswith("# EOF\n")


def test_every_response_carries_security_headers(server: RunningServer) -> None:
    for path in ("/metrics", "/-/healthy", "/api/v1/query", "/nowhere"):
        headers = fetch(server, path).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert "default-src 'none'" in headers["Content-Security-Policy"]


def test_health_and_readiness(server: RunningServer) -> None:
    assert fetch(server, "/-/healthy").status == 200
    assert fetch(server, "/-/ready").status == 200


def test_readiness_reports_not_ready() -> None:
    app = make_app(latest_batches=list, metadata=dict, ready=lambda: False)
    running = serve_forever(app, "127.0.0.1:0")
    try:
        assert fetch(running, "/-/ready").status == 503
        # without a reader there is no query API
        assert fetch(running, "/api/v1/labels").status == 404
    finally:
        running.stop()
    running.stop()  # idempotent


def test_scrape_probes_the_target_without_instance_label(server: RunningServer) -> None:
    reply = fetch(
        server,
        "/scrape?target=redis://:hunter2@127.0.0.1:6379",
        headers={"X-Prometheus-Scrape-Timeout-Seconds": "4"},
    )
    assert reply.status == 200
    text = reply.body.decode()
    assert 'redis_up{env="prod"} 1\n' in text
    assert 'probe_timeout_seconds{env="prod"} 3.5\n' in text


def test_scrape_of_unreachable_target_is_up_zero_and_logs_no_password(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cachewatch.http"):
        reply = fetch(
            server, "/scrape?" + urllib.parse.urlencode({"target": "redis://:s3cret@down:1"})
        )
    assert reply.status == 200
    assert (
        reply.body.decode()
        == "# HELP redis_up Whether the last poll succeeded\n# TYPE redis_up gauge\nredis_up 0\n"
    )
    assert "s3cret" not in caplog.text
    assert "down:1" in caplog.text


def test_scrape_rejects_bad_targets(server: RunningServer) -> None:
    reply = fetch(server, "/scrape")
    assert (reply.status, reply.json()["error"]) == (400, 'missing parameter "target"')
    reply = fetch(server, "/scrape?" + urllib.parse.urlencode({"target": "ftp://u:pw@x:1"}))
    assert reply.status == 400
    assert "unknown scheme" in reply.json()["error"]
    assert "pw" not in reply.json()["error"]


def test_instant_query_parses_time_as_unix_or_rfc3339(server: RunningServer) -> None:
    reply = fetch(server, "/api/v1/query?query=up&time=1700000000.5")
    assert reply.json() == {
        "status": "success",
        "data": {"resultType": "scalar", "result": [1700000000.5, "up"]},
    }
    reply = fetch(server, "/api/v1/query", data={"query": "up", "time": "2023-11-14T22:13:20.25Z"})
    assert reply.json()["data"]["result"] == [1700000000.25, "up"]


def test_range_query_parses_step_as_duration_or_seconds(server: RunningServer) -> None:
    reply = fetch(server, "/api/v1/query_range?query=up&start=100&end=200&step=15s")
    assert reply.json()["data"]["result"] == [100_000, 200_000, 15_000]
    reply = fetch(
        server,
        "/api/v1/query_range",
        data={"query": "up", "start": "100", "end": "2e2", "step": "0.5"},
    )
    assert reply.json()["data"]["result"] == [100_000, 200_000, 500]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/v1/query", 'missing parameter "query"'),
        (
            "/api/v1/query?query=up&time=yesterday",
            'invalid parameter "time": cannot parse "yesterday" to a valid timestamp',
        ),
        (
            "/api/v1/query?query=up&timeout=soon",
            'invalid parameter "timeout": cannot parse "soon" to a valid duration',
        ),
        ("/api/v1/query_range?query=up&end=1&step=1", 'missing parameter "start"'),
        (
            "/api/v1/query_range?query=up&start=2&end=1&step=1",
            'invalid parameter "end": end timestamp must not be before start time',
        ),
        (
            "/api/v1/query_range?query=up&start=1&end=2&step=0",
            'invalid parameter "step": zero or negative query resolution step widths are '
            "not accepted. Try a positive integer",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=100000&step=1",
            "exceeded maximum resolution of 11,000 points per timeseries. "
            "Try decreasing the query resolution (?step=XX)",
        ),
        ("/api/v1/query?query=bad(", "1:5: parse error: unclosed left parenthesis"),
        ("/api/v1/series", "no match[] parameter provided"),
        (
            "/api/v1/series?match[]=rate(x[5m])",
            "invalid parameter \"match[]\": 'rate(x[5m])' is not a series selector",
        ),
        (
            '/api/v1/series?match[]={a=""}',
            'invalid parameter "match[]": vector selector must contain at least one '
            "non-empty matcher",
        ),
        ("/api/v1/label/1bad/values", 'invalid label name: "1bad"'),
    ],
)
def test_bad_requests_get_prometheus_bad_data_errors(
    server: RunningServer, path: str, message: str
) -> None:
    reply = fetch(server, path)
    assert reply.status == 400
    assert reply.json() == {"status": "error", "errorType": "bad_data", "error": message}


def test_engine_failures_map_to_prometheus_statuses(server: RunningServer) -> None:
    reply = fetch(server, "/api/v1/query?query=slow")
    assert (reply.status, reply.json()["errorType"]) == (503, "timeout")
    reply = fetch(server, "/api/v1/query?query=boom")
    assert reply.status == 500
    assert reply.json() == {
        "status": "error",
        "errorType": "internal",
        "error": "internal error; see the server log",
    }


def test_series_labels_and_values_read_the_store(server: RunningServer) -> None:
    reply = fetch(server, '/api/v1/series?match[]=redis_up&match[]=redis_up{instance="a:1"}')
    assert reply.json()["data"] == [
        {"__name__": "redis_up", "env": "prod", "instance": "a:1"},
        {"__name__": "redis_up", "env": "prod", "instance": "b:2"},
    ]
    reply = fetch(server, "/api/v1/labels", data={"match[]": "redis_commands_total"})
    assert reply.json()["data"] == ["__name__", "cmd", "env", "instance"]
    reply = fetch(server, "/api/v1/label/instance/values")
    assert reply.json() == {"status": "success", "data": ["a:1", "b:2"]}
    reply = fetch(
        server, '/api/v1/label/__name__/values?match[]={env="prod"}&start=0&end=1800000000'
    )
    assert reply.json()["data"] == ["redis_commands_total", "redis_up"]


def test_metadata_and_buildinfo_for_grafana(server: RunningServer) -> None:
    reply = fetch(server, "/api/v1/metadata?metric=redis_up")
    assert reply.json()["data"] == {
        "redis_up": [{"type": "gauge", "help": "Whether the last poll succeeded", "unit": ""}]
    }
    assert len(fetch(server, "/api/v1/metadata?limit=1").json()["data"]) == 1
    info = fetch(server, "/api/v1/status/buildinfo").json()["data"]
    assert info["version"].count(".") == 2


def test_methods_other_than_get_and_post_are_refused(server: RunningServer) -> None:
    reply = fetch(server, "/api/v1/labels", method="DELETE")
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, POST"


def test_root_app_serves_other_paths_with_security_headers() -> None:
    def ui(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        return [f"ui at {environ['PATH_INFO']}".encode()]

    app = make_app(latest_batches=list, metadata=dict)
    app.mount_root(ui)
    running = serve_forever(app, "127.0.0.1:0")
    try:
        reply = fetch(running, "/dashboards/fleet")
        assert reply.body == b"ui at /dashboards/fleet"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" not in reply.headers
        assert fetch(running, "/-/healthy").status == 200
    finally:
        running.stop()


def test_default_engine_answers_range_queries_over_the_reader() -> None:
    reader = MemoryReader()
    reader.add_series(
        {"__name__": "redis_connected_clients", "instance": "a:1"},
        [T0_MS + i * 1000 for i in range(60)],
        [float(i) for i in range(60)],
    )
    app = make_app(latest_batches=list, metadata=dict, reader=reader)
    running = serve_forever(app, "127.0.0.1:0")
    try:
        start, end = (T0_MS + 10_000) / 1000, (T0_MS + 50_000) / 1000
        reply = fetch(
            running,
            "/api/v1/query_range",
            data={
                "query": "redis_connected_clients * 2",
                "start": str(start),
                "end": str(end),
                "step": "20s",
            },
        )
        assert reply.json() == {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [
                    {
                        "metric": {"instance": "a:1"},
                        "values": [[start, "20"], [start + 20, "60"], [end, "100"]],
                    }
                ],
            },
        }
        reply = fetch(running, "/api/v1/query?query=sum(")
        assert (reply.status, reply.json()["errorType"]) == (400, "bad_data")
        assert fetch(running, "/api/v1/status/buildinfo").json()["data"]["application"]
    finally:
        running.stop()


def test_listen_addresses_are_parsed_and_checked() -> None:
    assert parse_listen("127.0.0.1:8050") == ("127.0.0.1", 8050)
    assert parse_listen("[::1]:9121") == ("::1", 9121)
    assert parse_listen(":8050") == ("127.0.0.1", 8050)  # never wider than asked
    for bad, message in (
        ("8050", "expected host:port"),
        ("h:x", "not a number"),
        ("h:70000", "out of range"),
    ):
        with pytest.raises(ListenError, match=message):
            parse_listen(bad)
    first = serve_forever(make_app(latest_batches=list, metadata=dict), "127.0.0.1:0")
    try:
        with pytest.raises(ListenError, match=f"cannot listen on '127.0.0.1:{first.port}'"):
            serve_forever(make_app(latest_batches=list, metadata=dict), f"127.0.0.1:{first.port}")
    finally:
        first.stop()


def test_targets_endpoint_has_prometheus_shape_and_no_secrets() -> None:
    polled = parse_target_url("redis://app:s3cret@127.0.0.1:6390", labels=(("team", "cache"),))
    statuses = [
        TargetStatus(polled, up=True, last_poll_ms=T0_MS, last_duration_s=0.002),
        TargetStatus(
            parse_target_url("memcached://127.0.0.1:11299"),
            up=False,
            last_poll_ms=T0_MS,
            last_error="poll timed out after 5s",
        ),
        TargetStatus(parse_target_url("redis://127.0.0.1:6391")),  # not polled yet
    ]
    app = make_app(latest_batches=list, metadata=dict, targets=lambda: statuses)
    running = serve_forever(app, "127.0.0.1:0")
    try:
        reply = fetch(running, "/api/v1/targets")
        dropped = fetch(running, "/api/v1/targets?state=dropped").json()["data"]
    finally:
        running.stop()
    assert reply.status == 200 and b"s3cret" not in reply.body
    active = reply.json()["data"]["activeTargets"]
    assert [t["health"] for t in active] == ["up", "down", "unknown"]
    up, down, _ = active
    assert up["labels"] == {"instance": "127.0.0.1:6390", "team": "cache"}
    assert up["scrapeUrl"] == "redis://127.0.0.1:6390" and up["scrapePool"] == "redis"
    assert up["lastError"] == "" and up["lastScrapeDuration"] == 0.002
    assert up["lastScrape"].startswith("20") and up["scrapeTimeout"] == "5s"
    assert down["lastError"] == "poll timed out after 5s"
    assert dropped == {"activeTargets": [], "droppedTargets": []}
