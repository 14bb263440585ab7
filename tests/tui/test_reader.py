"""The TUI of a reader node, driven by Pilot: `tui` with `[store] backend = "prometheus"` and
no targets shows the targets that `cachewatch export --shard i/2` processes poll and a real
Prometheus scrapes, and says what it cannot do (sample hot keys: that needs the shard)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.localservers import have_binary
from monitor.readernode import is_reader, open_upstream
from monitor.readmodel import Health
from monitor.readmodel.reader import ReaderSource
from monitor.runtime import Runtime
from tests.shard_fleet import ShardedFleet, reader_config
from tests.tui.helpers import until
from ui.tui.app import CachewatchApp
from ui.tui.detail_screen import DetailScreen
from ui.tui.fleet_table import FleetTable
from ui.tui.status_bar import StatusBar

pytestmark = pytest.mark.skipif(not have_binary("prometheus"), reason="prometheus not installed")


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[ShardedFleet]:
    fleet = ShardedFleet(tmp_path).start(redis=1, memcached=1, shards=2)
    try:
        yield fleet
    finally:
        fleet.stop()


def test_a_target_less_tui_shows_the_shards_targets(fleet: ShardedFleet, tmp_path: Path) -> None:
    assert fleet.prometheus is not None and fleet.lonely is not None
    prometheus_url = fleet.prometheus.url
    config = load_config(reader_config(tmp_path / "reader.toml", prometheus_url))
    assert is_reader(config) and not config.targets
    upstream = open_upstream(config)
    runtime = Runtime(config)  # as `cachewatch tui` builds it: no targets, nothing polled
    runtime.start_background()
    expected = {s.address for s in fleet.servers} | {fleet.lonely.address}

    async def scenario() -> None:
        source = ReaderSource(runtime, upstream)
        app = CachewatchApp(source, refresh_s=0.2, note=f"reader of {upstream.describe}")
        async with app.run_test(size=(140, 40)) as pilot:

            def all_listed_up() -> bool:
                rows = app.screen.query_one(FleetTable).rows_by_key
                return set(rows) == expected and all(r.health is Health.UP for r in rows.values())

            await until(pilot, all_listed_up, timeout_s=30)
            table = app.screen.query_one(FleetTable)
            memcached = fleet.memcached[0].address
            assert table.rows_by_key[memcached].kind == "memcached"
            assert dict(table.rows_by_key[memcached].labels)["service"] == "sessions"
            bar = str(app.screen.query_one(StatusBar).render())
            assert f"reader of {prometheus_url}" in bar
            # drill into a redis target: its detail reads the upstream's series
            redis = fleet.redis[0].address
            table.move_cursor(table.visible_rows().index(table.rows_by_key[redis]))
            await pilot.press("enter")
            screen = app.screen
            assert isinstance(screen, DetailScreen) and screen.instance == redis
            await until(pilot, lambda: screen.detail is not None, timeout_s=30)
            assert screen.detail is not None and screen.detail.state.health is Health.UP
            # "sample hot keys now" needs a connection: the reader says so, naming the shard
            await pilot.press("x")
            await until(pilot, lambda: screen.sampled is not None, timeout_s=30)
            assert screen.sampled is not None
            (note,) = screen.sampled.notes
            assert "this is a reader node" in note and "export --shard" in note

    try:
        asyncio.run(scenario())
    finally:
        runtime.stop_background()
