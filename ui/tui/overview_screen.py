"""The fleet overview screen: the fleet table, a filter box, and a summary line."""

from __future__ import annotations

import time
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Footer, Input

from monitor.readmodel import DataSource, Health, OverviewRow, Window, fleet_overview
from ui.tui.fleet_table import FleetTable
from ui.tui.format import human_rate
from ui.tui.keys import OVERVIEW, bindings
from ui.tui.live import LiveScreen
from ui.tui.status_bar import StatusBar

__all__ = ["OverviewScreen"]


class OverviewScreen(LiveScreen):
    BINDINGS: ClassVar[list[BindingType]] = bindings(OVERVIEW)

    DEFAULT_CSS = """
    OverviewScreen #filter {
        display: none;
        height: 3;
    }
    OverviewScreen #filter.-active {
        display: block;
    }
    """

    def compose(self) -> ComposeResult:
        yield StatusBar("cachewatch: connecting…", id="status")
        yield FleetTable(id="fleet")
        yield Input(placeholder="filter: words or label=value", id="filter")
        yield Footer()

    @property
    def table(self) -> FleetTable:
        return self.query_one(FleetTable)

    def fetch(self, source: DataSource, now_ms: int, window: Window) -> list[OverviewRow]:
        return fleet_overview(source, now_ms)

    def show(self, data: list[OverviewRow]) -> None:
        self.table.set_rows(data)
        down = sum(1 for r in data if r.health is Health.DOWN)
        firing = sum(r.firing_alerts for r in data)
        shown = len(self.table.visible_rows())
        parts = [f"cachewatch  {len(data)} targets"]
        if shown != len(data):
            parts.append(f"{shown} shown")
        parts.append(f"{down} down" if down else "all up")
        if firing:
            parts.append(f"{firing} alert{'s' if firing > 1 else ''} firing")
        observer = sum(r.observer_ops_per_s or 0.0 for r in data)
        if observer:
            parts.append(f"cachewatch's own {human_rate(observer)} cmd/s not in ops")
        polled = max((r.as_of_ms for r in data), default=0)
        if polled:
            parts.append("polled " + time.strftime("%H:%M:%S", time.localtime(polled / 1000)))
        if self.table.filter_text:
            parts.append(f"filter: {self.table.filter_text}")
        self.query_one(StatusBar).update("  ·  ".join(parts) + self.app.status_suffix())  # type: ignore[attr-defined]

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-active")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("-active")
        self.table.filter_text = ""
        self.table.redraw()
        self.table.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.table.filter_text = event.value
        self.table.redraw()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.remove_class("-active")
        self.table.focus()

    def action_sort_next(self) -> None:
        self.table.sort_next()

    def action_sort_reverse(self) -> None:
        self.table.sort_by(self.table.sort_key, reverse=not self.table.sort_reverse)

    def action_sort_group(self) -> None:
        self.table.sort_by(None, reverse=False)

    def action_open(self) -> None:
        instance = self.table.selected_instance()
        if instance is not None:
            self.app.open_detail(instance)  # type: ignore[attr-defined]

    def on_fleet_table_row_selected(self, event: FleetTable.RowSelected) -> None:
        event.stop()
        self.app.open_detail(event.instance)  # type: ignore[attr-defined]
