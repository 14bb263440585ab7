"""Run alerting inside a `monitor.runtime.Runtime`'s loop, for the long-running commands
(`serve`, `tui`, `demo`): rules from `[alerts]` evaluated over the runtime's store, their
notifications routed, state and silences kept in `state_dir`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alerts.rules import RuleGroup, load_rule_files
from alerts.service import AlertingService, AlertSettings, parse_alert_settings

__all__ = ["AlertingRunner", "load_alerting"]


def load_alerting(table: dict[str, Any], base_dir: Path) -> tuple[AlertSettings, list[RuleGroup]]:
    """Parse `[alerts]` and load its rule files; raises AlertSettingsError or
    RuleLoadError with every problem (a reload checks everything before changing anything)."""
    settings = parse_alert_settings(table, base_dir)
    groups = load_rule_files(
        settings.rule_files, settings.base_dir, settings.evaluation_interval_ms
    )
    return settings, groups


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

    async def reload(self, settings: AlertSettings, groups: list[RuleGroup]) -> None:
        """Switch to new settings and rules (from `load_alerting`) without losing state."""
        self._settings = settings
        if self.service is not None:
            await asyncio.to_thread(self.service.reload, settings, groups)

    async def stop(self) -> None:
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await self._task
