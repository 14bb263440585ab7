"""The alerts panel: lists firing alerts and silences the selected one through the source."""

from __future__ import annotations

import asyncio

from tests.tui.helpers import settle, until
from tests.tui.recorded import recorded_fleet
from ui.tui.alerts_screen import AlertsScreen, SilenceDialog
from ui.tui.app import CachewatchApp


def test_silence_the_selected_alert_with_a_comment() -> None:
    source = recorded_fleet()

    async def scenario() -> None:
        app = CachewatchApp(source, live=False)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot)
            await pilot.press("a")
            await settle(pilot, 2)
            assert isinstance(app.screen, AlertsScreen)
            assert [a.name for a in app.screen.alerts] == ["RedisHighMemory"]
            await pilot.press("s")
            assert isinstance(app.screen, SilenceDialog)
            await pilot.press("enter")  # keep the 1h default, move to the comment
            await pilot.press("enter")  # an empty comment is refused
            assert isinstance(app.screen, SilenceDialog)
            await pilot.press(*"disk swap", "enter")
            await until(pilot, lambda: bool(source.silences))
            assert source.silences == [
                (
                    {"alertname": "RedisHighMemory", "instance": "10.0.0.1:7000"},
                    3_600_000,
                    "disk swap",
                )
            ]

    asyncio.run(scenario())
