"""A reader node end to end: two `cachewatch export --shard i/2` processes poll real
redis-server and memcached targets, a real Prometheus scrapes them, and `cachewatch serve`
with `[store] backend = "prometheus"` and no targets shows the fleet from there — every
target with its labels and up state, the overview's figures as the upstream has them, a
killed target down — while sending nothing to any cache server.

One module-scoped fleet; the tests that change it (a kill, stopping an export) run last.
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import plotly.utils
import pytest

from monitor.config import load_config
from monitor.localservers import LocalMemcached, LocalRedis, free_port, have_binary
from monitor.readernode import open_upstream
from monitor.readmodel import Health, fleet_overview
from monitor.readmodel import queries as q
from monitor.readmodel.doctor import no_findings_text
from monitor.readmodel.reader import ReaderCannot, ReaderSource
from monitor.runtime import Runtime
from tests.shard_fleet import (
    Reader,
    ShardedFleet,
    by_instance,
    reader_config,
    start_reader,
    stop_reader,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.skipif(
    not (have_binary("prometheus") and have_binary("redis-cli")),
    reason="prometheus and redis-cli are needed",
)


@dataclass
class Setup:
    fleet: ShardedFleet
    reader: Reader
    #: the same reader in this process (its runtime polls nothing), for the read model
    source: ReaderSource


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    workdir = tmp_path_factory.mktemp("reader-node")
    fleet = ShardedFleet(workdir).start(redis=3, memcached=2, shards=2)
    assert fleet.prometheus is not None
    reader = start_reader(
        reader_config(workdir / "reader.toml", fleet.prometheus.url), workdir / "reader.log"
    )
    in_process = load_config(reader_config(workdir / "here.toml", fleet.prometheus.url))
    runtime = Runtime(in_process)
    runtime.start_background()
    try:
        yield Setup(fleet, reader, ReaderSource(runtime, open_upstream(in_process)))
    finally:
        runtime.stop_background()
        code = stop_reader(reader)
        fleet.stop()
    assert code == 0, reader.output()


def test_it_says_it_is_a_reader_of_the_upstream(setup: Setup) -> None:
    assert setup.fleet.prometheus is not None
    first = setup.reader.output().splitlines()[0]
    assert first.startswith(f"cachewatch: a reader of {setup.fleet.prometheus.url}: ")
    assert "polls nothing" in first


def test_it_lists_every_target_with_its_labels_and_up_state(setup: Setup) -> None:
    fleet = setup.fleet
    assert fleet.lonely is not None
    expected = {s.address: fleet.service_of(s) for s in fleet.servers}
    expected[fleet.lonely.address] = ""
    wait_for(lambda: set(setup.reader.targets()) == set(expected), 30, "every target listed")
    targets = setup.reader.targets()
    for server in [*fleet.servers, fleet.lonely]:
        row = targets[server.address]
        assert row["health"] == "up", row
        assert row["scrapePool"] == ("memcached" if isinstance(server, LocalMemcached) else "redis")
        assert row["labels"].get("service", "") == expected[server.address]
        assert row["labels"]["job"] == "cachewatch"  # what Prometheus adds
    # the read model (what the TUI and the web pages show) lists the same
    states = {s.instance: s for s in setup.source.statuses()}
    assert set(states) == set(expected)
    assert all(s.health is Health.UP for s in states.values())
    assert states[fleet.redis[0].address].kind == "redis"
    assert dict(states[fleet.memcached[0].address].labels)["service"] == "sessions"


def test_the_overview_shows_the_upstreams_figures(setup: Setup) -> None:
    prometheus = setup.fleet.prometheus
    assert prometheus is not None
    everyone = {s.address for s in setup.fleet.servers}
    upstream: dict[str, dict[str, float]] = {}

    at = [0]

    def upstream_answers() -> bool:
        """Prometheus's own answers two seconds ago (all samples of then are in), once
        they cover every target (an empty memcached has no slabs, so no memory figure)."""
        at[0] = int(time.time() * 1000) - 2000
        for expr in (q.FLEET_MEMORY_USED, q.FLEET_CLIENTS):
            answer = prometheus.get("/api/v1/query", query=expr, time=f"{at[0] / 1000:.3f}")
            upstream[expr] = by_instance(answer)
        return {s.address for s in setup.fleet.redis} <= set(
            upstream[q.FLEET_MEMORY_USED]
        ) and everyone <= set(upstream[q.FLEET_CLIENTS])

    wait_for(upstream_answers, 30, "Prometheus to have every figure")
    at_ms = at[0]
    at_s = at_ms / 1000
    # the reader's query API evaluates over what Prometheus stores: the same answers
    for expr, values in upstream.items():
        assert setup.reader.query(expr, at_s) == pytest.approx(values, rel=1e-9), expr
    # the overview rows (the TUI's table, the web's cards) carry those figures
    rows = {row.instance: row for row in fleet_overview(setup.source, at_ms)}
    for instance in everyone:
        assert rows[instance].health is Health.UP
        memory = upstream[q.FLEET_MEMORY_USED].get(instance)
        assert rows[instance].memory_used == (None if memory is None else pytest.approx(memory))
        assert rows[instance].clients == pytest.approx(upstream[q.FLEET_CLIENTS][instance])
        assert rows[instance].version  # from the info series, as the embedded path shows it
    # and the web overview renders a card for every target
    from ui.web.context import PageContext
    from ui.web.data import WebData
    from ui.web.pages.overview import overview_update

    ctx = PageContext(data=WebData.for_reader(setup.source))
    grid, _stats, updated, _state = overview_update(ctx, "", None)
    shown = plotly.utils.PlotlyJSONEncoder().encode(grid)
    assert all(instance in shown for instance in everyone)
    assert updated.startswith(f"{len(rows)} targets")


def test_what_needs_a_connection_points_to_the_shard(setup: Setup) -> None:
    instance = setup.fleet.redis[0].address
    with pytest.raises(ReaderCannot, match="export --shard"):
        setup.source.sample_hot_keys(instance, None)
    with pytest.raises(ReaderCannot, match=f"needs a connection to {instance}"):
        setup.source.server_doctor(instance)
    # the web's "Sample now" says so in its banner (same code as `serve`, this process)
    from ui.web.context import PageContext
    from ui.web.data import WebData
    from ui.web.pages.hotkeys import sample_panel

    banner = sample_panel(PageContext(data=WebData.for_reader(setup.source)), instance)
    shown = plotly.utils.PlotlyJSONEncoder().encode(banner)
    assert "The sample could not run" in shown and "this is a reader node" in shown
    # the doctor runs where targets are polled: the reader says why it shows no finding
    text = no_findings_text(setup.source, setup.source.now_ms())
    assert "this reader node has none" in text and "not evaluated yet" not in text


def test_a_killed_target_shows_down(setup: Setup) -> None:
    victim = setup.fleet.redis[0]
    victim.kill()
    wait_for(
        lambda: setup.reader.targets()[victim.address]["health"] == "down", 60, "the kill seen"
    )
    row = setup.reader.targets()[victim.address]
    assert "its shard reports" in row["lastError"]
    wait_for(
        lambda: (
            {s.instance: s.health for s in setup.source.statuses()}[victim.address] is Health.DOWN
        ),
        30,
        "the read model to see it",
    )
    others = {s.address for s in setup.fleet.servers if s is not victim}
    assert all(setup.reader.targets()[address]["health"] == "up" for address in others)


def redis_info(server: LocalRedis, field: str) -> int:
    """One INFO field; the redis-cli connection itself counts as one connection."""
    out = subprocess.run(
        ["redis-cli", "-p", str(server.port), "INFO", "stats"],
        capture_output=True, text=True, check=True, timeout=10,
    ).stdout  # fmt: skip
    for line in out.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split(":", 1)[1])
    raise AssertionError(f"no {field} in INFO")


def test_the_reader_sends_nothing_to_cache_servers(setup: Setup) -> None:
    fleet = setup.fleet
    assert fleet.lonely is not None and fleet.lonely_export is not None
    lonely = fleet.lonely
    # stop the only cachewatch that polls `lonely`: from now on the readers are all that
    # know of it (the one in a subprocess, with its alert and doctor engines, and this one)
    assert fleet.lonely_export.stop() == 0
    before = redis_info(lonely, "total_connections_received")
    for path in ("/", f"/target?instance={lonely.address}", "/alerts", "/-/ready"):
        with urllib.request.urlopen(setup.reader.url + path, timeout=20) as response:
            assert response.status == 200, path
    # a reader has no /scrape: the path falls through to the dashboard's shell
    scrape = f"{setup.reader.url}/scrape?target={lonely.url}"
    with urllib.request.urlopen(scrape, timeout=20) as response:
        assert "redis_up" not in response.read().decode()
    with pytest.raises(ReaderCannot):
        setup.source.sample_hot_keys(lonely.address, None)
    # the series ends: after a few scrape intervals both readers call it unknown, having
    # refreshed their lists (and run their engines) several times meanwhile
    wait_for(lambda: setup.reader.targets()[lonely.address]["health"] == "unknown", 60, "unknown")
    assert "no sample upstream" in setup.reader.targets()[lonely.address]["lastError"]
    wait_for(
        lambda: (
            {s.instance: s.health for s in setup.source.statuses()}[lonely.address]
            is Health.UNKNOWN
        ),
        30,
        "the read model to see it",
    )
    after = redis_info(lonely, "total_connections_received")
    assert after - before == 1  # the second redis-cli above, nothing else


def test_an_unreachable_upstream_is_a_clear_status_not_a_crash(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    reader = start_reader(reader_config(tmp_path / "reader.toml", closed), tmp_path / "log")
    try:
        first = reader.output().splitlines()[0]
        assert first.startswith(f"cachewatch: a reader of {closed}: ")
        assert f"cannot list targets from {closed}" in first and "unreachable" in first
        for path in ("/api/v1/targets", "/-/ready"):
            with pytest.raises(urllib.error.HTTPError) as raised:
                urllib.request.urlopen(reader.url + path, timeout=20)
            with raised.value as error:
                assert error.code == 503, path
                body = error.read().decode()
            if path == "/api/v1/targets":
                assert "unavailable" in body and f"cannot list targets from {closed}" in body
        assert reader.proc.poll() is None  # still serving, trying again
        # the web overview (same code, this process) says it cannot read, and why
        from ui.web.context import PageContext
        from ui.web.data import WebData
        from ui.web.pages.overview import overview_update

        config = load_config(reader_config(tmp_path / "here.toml", closed))
        source = ReaderSource(None, open_upstream(config))  # fails before its engine is used
        grid, _stats, updated, _state = overview_update(
            PageContext(data=WebData.for_reader(source)), "", None
        )
        shown = plotly.utils.PlotlyJSONEncoder().encode(grid)
        assert "Cannot read the fleet" in shown and f"cannot list targets from {closed}" in shown
        assert updated == "cannot read the fleet"
    finally:
        assert stop_reader(reader) == 0, reader.output()
