"""Every key binding in one registry: screens build their `BINDINGS` from it, the help
screen lists it, and the command palette offers each action. Each binding has an id, so
users can remap keys with `App.set_keymap({"cachewatch.pause": "space"})`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.binding import Binding, BindingType

__all__ = [
    "KeyAction",
    "GLOBAL",
    "OVERVIEW",
    "TABLE",
    "DETAIL",
    "ALERTS",
    "DOCTOR",
    "TARGET_DOCTOR",
    "SECTIONS",
    "bindings",
]


@dataclass(frozen=True, slots=True)
class KeyAction:
    id: str
    key: str
    action: str
    description: str
    show: bool = True
    key_display: str | None = None
    #: handled by the app before any focused widget (an Input would take ctrl+c as copy)
    priority: bool = False


GLOBAL = (
    KeyAction("quit", "q", "quit", "Quit"),
    # Ctrl-C quits, as the README promises (Textual's default only says "press ctrl+q")
    KeyAction("quit-ctrl-c", "ctrl+c", "quit", "Quit", show=False, priority=True),
    KeyAction("help", "question_mark", "help", "Help", key_display="?"),
    KeyAction("pause", "p", "toggle_pause", "Pause"),
    KeyAction("overview", "o", "show_overview", "Overview", show=False),
    KeyAction("cluster", "c", "show_cluster", "Cluster"),
    KeyAction("sentinel", "n", "show_sentinel", "Sentinel sets", show=False),
    KeyAction("alerts", "a", "show_alerts", "Alerts"),
    KeyAction("doctor", "d", "show_doctor", "Doctor", show=False),
    KeyAction("window-5m", "1", "window('5m')", "Window 5m", show=False),
    KeyAction("window-1h", "2", "window('1h')", "Window 1h", show=False),
    KeyAction("window-24h", "3", "window('24h')", "Window 24h", show=False),
    KeyAction("window-7d", "4", "window('7d')", "Window 7d", show=False),
    KeyAction("theme", "t", "toggle_theme", "Dark/light", show=False),
)
OVERVIEW = (
    KeyAction("filter", "slash", "filter", "Filter", key_display="/"),
    KeyAction("clear-filter", "escape", "clear_filter", "Clear filter", show=False),
    KeyAction("sort-next", "s", "sort_next", "Sort"),
    KeyAction("sort-reverse", "S", "sort_reverse", "Reverse sort", show=False),
    KeyAction(
        "sort-group", "equals_sign", "sort_group", "Group by cluster", show=False, key_display="="
    ),
    KeyAction("open", "enter", "open", "Details"),
)
TABLE = (
    KeyAction("down", "j", "cursor_down", "Down", show=False),
    KeyAction("up", "k", "cursor_up", "Up", show=False),
    KeyAction("top", "g", "scroll_top", "Top", show=False),
    KeyAction("bottom", "G", "scroll_bottom", "Bottom", show=False),
)
DETAIL = (
    KeyAction("back", "escape", "back", "Back"),
    KeyAction("next-tab", "l", "next_tab", "Next panel", show=False),
    KeyAction("prev-tab", "h", "prev_tab", "Previous panel", show=False),
    KeyAction("search", "slash", "search", "Search INFO", key_display="/"),
    KeyAction("window-next", "w", "next_window", "Window"),
    KeyAction("sample-hot-keys", "x", "sample_hot_keys", "Sample hot keys now"),
    KeyAction("target-doctor", "d", "target_doctor", "Doctor", show=False),
)
ALERTS = (
    KeyAction("back", "escape", "back", "Back"),
    KeyAction("silence", "s", "silence", "Silence"),
)
DOCTOR = (
    KeyAction("back", "escape", "back", "Back"),
    KeyAction("open-target", "enter", "open_target", "Target's doctor"),
)
TARGET_DOCTOR = (
    KeyAction("back", "escape", "back", "Back"),
    KeyAction("server-report", "r", "server_report", "LATENCY/MEMORY DOCTOR"),
)
#: name -> actions, for the help screen
SECTIONS: dict[str, Sequence[KeyAction]] = {
    "Everywhere": GLOBAL,
    "Fleet overview": OVERVIEW,
    "Tables": TABLE,
    "Target detail": DETAIL,
    "Alerts": ALERTS,
    "Doctor": DOCTOR,
    "Target's doctor": TARGET_DOCTOR,
}


def bindings(actions: Sequence[KeyAction]) -> list[BindingType]:
    return [
        Binding(
            a.key,
            a.action,
            a.description,
            show=a.show,
            key_display=a.key_display,
            priority=a.priority,
            id=f"cachewatch.{a.id}",
        )
        for a in actions
    ]
