"""First-hour fixes in the TUI, against real servers: Ctrl-C quits (even from a text
field), a memcached target shows only the panels that apply to it, and no column header
is cut short."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.widgets import Input, TabbedContent

from monitor.config import Config, config_from_urls
from monitor.readmodel import Health, LocalSource
from monitor.runtime import Runtime
from tests.servers import LocalMemcached, LocalRedis
from tests.tui.helpers import until
from ui.tui.app import CachewatchApp
from ui.tui.detail_screen import DetailScreen
from ui.tui.fleet_table import COLUMNS, FleetTable


@pytest.fixture
def fleet(
    redis_server: LocalRedis, memcached_server: LocalMemcached, tmp_path: Path
) -> Iterator[LocalSource]:
    config = config_from_urls(
        [redis_server.url, memcached_server.url],
        Config(),
        interval_s=1.0,
        store_path=str(tmp_path / "store"),
    )
    runtime = Runtime(config)
    runtime.start_background()
    try:
        yield LocalSource(runtime)
    finally:
        runtime.stop_background()


def _all_up(app: CachewatchApp) -> bool:
    rows = app.screen.query_one(FleetTable).rows_by_key.values()
    return len(rows) == 2 and all(r.health is Health.UP for r in rows)


def _visible_tabs(screen: DetailScreen) -> list[str]:
    tabs = screen.query_one(TabbedContent)
    return [pane.id or "" for pane in tabs.query("TabPane") if tabs.get_tab(pane.id or "").display]


def test_ctrl_c_quits_even_from_the_search_field(fleet: LocalSource) -> None:
    async def scenario() -> None:
        app = CachewatchApp(fleet, refresh_s=0.2)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: _all_up(app))
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen))
            await pilot.press("slash")  # the INFO search field takes the focus
            assert isinstance(app.focused, Input)
            await pilot.press("ctrl+c")
            await until(pilot, lambda: not app.is_running)
        assert app.return_code in (0, None)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("memcached", ["charts", "info", "slabs", "keys"]),
        ("redis", ["charts", "info", "commands", "latency", "keyspace", "keys"]),
    ],
)
def test_detail_shows_the_panels_that_apply(
    fleet: LocalSource,
    redis_server: LocalRedis,
    memcached_server: LocalMemcached,
    kind: str,
    expected: list[str],
) -> None:
    instance = memcached_server.address if kind == "memcached" else redis_server.address

    async def scenario() -> None:
        app = CachewatchApp(fleet, refresh_s=0.2)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: _all_up(app))
            app.open_detail(instance)
            await until(pilot, lambda: isinstance(app.screen, DetailScreen))
            screen = app.screen
            assert isinstance(screen, DetailScreen)
            await until(pilot, lambda: bool(screen.query(TabbedContent)))
            # from the first frame on: no tab of another kind of server shows, even before
            # the first refresh has said what the target is
            assert set(_visible_tabs(screen)) <= set(expected)
            await until(pilot, lambda: screen.detail is not None)
            await pilot.pause(0.1)
            assert _visible_tabs(screen) == expected
            seen = []
            for _ in expected:
                await pilot.press("l")
                seen.append(screen.query_one(TabbedContent).active)
            assert sorted(seen) == sorted(expected)

    asyncio.run(scenario())


def test_every_fleet_column_header_fits_its_column() -> None:
    for column in COLUMNS:
        assert cell_len(column.label) <= (column.width or 8), column.key
