"""`?`: every key binding, by screen, as currently mapped (remapped keys show as remapped)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ui.tui.keys import SECTIONS

__all__ = ["HelpScreen"]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        ("escape", "dismiss", "Close"),
        ("question_mark", "dismiss", "Close"),
        ("q", "dismiss", "Close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 64; max-height: 90%; border: thick $primary; background: $surface;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        keymap = self.app._keymap  # user remaps, by binding id
        text = Text()
        for title, actions in SECTIONS.items():
            text.append(f"{title}\n", style="bold")
            for action in actions:
                key = keymap.get(f"cachewatch.{action.id}", action.key_display or action.key)
                text.append(f"  {key:<12}", style="bold")
                text.append(f"{action.description}\n")
            text.append("\n")
        text.append("  ctrl+p      ", style="bold")
        text.append("Command palette (every action)\n")
        text.append("  mouse       ", style="bold")
        text.append("click a header to sort, a row to select, again to open\n")
        with VerticalScroll():
            yield Static(text)
