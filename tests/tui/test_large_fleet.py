"""The fleet table with hundreds of targets renders only the rows on screen, and scrolling
shows the right ones."""

from __future__ import annotations

import asyncio

from tests.tui.helpers import settle, until
from tests.tui.recorded import recorded_fleet
from ui.tui.app import CachewatchApp
from ui.tui.fleet_table import FleetTable


def _screen_lines(table: FleetTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


def test_only_visible_rows_are_rendered_and_scrolling_shows_the_right_ones() -> None:
    asyncio.run(_scenario())


async def _scenario() -> None:
    # 60 shards of a primary and a replica, 40 standalone, 40 memcached: 200 targets
    app = CachewatchApp(recorded_fleet(60, 40, 40), live=False)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(FleetTable)
        await until(pilot, lambda: table.row_count == 200)
        shown = table.visible_rows()
        assert len(shown) == 200
        height = table.size.height
        # the header takes a line; no row below the screen had its cells rendered
        assert 0 < table.rendered_rows <= height
        lines = _screen_lines(table)
        assert shown[0].instance in lines[1]
        assert shown[height - 2].instance in lines[height - 1]
        assert all(shown[height].instance not in line for line in lines)

        await pilot.press("end")
        await pilot.pause()
        lines = _screen_lines(table)
        assert shown[-1].instance in lines[-1]
        assert shown[-1].instance == table.selected_instance()
        assert shown[-(height - 1)].instance in lines[1]
        # the rows drawn so far: the first screen and the last, not the 150 between
        assert table.rendered_rows <= 2 * height

        await pilot.press("home")
        await pilot.pause()
        assert shown[0].instance in _screen_lines(table)[1]
