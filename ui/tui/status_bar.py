"""The one-line status bar: what is shown, how fresh it is, and whether updates are paused."""

from __future__ import annotations

from textual.widgets import Static

__all__ = ["StatusBar"]


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    StatusBar.-error {
        color: $text-error;
    }
    """
