"""Run alerting inside a `monitor.runtime.Runtime`'s loop, for the long-running commands
(`serve`, `tui`, `demo`): rules from `[alerts]` evaluated over the runtime's store, their
notifications routed, state and silences kept in `state_dir`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alerts.service import AlertingService, parse_alert_settings

__all__ = ["AlertingRunner"]


class AlertingRunner:
    """`runtime.on_started(runner.start)` before the runtime starts; `service` is the
    `AlertingService` the UIs read (None until started)."""

    def __init__(self, table: dict[str, Any], base_dir: Path, state_dir: Path) -> None:
        # parse now, so a bad [alerts] section fails before anything starts
        self._settings = parse_alert_settings(table, base_dir)
        self._state_dir = state_dir
        self.service: AlertingService | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, runtime: Any) -> None:
        from alerts.querier import EngineQuerier
        from monitor.query import Engine

        self.service = AlertingService.from_settings(
            self._settings, EngineQuerier(Engine(runtime.store)), runtime.store, self._state_dir
        )
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.service.run(self._stop))

    async def stop(self) -> None:
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await self._task
