"""Firing and pending alerts with their annotations; silence the selected one."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static

from monitor.durations import parse_duration
from monitor.readmodel import AlertRow, DataSource, SilenceUnsupported, Window
from ui.tui.keys import ALERTS, bindings
from ui.tui.live import LiveScreen
from ui.tui.status_bar import StatusBar
from ui.tui.vim_table import VimTable

__all__ = ["AlertsScreen", "SilenceDialog"]


class SilenceDialog(ModalScreen[tuple[int, str] | None]):
    """Asks for a duration and a comment; returns (duration_ms, comment) or None."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    SilenceDialog { align: center middle; }
    SilenceDialog > Vertical {
        width: 60; height: auto; border: thick $primary; background: $surface; padding: 1;
    }
    """

    def __init__(self, alert: AlertRow) -> None:
        super().__init__()
        self.alert = alert

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Silence {self.alert.name} on {self.alert.instance or 'all'}")
            yield Input(value="1h", placeholder="duration, e.g. 30m", id="duration")
            yield Input(placeholder="comment (why)", id="comment")
            yield Static("", id="problem")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "duration":
            self.query_one("#comment", Input).focus()
            return
        try:
            duration_ms = int(parse_duration(self.query_one("#duration", Input).value) * 1000)
        except ValueError as exc:
            self.query_one("#problem", Static).update(str(exc))
            return
        comment = self.query_one("#comment", Input).value.strip()
        if not comment:
            self.query_one("#problem", Static).update("a comment saying why is required")
            return
        self.dismiss((duration_ms, comment))

    def action_cancel(self) -> None:
        self.dismiss(None)


class AlertsScreen(LiveScreen):
    BINDINGS: ClassVar[list[BindingType]] = bindings(ALERTS)

    def __init__(self) -> None:
        super().__init__()
        self.alerts: list[AlertRow] = []

    def compose(self) -> ComposeResult:
        yield StatusBar("alerts: loading…", id="status")
        yield VimTable(id="alerts-table")
        yield Static("", id="annotations")
        yield Footer()

    def fetch(self, source: DataSource, now_ms: int, window: Window) -> list[AlertRow]:
        return source.alerts(now_ms)

    def show(self, data: list[AlertRow]) -> None:
        self.alerts = data
        palette = self.app.palette  # type: ignore[attr-defined]
        rows = []
        for alert in data:
            style = f"bold {palette.bad}" if alert.state == "firing" else palette.warn
            since = (
                time.strftime("%H:%M:%S", time.localtime(alert.active_at_ms / 1000))
                if alert.active_at_ms
                else "-"
            )
            rows.append(
                (
                    Text(alert.state, style="" if alert.silenced_by else style),
                    alert.name,
                    alert.instance,
                    since,
                    ",".join(alert.silenced_by),
                    alert.annotations.get("summary", ""),
                )
            )
        self.query_one(VimTable).fill(
            ("state", "alert", "instance", "since", "silenced", "summary"), rows
        )
        firing = sum(1 for a in data if a.state == "firing")
        self.query_one(StatusBar).update(
            f"alerts: {firing} firing, {len(data) - firing} pending" + self.app.status_suffix()  # type: ignore[attr-defined]
        )
        self._show_annotations()

    def _selected(self) -> AlertRow | None:
        table = self.query_one(VimTable)
        if not self.alerts or table.cursor_row >= len(self.alerts):
            return None
        return self.alerts[table.cursor_row]

    def _show_annotations(self) -> None:
        alert = self._selected()
        text = ""
        if alert is not None:
            labels = " ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
            notes = "\n".join(f"{k}: {v}" for k, v in sorted(alert.annotations.items()))
            text = labels + ("\n" + notes if notes else "")
        self.query_one("#annotations", Static).update(text)

    def on_data_table_row_highlighted(self, event: VimTable.RowHighlighted) -> None:
        self._show_annotations()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_silence(self) -> None:
        alert = self._selected()
        if alert is None:
            return

        def done(answer: tuple[int, str] | None) -> None:
            if answer is None:
                return
            matchers = {"alertname": alert.name}
            if alert.instance:
                matchers["instance"] = alert.instance
            try:
                silence_id = self.app.source.silence(matchers, answer[0], answer[1])  # type: ignore[attr-defined]
            except (SilenceUnsupported, ValueError) as exc:
                self.notify(str(exc), severity="error")
                return
            self.notify(f"silenced {alert.name}: {silence_id}")

        self.app.push_screen(SilenceDialog(alert), done)
