"""The cachewatch terminal UI (Textual). It only reads, through `monitor.readmodel`."""

from ui.tui.app import CachewatchApp, run_tui

__all__ = ["CachewatchApp", "run_tui"]
