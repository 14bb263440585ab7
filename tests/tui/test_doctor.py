"""The TUI's doctor, driven by Pilot against a real Redis with the doctor running: the
fleet's findings (d), a finding's evidence, why and fix, the target's namespaces and clients
(Enter), and the server's own LATENCY DOCTOR / MEMORY DOCTOR on demand (r)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis

from monitor.readmodel import LocalSource
from tests.doctor_harness import Watched, watching
from tests.servers import LocalRedis
from tests.tui.helpers import until
from ui.tui.app import CachewatchApp
from ui.tui.detail_screen import DetailScreen
from ui.tui.doctor_screen import DoctorScreen, TargetDoctorScreen
from ui.tui.vim_table import VimTable

RULE = "redis-slowlog-disabled"


@pytest.fixture
def watched() -> Iterator[tuple[LocalRedis, Watched]]:
    server = LocalRedis(extra=["--slowlog-log-slower-than", "-1"]).start()
    try:
        with redis.Redis(port=server.port) as conn:
            conn.mset({f"cart:{i}:items": "c" * 30 for i in range(300)})
        with watching([server.url]) as watching_:
            yield server, watching_
    finally:
        server.stop()


def _cells(table: VimTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def test_findings_namespaces_clients_and_the_server_report(
    watched: tuple[LocalRedis, Watched],
) -> None:
    server, watching_ = watched

    async def scenario() -> None:
        app = CachewatchApp(LocalSource(watching_.runtime), refresh_s=0.3)
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.press("d")
            assert isinstance(app.screen, DoctorScreen)
            table = app.screen.query_one(VimTable)
            await until(pilot, lambda: any(RULE in row for row in _cells(table)), 40)
            row = next(i for i, r in enumerate(_cells(table)) if RULE in r)
            table.move_cursor(row=row)
            await pilot.pause(0.1)
            detail = str(app.screen.query_one("#doctor-detail").render())
            assert "slowlog-log-slower-than" in detail and "fix:" in detail
            assert "cachewatch_redis_config_slowlog_log_slower_than_usec" in detail

            await pilot.press("enter")
            assert isinstance(app.screen, TargetDoctorScreen)
            screen = app.screen
            assert screen.instance == server.address
            names = screen.query_one("#namespaces-table", VimTable)
            await until(pilot, lambda: any("cart:{id}:items" in r for r in _cells(names)), 40)
            cart = next(r for r in _cells(names) if r[0] == "cart:{id}:items")
            assert cart[1] == "300"
            clients = screen.query_one("#clients-table", VimTable)
            await until(pilot, lambda: ["name", "cachewatch"] in [r[:2] for r in _cells(clients)])

            await pilot.press("r")
            await until(pilot, lambda: screen.report is not None, 20)
            text = str(screen.query_one("#server-doctor").render())
            assert "LATENCY DOCTOR" in text and "MEMORY DOCTOR" in text

            await pilot.press("escape", "escape")
            app.open_detail(server.address)
            await until(pilot, lambda: isinstance(app.screen, DetailScreen))
            await pilot.press("d")
            assert isinstance(app.screen, TargetDoctorScreen)

    asyncio.run(scenario())
