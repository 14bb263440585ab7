"""cachewatch's exposition of a Redis server against Debian's prometheus-redis-exporter's.

Both expose the same real redis-server through their multi-target `/scrape?target=`
endpoints (so neither adds `instance` or process metrics); the test compares metric
families (name, type, label names). Every family both export must agree; every remaining
difference must be exactly the list in `docs/EXPORTER.md`, which says why.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.config import config_from_urls
from monitor.http import RunningServer, make_app, serve_forever
from monitor.runtime import Runtime, static_metadata
from tests.servers import LocalRedis, free_port, have_binary

EXPORTER = "/usr/bin/prometheus-redis-exporter"
DOC = Path(__file__).resolve().parents[2] / "docs" / "EXPORTER.md"
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|")

pytestmark = pytest.mark.skipif(not have_binary(EXPORTER), reason="redis_exporter not installed")

Families = dict[str, tuple[str, frozenset[str]]]


def families_of(text: str) -> Families:
    found: Families = {}
    for family in text_string_to_metric_families(text):
        names: set[str] = set()
        for sample in family.samples:
            names.update(sample.labels)
        names.discard("le")  # bucket and quantile bounds are part of the type, not labels
        if family.type == "summary":
            names.discard("quantile")
        found[family.name] = (family.type, frozenset(names))
    return found


def differences(exporter: Families, ours: Families) -> dict[str, str]:
    """family -> difference, spelled as in the table of docs/EXPORTER.md."""
    found: dict[str, str] = {}
    for name in sorted(exporter.keys() | ours.keys()):
        if name not in ours:
            found[name] = "only in redis_exporter"
        elif name not in exporter:
            found[name] = "only in cachewatch"
        elif exporter[name][0] != ours[name][0]:
            found[name] = f"type: {exporter[name][0]} there, {ours[name][0]} here"
        elif exporter[name][1] != ours[name][1]:
            extra = sorted(ours[name][1] - exporter[name][1])
            missing = sorted(exporter[name][1] - ours[name][1])
            parts = [f"+{label}" for label in extra] + [f"-{label}" for label in missing]
            found[name] = "labels: " + " ".join(parts)
    return found


def documented() -> dict[str, str]:
    """The table between the `differences` markers: family (or glob) -> difference."""
    text = DOC.read_text()
    table = text.split("<!-- differences:start -->", 1)[1].split("<!-- differences:end -->")[0]
    rows = {}
    for line in table.splitlines():
        match = _ROW.match(line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def wait_for_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{EXPORTER} exited with {proc.returncode}")
        try:
            fetch(url)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{EXPORTER} did not answer at {url}")


@pytest.fixture
def seeded_redis() -> Iterator[LocalRedis]:
    server = LocalRedis().start()
    try:
        # keys with and without a TTL, so both exporters report the keyspace
        subprocess.run(
            ["redis-cli", "-p", str(server.port), "MSET", "a", "1", "b", "2"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["redis-cli", "-p", str(server.port), "EXPIRE", "a", "3600"],
            check=True,
            capture_output=True,
        )
        # a command slower than the 1 ms latency-monitor threshold, so both exporters report
        # a latency spike (on a busy machine one may happen anyway; now it always does)
        slow_script = "local i = 0 while i < 2000000 do i = i + 1 end return i"
        subprocess.run(
            ["redis-cli", "-p", str(server.port), "EVAL", slow_script, "0"],
            check=True,
            capture_output=True,
        )
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_exporter() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [EXPORTER, "--redis.addr=", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def cachewatch_exporter(seeded_redis: LocalRedis) -> Iterator[RunningServer]:
    config = config_from_urls([seeded_redis.url])
    runtime = Runtime(config, with_store=False)
    metadata = static_metadata(config)
    app = make_app(latest_batches=list, metadata=lambda: metadata, probe=runtime.probe)
    server = serve_forever(app, "127.0.0.1:0")
    try:
        yield server
    finally:
        server.stop()


def test_families_match_redis_exporter_except_documented_differences(
    seeded_redis: LocalRedis, redis_exporter: str, cachewatch_exporter: RunningServer
) -> None:
    query = urllib.parse.urlencode({"target": seeded_redis.url})
    theirs = families_of(fetch(f"{redis_exporter}/scrape?{query}"))
    ours = families_of(fetch(f"{cachewatch_exporter.url}/scrape?{query}"))
    assert "redis_up" in theirs
    assert ours["redis_up"] == theirs["redis_up"]
    assert "redis_latency_spike_last" in theirs  # the seeded slow script was seen
    expected = documented()
    found = differences(theirs, ours)
    undocumented = {
        name: diff
        for name, diff in found.items()
        if not any(
            fnmatch.fnmatchcase(name, pattern) and diff == want
            for pattern, want in expected.items()
        )
    }
    vanished = {
        pattern: want
        for pattern, want in expected.items()
        if not any(
            fnmatch.fnmatchcase(name, pattern) and diff == want for name, diff in found.items()
        )
    }
    assert undocumented == {}, f"differences missing from docs/EXPORTER.md: {undocumented}"
    assert vanished == {}, "docs/EXPORTER.md lists differences that no longer exist"
    shared = theirs.keys() & ours.keys()
    assert len(shared) > 100


def test_probe_of_unreachable_target_is_redis_up_zero_without_password_in_logs(
    cachewatch_exporter: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"redis://:s3cret-pw@127.0.0.1:{free_port()}"
    query = urllib.parse.urlencode({"target": closed})
    with caplog.at_level(logging.DEBUG):
        families = families_of(fetch(f"{cachewatch_exporter.url}/scrape?{query}"))
    samples = {
        s.name: s.value
        for family in text_string_to_metric_families(
            fetch(f"{cachewatch_exporter.url}/scrape?{query}")
        )
        for s in family.samples
    }
    assert families["redis_up"][0] == "gauge"
    assert samples["redis_up"] == 0
    assert "s3cret-pw" not in caplog.text
