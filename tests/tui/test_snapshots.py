"""SVG snapshots of the main screens at 80x24 and 160x48, from a fixed recorded fleet
(`tests/tui/recorded.py`): a fixed clock, no live servers, no refresh timer, no cursor
blink. Update with `pytest tests/tui/test_snapshots.py --snapshot-update` after an
intended change, and look at the SVGs before committing them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.helpers import settle
from tests.tui.recorded import recorded_fleet, recorded_sentinel_set
from ui.tui.app import CachewatchApp

SIZES = [(80, 24), (160, 48)]


def _app() -> CachewatchApp:
    return CachewatchApp(recorded_fleet(), live=False)


def _then(*keys: str, refreshes: int = 2) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot, refreshes)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_overview(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(_app(), terminal_size=size, run_before=_then())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_detail_charts(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(_app(), terminal_size=size, run_before=_then("enter"))


def test_detail_commands(snap_compare: Any) -> None:
    assert snap_compare(_app(), terminal_size=(160, 48), run_before=_then("enter", "l", "l"))


def test_detail_memcached_slabs(snap_compare: Any) -> None:
    keys = ("G", "enter", "l", "l")  # memcached is the last row
    assert snap_compare(_app(), terminal_size=(160, 48), run_before=_then(*keys))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_cluster_view(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(_app(), terminal_size=size, run_before=_then("c"))


def test_alerts(snap_compare: Any) -> None:
    assert snap_compare(_app(), terminal_size=(160, 48), run_before=_then("a"))


def test_help(snap_compare: Any) -> None:
    assert snap_compare(
        _app(), terminal_size=(80, 48), run_before=_then("question_mark", refreshes=1)
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sentinel_view(snap_compare: Any, size: tuple[int, int]) -> None:
    app = CachewatchApp(recorded_sentinel_set(disagreeing=True), live=False)
    assert snap_compare(app, terminal_size=size, run_before=_then("n"))
