"""The contract between the refresh loop and a screen that shows live data.

`fetch` runs in a worker thread and only calls the read model; `show` runs on the main
thread inside `batch_update()` and only touches widgets. Keeping the two apart is what lets
a slow query never freeze the keyboard.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from monitor.readmodel import DataSource, Window

__all__ = ["LiveScreen"]


class LiveScreen(Screen[None]):
    def fetch(self, source: DataSource, now_ms: int, window: Window) -> Any:
        raise NotImplementedError

    def show(self, data: Any) -> None:
        raise NotImplementedError
