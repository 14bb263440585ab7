"""The cachewatch terminal UI.

The refresh loop, as in dolphie: a one-shot timer starts a worker that asks the read model,
in a thread, for what the visible screen shows; back on the main thread the worker draws it
inside `batch_update()` and only then re-arms the timer. So refreshes never
overlap, a slow query delays the next refresh instead of piling up, and only the visible
screen is ever computed or drawn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, ClassVar

from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import BindingType
from textual.screen import Screen
from textual.timer import Timer

from monitor.readmodel import DataSource, Window
from ui.tui.alerts_screen import AlertsScreen
from ui.tui.cluster_screen import ClusterScreen
from ui.tui.detail_screen import DetailScreen
from ui.tui.doctor_screen import DoctorScreen
from ui.tui.fleet_table import FleetTable, Palette
from ui.tui.help_screen import HelpScreen
from ui.tui.keys import GLOBAL, SECTIONS, bindings
from ui.tui.live import LiveScreen
from ui.tui.overview_screen import OverviewScreen
from ui.tui.sentinel_screen import SentinelScreen
from ui.tui.status_bar import StatusBar

__all__ = ["CachewatchApp", "run_tui"]

log = logging.getLogger("cachewatch.tui")


class CachewatchApp(App[None]):
    TITLE = "cachewatch"
    BINDINGS: ClassVar[list[BindingType]] = bindings(GLOBAL)

    def __init__(
        self,
        source: DataSource,
        refresh_s: float = 1.0,
        window: Window = Window.M5,
        live: bool = True,
        note: str = "",
    ) -> None:
        """`live=False` draws once and never refreshes (deterministic snapshots). `note`
        stays in every status line (e.g. "reader of http://prometheus:9090")."""
        super().__init__()
        self.source = source
        self.note = note
        self.refresh_s = refresh_s
        self.window = window
        self.paused = False
        self.live = live
        self.palette = Palette()
        self.last_error: str | None = None
        self._timer: Timer | None = None
        self.refreshes = 0

    # -- screens ----------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(OverviewScreen())
        self.refresh_now()

    def open_detail(self, instance: str) -> None:
        self.push_screen(DetailScreen(instance))
        self.refresh_now()

    def _to_screen(self, screen_type: type[LiveScreen], make: Any) -> None:
        for index, screen in enumerate(self.screen_stack):
            if isinstance(screen, screen_type) and index > 0:
                while self.screen is not screen:
                    self.pop_screen()
                self.refresh_now()
                return
        self.push_screen(make())
        self.refresh_now()

    def action_show_cluster(self) -> None:
        self._to_screen(ClusterScreen, ClusterScreen)

    def action_show_sentinel(self) -> None:
        self._to_screen(SentinelScreen, SentinelScreen)

    def action_show_alerts(self) -> None:
        self._to_screen(AlertsScreen, AlertsScreen)

    def action_show_doctor(self) -> None:
        self._to_screen(DoctorScreen, DoctorScreen)

    def action_show_overview(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.refresh_now()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self.notify("updates paused" if self.paused else "updates resumed", timeout=2)
        if not self.paused:
            self.refresh_now()

    def action_window(self, label: str) -> None:
        self.set_window(Window.parse(label))

    def set_window(self, window: Window) -> None:
        self.window = window
        self.refresh_now()

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"
        self.refresh_now()

    def _follow_theme(self) -> None:
        """Take warning/error colours from the theme (however it was changed: key, palette)."""
        theme = self.current_theme
        palette = Palette(warn=theme.warning or "yellow", bad=theme.error or "red", dim="grey50")
        if palette != self.palette:
            self.palette = palette
            for screen in self.screen_stack:
                for table in screen.query(FleetTable):
                    table.redraw_all()

    def status_suffix(self) -> str:
        parts = [self.note] if self.note else []
        if self.paused:
            parts.append("PAUSED")
        if self.last_error:
            parts.append(f"error: {self.last_error}")
        return ("  ·  " + "  ·  ".join(parts)) if parts else ""

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        seen = set()
        for title, actions in SECTIONS.items():
            for action in actions:
                # one entry per action: Quit has two keys (q, ctrl+c)
                if action.action in seen or title == "Tables":
                    continue
                seen.add(action.action)
                target = self if action in GLOBAL else screen
                yield SystemCommand(
                    action.description,
                    f"{title} · key {action.key_display or action.key}",
                    lambda a=action.action, t=target: self.call_later(t.run_action, a),  # type: ignore[misc]
                )

    # -- the refresh loop ---------------------------------------------------------------

    def refresh_now(self) -> None:
        """Refresh the visible screen as soon as the running refresh (if any) is done."""
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(0.01, self._kick)

    def _rearm(self) -> None:
        if self.live:
            self._timer = self.set_timer(self.refresh_s, self._kick)

    def _kick(self) -> None:
        try:
            screen = self.screen
        except ScreenStackError:  # a timer that fired while the app closes: nothing to draw
            return
        if not isinstance(screen, LiveScreen) or (self.paused and self.refreshes):
            self._rearm()
            return

        async def refresh() -> None:
            await self._refresh(screen)

        # The function, not a coroutine: a worker the closing app never starts leaves no
        # un-awaited coroutine behind. (textual types it as Coroutine[None, None, T].)
        self.run_worker(refresh, exclusive=True, group="refresh")  # type: ignore[arg-type]

    async def _refresh(self, screen: LiveScreen) -> None:
        """Fetch in a thread, draw here. Cancelled (a newer refresh started, or the app is
        closing), it draws nothing; whoever cancelled it re-arms the timer."""
        try:
            data = await asyncio.to_thread(
                screen.fetch, self.source, self.source.now_ms(), self.window
            )
        except Exception as exc:  # a query error must not end the UI: show it, try again
            log.debug("refresh failed", exc_info=True)
            self.last_error = str(exc)[:200]
            self.notify(self.last_error, severity="error", timeout=3)
            for bar in screen.query(StatusBar):
                bar.update("cachewatch: cannot refresh" + self.status_suffix())
                bar.add_class("-error")
            self._rearm()
            return
        self.last_error = None
        for bar in screen.query(StatusBar):
            bar.remove_class("-error")
        if screen in self.screen_stack:
            with self.batch_update():
                self._follow_theme()
                screen.show(data)
        self.refreshes += 1
        self._rearm()


def run_tui(source: DataSource, refresh_s: float = 1.0, note: str = "") -> None:
    """Open the TUI on `source` until the user quits (`cachewatch demo --tui` calls this)."""
    CachewatchApp(source, refresh_s=refresh_s, note=note).run()
