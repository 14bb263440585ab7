"""Bad HTTP input through a real waitress server: malformed request lines, oversized and
lying bodies, raw garbage, and generated queries; the server answers each cleanly (never a
500 or a traceback) and keeps serving."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.http.server import RunningServer, serve_forever
from tests.servers import LocalRedis
from tests.unit.test_http_fuzz import API_PATHS, API_STATUSES, NOW_S, make_app, query_strings


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    running = serve_forever(make_app(), "127.0.0.1:0")
    try:
        yield running
    finally:
        running.stop()


def request(
    server: RunningServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def raw(server: RunningServer, data: bytes) -> bytes:
    """Send bytes as they are; what the server answers before closing."""
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def assert_serving(server: RunningServer) -> None:
    # at the data's time: a long run can reach this more than the 5 min lookback after it
    status, body = request(server, "GET", f"/api/v1/query?query=sum(redis_up)&time={NOW_S}")
    assert status == 200, body
    assert json.loads(body)["data"]["result"][0]["value"][1] == "2"


@settings(max_examples=60, deadline=None)
@given(path=st.sampled_from(API_PATHS), query=query_strings())
def test_generated_queries_over_the_wire(server: RunningServer, path: str, query: str) -> None:
    # http.client refuses control characters in a URL, as any client would
    target = path + "?" + urllib.parse.quote(query, safe="=&%[]")
    status, body = request(server, "GET", target)
    assert status != 500 and b"Traceback" not in body
    payload = json.loads(body)
    if status != 200:
        assert status in API_STATUSES and payload["status"] == "error" and payload["error"]


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02garbage\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET /api/v1/query?query=redis_up HTTP/9.9\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /api/v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /api/v1/query HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\n" + b"X-Junk: " + b"j" * 70_000 + b"\r\n\r\n",
    ],
    ids=["binary", "no-path", "bad-version", "negative-length", "text-length", "bad-chunk",
         "huge-path", "huge-header"],
)  # fmt: skip
def test_malformed_requests_get_clean_answers(server: RunningServer, data: bytes) -> None:
    answer = raw(server, data)
    assert b" 500 " not in answer.split(b"\r\n", 1)[0]
    assert b"Traceback" not in answer
    assert_serving(server)


def test_bodies_that_lie_or_overflow_are_refused(server: RunningServer) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    too_big = b"query=" + b"1" * (2 << 20)
    status, body = request(server, "POST", "/api/v1/query", too_big, form)
    assert status == 400 and b"exceeds the limit" in body, body
    status, body = request(server, "POST", "/api/v1/query", b"query=\xff\xfe", form)
    assert status == 400 and b"UTF-8" in body, body
    status, body = request(
        server, "POST", "/api/v1/query_range", f"query=redis_up&start={NOW_S}".encode(), form
    )
    assert status == 400 and '"end"' in json.loads(body)["error"], body
    assert_serving(server)


@pytest.mark.parametrize(
    "accept",
    ["", "*/*", "application/openmetrics-text;version=1.0.0", "text/plain;version=0.0.4",
     "garbage;;q=x", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily"],
)  # fmt: skip
def test_metrics_answers_any_accept_header(server: RunningServer, accept: str) -> None:
    status, body = request(server, "GET", "/metrics", headers={"Accept": accept})
    assert status == 200
    assert b"cachewatch_" in body
    assert_serving(server)


@pytest.mark.parametrize("timeout", ["NaN", "inf", "-inf", "soon", "-3"])
def test_scrape_timeout_header_garbage_still_probes(
    server: RunningServer, shared_redis: LocalRedis, timeout: str
) -> None:
    """A NaN timeout once timed the probe out at once (`poll timed out after nans`), and an
    infinite one would have let a silent target hold the request forever."""
    target = urllib.parse.quote(shared_redis.url)
    status, body = request(
        server,
        "GET",
        f"/scrape?target={target}",
        headers={"X-Prometheus-Scrape-Timeout-Seconds": timeout},
    )
    assert status == 200
    assert b"\nredis_up 1\n" in body, body[:500]
