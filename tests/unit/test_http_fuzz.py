"""Bad HTTP input, generated: the app of `cachewatch serve` (`build_http_app` over a runtime
whose store holds a little data) never answers 500 or a traceback. Every `/api/v1/*` refusal
is Prometheus's error JSON, status 400/422/503, naming what is wrong; unknown paths are 404
and other methods 405, both as JSON; and the app goes on answering good requests."""

from __future__ import annotations

import io
import json
import urllib.parse
import wsgiref.util
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import Config
from monitor.exporter import SelfMetrics
from monitor.http.wsgi import Router
from monitor.model import now_ms
from monitor.query.memory_reader import MemoryReader
from monitor.runtime import Runtime
from monitor.service import build_http_app

NOW_S = now_ms() // 1000
API_PATHS = [
    "/api/v1/query",
    "/api/v1/query_range",
    "/api/v1/series",
    "/api/v1/labels",
    "/api/v1/label/instance/values",
    "/api/v1/label/__name__/values",
    "/api/v1/metadata",
    "/api/v1/status/buildinfo",
]
OTHER_PATHS = ["/metrics", "/-/healthy", "/-/ready", "/", "/api/v1/", "/api/v1/label//values"]
PARAMS = ["query", "time", "start", "end", "step", "match[]", "timeout", "limit", "metric"]
API_STATUSES = {400, 422, 503}


def make_app() -> Router:
    reader = MemoryReader()
    start_ms = (NOW_S - 600) * 1000
    for instance in ("10.0.0.1:6379", "10.0.0.2:6379"):
        for name, slope in (("redis_up", 0.0), ("redis_connected_clients", 1.0)):
            reader.add_series(
                {"__name__": name, "instance": instance},
                [start_ms + i * 10_000 for i in range(61)],
                [1.0 + slope * i for i in range(61)],
            )
    # `/scrape` may probe loopback (nothing listens on the ports the fuzzer names)
    config = Config(exporter={"scrape_allow": ["127.0.0.0/8", "[::1]"]})
    runtime = Runtime(config, store=reader, with_store=False)
    return build_http_app(runtime, SelfMetrics(), query_api=True)


APP = make_app()


def call(
    app: Callable[..., Any],
    path: str,
    query: str = "",
    method: str = "GET",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REQUEST_METHOD": method,
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    wsgiref.util.setup_testing_defaults(environ)
    captured: dict[str, Any] = {}

    def start_response(
        status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
    ) -> None:
        captured["status"] = int(status.split()[0])
        captured["headers"] = dict(response_headers)

    chunks = app(environ, start_response)
    try:
        payload = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return captured["status"], captured["headers"], payload


def check_answer(path: str, method: str, status: int, headers: dict[str, str], body: bytes) -> None:
    """What every answer to any request must look like."""
    assert status != 500, f"500 for {method} {path}: {body[:300]!r}"
    assert b"Traceback" not in body and b'File "' not in body
    if method == "HEAD":
        assert body == b""  # Content-Length is what GET would send, as HTTP wants
    else:
        assert int(headers["Content-Length"]) == len(body)
    if path == "/-/ready" and status == 503 and method != "HEAD":
        assert body.startswith(b"cachewatch is not ready")  # plain text, as in Prometheus
    elif status >= 400 and method != "HEAD":
        error = json.loads(body)
        assert error["status"] == "error" and error["errorType"] and error["error"]
        if path in API_PATHS and method in ("GET", "POST"):
            assert status in API_STATUSES, (status, error)
        else:
            assert status in {404, 405} | API_STATUSES, (status, error)
    elif path.startswith("/api/v1/") and method != "HEAD":
        assert json.loads(body)["status"] == "success"


def still_serving() -> None:
    # at the data's time: a long run can reach this more than the 5 min lookback after it
    status, _, body = call(APP, "/api/v1/query", f"query=sum(redis_up)&time={NOW_S}")
    assert status == 200, body
    assert json.loads(body)["data"]["result"][0]["value"][1] == "2"
    status, _, body = call(APP, "/metrics")
    assert status == 200


numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["NaN", "nan", "Inf", "-Inf", "+inf", "1e308", "1e309", "-1e309", "0x10",
                     "1_000", "٣", "1e-400", "9" * 400, "", " ", "0", "-0", str(NOW_S),
                     "2023-11-14T22:13:20Z", "2023-13-45T99:99:99Z", "2023-11-14", "5m",
                     "1h30m", "0s", "-5m", "1y", "10000000000000000000000y", "1.5.5"]),
)  # fmt: skip
promql = st.one_of(
    st.sampled_from([
        "redis_up", "sum(redis_up)", "rate(redis_up[5m])", "redis_up[5m]", "redis_up{",
        "{}", '{__name__=~".*"}', '{__name__=~"("}', "sum by (instance (redis_up)",
        "histogram_quantile(0.9, redis_up)", "redis_up / 0", "1/0", "-1 ^ 0.5",
        "redis_up offset -1y", "redis_up @ 1e20", "redis_up @ NaN", "label_replace(redis_up)",
        "count_values(\"x\", redis_up)", "topk(1e20, redis_up)", "quantile(NaN, redis_up)",
        "redis_up[1ms:0s]", "redis_up[100000000d:1ms]", "absent(nope)", 'redis_up{a="\\xff"}',
        "vector(1) and on(x) group_left vector(2)", "((((((((((((((((1))))))))))))))))",
        "sum(" * 200 + "1" + ")" * 200, "\x00", "é{ü=\"ß\"}", "time()", "scalar(redis_up)",
        "redis_up == bool 1", "sort_desc(redis_up)", "predict_linear(redis_up[5m], 1e300)",
    ]),
    st.text(max_size=40),
)  # fmt: skip
param_value = st.one_of(numbers, promql, st.text(max_size=20))


@st.composite
def query_strings(draw: st.DrawFn) -> str:
    pairs = draw(
        st.lists(
            st.tuples(st.one_of(st.sampled_from(PARAMS), st.text(max_size=8)), param_value),
            max_size=6,
        )
    )
    if draw(st.booleans()):
        return urllib.parse.urlencode(pairs)
    # raw, possibly malformed: stray %, =, &, bytes that are not UTF-8
    return "&".join(f"{k}={v}" for k, v in pairs) + draw(
        st.sampled_from(["", "%", "%zz", "&&=", "%ff%fe", "=x", "&match[]"])
    )


paths = st.one_of(
    st.sampled_from(API_PATHS + OTHER_PATHS),
    st.text(max_size=30).map(lambda text: "/" + text),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_/.%", max_size=20).map(
        lambda text: "/api/v1/label/" + text + "/values"
    ),
)
methods = st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"])
accepts = st.sampled_from([
    "", "*/*", "application/json", "text/plain;version=0.0.4",
    "application/openmetrics-text;version=1.0.0", "application/openmetrics-text; version=9",
    "text/html;q=0.9, */*;q=0.1", "garbage;;;q=x", "é", "application/vnd.google.protobuf;"
    "proto=io.prometheus.client.MetricFamily;encoding=delimited",
])  # fmt: skip
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "text/plain",
    "",
]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(path=paths, query=query_strings(), method=methods, accept=accepts)
def test_any_request_gets_a_clean_answer(path: str, query: str, method: str, accept: str) -> None:
    status, headers, body = call(APP, path, query, method, headers={"Accept": accept})
    check_answer(path, method, status, headers, body)


@FUZZ
@given(
    path=st.sampled_from(API_PATHS),
    query=query_strings(),
    body=st.binary(max_size=200),
    content_type=st.sampled_from(CONTENT_TYPES),
)
def test_any_post_body_gets_a_clean_answer(
    path: str, query: str, body: bytes, content_type: str
) -> None:
    status, headers, payload = call(
        APP, path, method="POST", body=query.encode() + body, headers={"Content-Type": content_type}
    )
    check_answer(path, "POST", status, headers, payload)


@pytest.mark.parametrize(
    ("path", "query", "named"),
    [
        ("/api/v1/query", "", '"query"'),
        ("/api/v1/query", "query=redis_up&time=NaN", '"time"'),
        ("/api/v1/query", "query=redis_up&time=1e309", '"time"'),
        ("/api/v1/query", "query=redis_up&time=yesterday", '"time"'),
        ("/api/v1/query", "query=redis_up&timeout=soon", '"timeout"'),
        ("/api/v1/query", "query=sum(", "parse error"),
        ("/api/v1/query_range", "query=redis_up&start=x&end=1700000000&step=10", '"start"'),
        ("/api/v1/query_range", "query=redis_up&start=1700000000&end=Inf&step=10", '"end"'),
        ("/api/v1/query_range", "query=up&start=1700000000&end=1700000000&step=NaN", '"step"'),
        ("/api/v1/query_range", "query=redis_up&start=1700000000&end=1700000000&step=0", '"step"'),
        ("/api/v1/query_range", "query=up&start=0&end=1700000000&step=1", "11,000"),
        ("/api/v1/query_range", "query=redis_up&start=1700000000&end=1699999999&step=1", '"end"'),
        ("/api/v1/series", "", "match[]"),
        ("/api/v1/series", "match[]=sum(redis_up)", '"match[]"'),
        ("/api/v1/series", "match[]=redis_up{", '"match[]"'),
        ("/api/v1/labels", "match[]=1%2B1", '"match[]"'),
        ("/api/v1/labels", "start=9e99999", '"start"'),
        ("/api/v1/label/1bad/values", "", "label name"),
        ("/api/v1/metadata", "limit=many", '"limit"'),
    ],
)  # fmt: skip
def test_errors_name_the_bad_parameter(path: str, query: str, named: str) -> None:
    status, headers, body = call(APP, path, query)
    check_answer(path, "GET", status, headers, body)
    error = json.loads(body)
    assert status in API_STATUSES, error
    assert named in error["error"], error


#: loopback only, and ports nothing listens on, so a probe that gets through fails at once
scrape_targets = st.builds(
    "{}{}{}{}".format,
    st.sampled_from(["redis://", "rediss://", "memcached://", "unix://", "http://", "", "redis:"]),
    st.sampled_from(["", "u:pw@", ":pw@", "%zz@", "u@"]),
    st.sampled_from(["127.0.0.1", "[::1]", "[::1", "127.0.0.1\x00", "127.0.0.1\x1bc", "/tmp/x"]),
    st.sampled_from([":1", ":0", ":65536", ":-1", ":abc", ":1/0", ":1/x", ":1/-1", ":1?db=z"]),
)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(target=scrape_targets, timeout=numbers)
def test_scrape_of_any_target_gets_a_clean_answer(target: str, timeout: str) -> None:
    query = urllib.parse.urlencode({"target": target})
    headers = {"X-Prometheus-Scrape-Timeout-Seconds": timeout}
    status, response_headers, body = call(APP, "/scrape", query, headers=headers)
    check_answer("/scrape", "GET", status, response_headers, body)
    if status == 200:
        assert b"_up 0" in body, body  # nothing listens there
    else:
        assert status == 400 and '"target"' in json.loads(body)["error"]
    assert b"pw" not in body


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("redis://127.0.0.1:0", "port 0"),
        ("memcached://127.0.0.1:0", "port 0"),
        ("127.0.0.1\x00:1", "control characters"),
        ("redis://127.0.0.1\x1bc:1", "control characters"),
        ("unix:///tmp/redis\x00.sock", "control characters"),
        ("redis://127.0.0.1:1/x", "database"),
    ],
)
def test_scrape_refuses_targets_that_name_no_server(target: str, problem: str) -> None:
    """Port 0 once meant "the default port", and control characters reached connect() and
    the log line that names the target."""
    status, _, body = call(APP, "/scrape", urllib.parse.urlencode({"target": target}))
    assert status == 400, body
    assert problem in json.loads(body)["error"]


def test_good_requests_still_work_after_fuzzing() -> None:
    for path in API_PATHS:
        query = {
            "/api/v1/query": "query=redis_up",
            "/api/v1/query_range": f"query=redis_up&start={NOW_S - 300}&end={NOW_S}&step=15s",
            "/api/v1/series": "match[]=redis_up",
        }.get(path, "")
        status, headers, body = call(APP, path, query)
        check_answer(path, "GET", status, headers, body)
        assert status == 200, body
    still_serving()
