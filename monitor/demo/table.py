"""The demo's plain table, for when there is no terminal to draw the TUI on (a pipe, a log):
one row per target from the shared read model, refreshed from the engine's store."""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from monitor.model import now_ms
from monitor.readmodel import LocalSource, OverviewRow, fleet_overview
from monitor.runtime import Runtime

__all__ = ["run_live_table"]

_COLUMNS = (
    "target",
    "kind",
    "role",
    "status",
    "ops/s",
    "hit %",
    "used mem",
    "evicted/s",
    "clients",
)


def _number(value: float | None, pattern: str) -> str:
    return "-" if value is None or value != value else pattern.format(value)


def _row(row: OverviewRow) -> tuple[str, ...]:
    status = {"up": "up", "down": "[red]DOWN", "unknown": "[yellow]starting"}[row.health.value]
    used = "-" if row.memory_used is None else f"{row.memory_used / 2**20:,.1f} MiB"
    return (
        row.instance,
        row.kind,
        row.role or "-",
        status,
        _number(row.ops_per_s, "{:,.0f}"),
        _number(None if row.hit_ratio is None else 100 * row.hit_ratio, "{:.1f}"),
        used,
        _number(row.evictions_per_s, "{:,.1f}"),
        _number(row.clients, "{:,.0f}"),
    )


def _alerts_line(source: LocalSource, now: int) -> str:
    """What fires, as one caption line; silenced alerts are counted, not listed."""
    alerts = source.alerts(now)
    firing = sorted(
        {f"{a.name} ({a.instance})" for a in alerts if a.state == "firing" and not a.silenced_by}
    )
    silenced = sum(1 for a in alerts if a.silenced_by)
    text = "alerts firing: " + (", ".join(firing) if firing else "none")
    return text + (f"; {silenced} silenced" if silenced else "")


def _render(source: LocalSource) -> Table:
    now = now_ms()
    table = Table(
        title="cachewatch demo — Ctrl-C stops everything",
        caption=_alerts_line(source, now),
        expand=True,
    )
    for column in _COLUMNS:
        table.add_column(column, justify="left" if column in _COLUMNS[:4] else "right")
    for row in fleet_overview(source, now, with_trend=False):
        table.add_row(*_row(row))
    return table


def run_live_table(runtime: Runtime, refresh_s: float = 1.0, alerting: Any = None) -> None:
    """Redraw in place on a terminal; elsewhere (a pipe, a log) print a table every 5 s.
    `alerting`: the running `AlertingService`, whose alerts the caption lists."""
    source = LocalSource(runtime, alerting=alerting)
    console = Console()
    if not console.is_terminal:
        while True:
            console.print(_render(source))
            sys.stdout.flush()
            time.sleep(5 * refresh_s)
    with Live(_render(source), console=console, refresh_per_second=4) as live:
        while True:
            time.sleep(refresh_s)
            live.update(_render(source))
