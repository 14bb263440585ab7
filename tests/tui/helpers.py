"""Driving the app in tests: wait for conditions by pumping the app, never by sleeping."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from ui.tui.app import CachewatchApp


async def settle(pilot: Pilot[None], refreshes: int = 1) -> None:
    """Wait until the app has finished `refreshes` more refreshes of the visible screen."""
    app = pilot.app
    assert isinstance(app, CachewatchApp)
    await until(pilot, lambda: app.refreshes >= refreshes)


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Pump the app until `condition()` holds; fail after `timeout_s`."""
    waited = 0.0
    while not condition():
        if waited >= timeout_s:
            raise AssertionError(f"condition not met within {timeout_s:g}s")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)
        waited += 0.05
