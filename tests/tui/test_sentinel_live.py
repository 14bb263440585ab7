"""The TUI's Sentinel view driven by Pilot against a real Sentinel set: the set grouped as a
primary with its replicas and the Sentinels beside them, and a failover followed, with the
change listed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis
from textual.widgets import Static

from monitor.config import Config, config_from_urls
from monitor.readmodel import LocalSource
from monitor.runtime import Runtime
from tests.servers import LocalSentinelSet
from tests.tui.helpers import until
from ui.tui.app import CachewatchApp
from ui.tui.sentinel_screen import SentinelScreen
from ui.tui.vim_table import VimTable


def test_sentinel_view_groups_the_set_and_follows_a_failover(
    sentinel_set: LocalSentinelSet, tmp_path: Path
) -> None:
    config = config_from_urls(
        [sentinel_set.seed_url], Config(), interval_s=1.0, store_path=str(tmp_path / "store")
    )
    runtime = Runtime(config)
    runtime.start_background()
    old = sentinel_set.primary_address()

    def column(table: VimTable, index: int) -> list[str]:
        return [str(table.get_row_at(row)[index]) for row in range(table.row_count)]

    async def scenario() -> None:
        app = CachewatchApp(LocalSource(runtime), refresh_s=0.2)
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.press("n")
            assert isinstance(app.screen, SentinelScreen)
            table = app.screen.query_one(VimTable)
            want = ["primary", "replica", "replica", "sentinel", "sentinel", "sentinel"]
            await until(pilot, lambda: column(table, 2) == want, timeout_s=60)
            assert column(table, 1)[0] == old
            assert column(table, 0)[0] == "mymaster"
            with redis.Redis(port=sentinel_set.sentinel_nodes[0].port) as conn:
                conn.execute_command("SENTINEL", "FAILOVER", "mymaster")
            changes = app.screen.query_one("#sentinel-changes", Static)
            await until(
                pilot,
                lambda: (
                    column(table, 1)[:1] != [old] and f"mymaster: {old} → " in str(changes.render())
                ),
                timeout_s=60,
            )
            new = sentinel_set.primary_address()
            assert column(table, 1)[0] == new
            assert f"mymaster: {old} → {new}" in str(changes.render())

    try:
        asyncio.run(scenario())
    finally:
        runtime.stop_background()
