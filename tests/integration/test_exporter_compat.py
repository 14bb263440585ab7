"""cachewatch's exposition of a Redis server, and of a Redis Sentinel, against Debian's
prometheus-redis-exporter's.

Both expose the same real redis-server (or Sentinel) through their multi-target
`/scrape?target=` endpoints (so neither adds `instance` or process metrics); the test
compares metric families (name, type, label names). Every family both export must agree;
every remaining difference must be exactly the lists in `docs/EXPORTER.md`, which say why.
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
from tests.servers import LocalRedis, LocalSentinelSet, free_port, have_binary

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


def documented(marker: str = "differences") -> dict[str, str]:
    """The table between the `<marker>` markers: family (or glob) -> difference."""
    text = DOC.read_text()
    table = text.split(f"<!-- {marker}:start -->", 1)[1].split(f"<!-- {marker}:end -->")[0]
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


def undocumented(found: dict[str, str], expected: dict[str, str]) -> dict[str, str]:
    return {
        name: diff
        for name, diff in found.items()
        if not any(
            fnmatch.fnmatchcase(name, pattern) and diff == want
            for pattern, want in expected.items()
        )
    }


def vanished(found: dict[str, str], expected: dict[str, str]) -> dict[str, str]:
    return {
        pattern: want
        for pattern, want in expected.items()
        if not any(
            fnmatch.fnmatchcase(name, pattern) and diff == want for name, diff in found.items()
        )
    }


@pytest.fixture
def cachewatch_exporter() -> Iterator[RunningServer]:
    """cachewatch's `/scrape` (its probe polls whatever target it is given)."""
    config = config_from_urls([])
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
    missing = undocumented(found, expected)
    assert missing == {}, f"differences missing from docs/EXPORTER.md: {missing}"
    assert vanished(found, expected) == {}, "docs/EXPORTER.md lists gone differences"
    shared = theirs.keys() & ours.keys()
    assert len(shared) > 100


def test_sentinel_families_match_redis_exporter_except_documented_differences(
    sentinel_set: LocalSentinelSet, redis_exporter: str, cachewatch_exporter: RunningServer
) -> None:
    query = urllib.parse.urlencode({"target": f"redis://{sentinel_set.sentinel_nodes[0].address}"})
    theirs = families_of(fetch(f"{redis_exporter}/scrape?{query}"))
    ours = families_of(fetch(f"{cachewatch_exporter.url}/scrape?{query}"))
    sentinel_families = {name for name in theirs if name.startswith("redis_sentinel_")}
    # the per-master families from SENTINEL MASTERS/SENTINELS/REPLICAS/CKQUORUM and INFO
    assert {
        "redis_sentinel_master_ok_sentinels",
        "redis_sentinel_master_ok_slaves",
        "redis_sentinel_master_ckquorum_status",
        "redis_sentinel_master_status",
        "redis_sentinel_tilt",
    } <= sentinel_families
    assert {name: ours.get(name) for name in sentinel_families} == {
        name: theirs[name] for name in sentinel_families
    }
    # the plain Redis differences apply to a Sentinel too (those it has), plus its own
    found = differences(theirs, ours)
    sentinel_only = documented("sentinel-differences")
    missing = undocumented(found, {**documented(), **sentinel_only})
    assert missing == {}, f"differences missing from docs/EXPORTER.md: {missing}"
    assert vanished(found, sentinel_only) == {}, "docs/EXPORTER.md lists gone differences"


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
