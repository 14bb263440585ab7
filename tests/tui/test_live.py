"""The TUI driven by Pilot against real servers: navigation, sorting, filtering,
drill-down, the cluster view, and a node going down."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.text import Text

from monitor.config import Config, config_from_urls
from monitor.readmodel import Health, LocalSource
from monitor.runtime import Runtime
from tests.servers import LocalCluster, LocalMemcached, LocalRedis
from tests.tui.helpers import settle, until
from ui.tui.app import CachewatchApp
from ui.tui.cluster_screen import ClusterScreen
from ui.tui.detail_screen import DetailScreen
from ui.tui.fleet_table import FleetTable
from ui.tui.help_screen import HelpScreen
from ui.tui.keys import SECTIONS
from ui.tui.vim_table import VimTable


def _runtime(urls: list[str], tmp_path: Path) -> Runtime:
    config = config_from_urls(urls, Config(), interval_s=1.0, store_path=str(tmp_path / "store"))
    runtime = Runtime(config)
    runtime.start_background()
    return runtime


@pytest.fixture
def fleet(
    redis_server: LocalRedis, memcached_server: LocalMemcached, tmp_path: Path
) -> Iterator[LocalSource]:
    runtime = _runtime([redis_server.url, memcached_server.url], tmp_path)
    try:
        yield LocalSource(runtime)
    finally:
        runtime.stop_background()


def _table(app: CachewatchApp) -> FleetTable:
    return app.screen.query_one(FleetTable)


def _all_up(app: CachewatchApp, count: int) -> bool:
    rows = _table(app).rows_by_key.values()
    return len(rows) == count and all(r.health is Health.UP for r in rows)


def test_overview_drill_down_and_back(
    fleet: LocalSource, redis_server: LocalRedis, memcached_server: LocalMemcached
) -> None:
    async def scenario() -> None:
        app = CachewatchApp(fleet, refresh_s=0.2)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: _all_up(app, 2))
            table = _table(app)
            assert set(table.rows_by_key) == {redis_server.address, memcached_server.address}
            table.move_cursor(
                table.visible_rows().index(table.rows_by_key[memcached_server.address])
            )
            await pilot.press("enter")
            assert isinstance(app.screen, DetailScreen)
            assert app.screen.instance == memcached_server.address
            await until(pilot, lambda: app.screen.detail is not None)  # type: ignore[attr-defined]
            detail = app.screen.detail  # type: ignore[attr-defined]
            assert detail.state.kind == "memcached"
            await pilot.press("l")  # next panel: INFO
            await until(pilot, lambda: app.screen.query_one("#info-table", VimTable).row_count > 0)
            info = app.screen.query_one("#info-table", VimTable)
            values = {
                str(info.get_row_at(i)[1]): str(info.get_row_at(i)[2])
                for i in range(info.row_count)
            }
            assert values["version"].count(".") == 2  # memcached_version{version="1.6.x"}
            await pilot.press("escape")
            assert isinstance(app.screen.query_one(FleetTable), FleetTable)

    asyncio.run(scenario())


def test_sort_and_filter(
    fleet: LocalSource, redis_server: LocalRedis, memcached_server: LocalMemcached
) -> None:
    async def scenario() -> None:
        app = CachewatchApp(fleet, refresh_s=0.2)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: _all_up(app, 2))
            table = _table(app)
            await pilot.press("s")  # first sort: by target name, ascending
            assert table.sort_key == "instance" and not table.sort_reverse
            names = [r.instance for r in table.visible_rows()]
            assert names == sorted(names)
            await pilot.press("S")
            assert [r.instance for r in table.visible_rows()] == sorted(names, reverse=True)
            await pilot.click(f"#{table.id}", offset=(4, 0))  # a header click sorts too
            await pilot.press("slash")
            await pilot.press(*"memcached")
            assert [r.instance for r in table.visible_rows()] == [memcached_server.address]
            assert table.row_count == 1
            await pilot.press("enter", "escape")  # leave the box, then clear the filter
            await pilot.press("escape")
            assert table.row_count == 2
            await pilot.press("slash", *f"instance={redis_server.address}")
            assert [r.instance for r in table.visible_rows()] == [redis_server.address]

    asyncio.run(scenario())


def test_node_going_down_turns_its_row_red(fleet: LocalSource, redis_server: LocalRedis) -> None:
    async def scenario() -> None:
        app = CachewatchApp(fleet, refresh_s=0.2)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: _all_up(app, 2))
            redis_server.pause()
            try:
                row = lambda: _table(app).rows_by_key[redis_server.address]  # noqa: E731
                # the target's timeout is 0.8 s: its next poll fails and marks it down
                await until(pilot, lambda: row().health is Health.DOWN, timeout_s=10)
                table = _table(app)
                cells = table.cells_of(redis_server.address)
                bad = app.palette.bad
                assert isinstance(cells[0], Text) and bad in str(cells[0].style)
                assert str(cells[1]) == "DOWN" and bad in str(cells[1].style)
                assert "1 down" in str(app.screen.query_one("#status").render())
            finally:
                redis_server.resume()
            await until(pilot, lambda: row().health is Health.UP, timeout_s=10)

    asyncio.run(scenario())


def test_help_lists_every_binding_and_palette_offers_every_action(fleet: LocalSource) -> None:
    async def scenario() -> None:
        app = CachewatchApp(fleet, refresh_s=0.2)
        async with app.run_test(size=(100, 60)) as pilot:
            await settle(pilot)
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            text = str(app.screen.query_one("Static").render())
            for actions in SECTIONS.values():
                for action in actions:
                    assert action.description in text
            await pilot.press("escape")
            titles = {command.title for command in app.get_system_commands(app.screen)}
            for title, actions in SECTIONS.items():
                if title != "Tables":
                    assert {a.description for a in actions} - {"Back"} <= titles | {"Back"}
            await pilot.press("p")
            assert app.paused
            count = app.refreshes
            await pilot.pause(0.5)
            assert app.refreshes == count  # paused: nothing redrawn
            await pilot.press("p")
            await settle(pilot, count + 1)

    asyncio.run(scenario())


def test_cluster_view_shows_shards_primaries_and_replicas(
    redis_cluster: LocalCluster, tmp_path: Path
) -> None:
    runtime = _runtime([redis_cluster.seed_url], tmp_path)

    async def scenario() -> None:
        app = CachewatchApp(LocalSource(runtime), refresh_s=0.2)
        async with app.run_test(size=(140, 40)) as pilot:
            await until(pilot, lambda: _all_up(app, 6))
            rows = _table(app).visible_rows()
            assert [r.depth for r in rows] == [0, 1] * 3  # primary, then its replica
            assert len({r.shard for r in rows}) == 3
            await pilot.press("c")
            assert isinstance(app.screen, ClusterScreen)
            table = app.screen.query_one(VimTable)
            await until(pilot, lambda: table.row_count == 6)
            roles = [str(table.get_row_at(i)[2]) for i in range(6)]
            assert roles == ["primary", "replica"] * 3
            await pilot.press("enter")
            assert isinstance(app.screen, DetailScreen)
            await pilot.press("escape", "escape")
            assert isinstance(app.screen.query_one(FleetTable), FleetTable)

    try:
        asyncio.run(scenario())
    finally:
        runtime.stop_background()
