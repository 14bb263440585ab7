"""A screen whose table lists nodes by instance (the cluster and Sentinel views): `enter` or
a click opens the node's detail, `escape` goes back."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import BindingType

from ui.tui.keys import KeyAction, bindings
from ui.tui.live import LiveScreen
from ui.tui.vim_table import VimTable

__all__ = ["NodeTableScreen"]


class NodeTableScreen(LiveScreen):
    """Rows are keyed by instance; a row without a key (a heading) opens nothing."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(
        (KeyAction("back", "escape", "back", "Back"), KeyAction("open", "enter", "open", "Details"))
    )

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_open(self) -> None:
        table = self.query_one(VimTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key:
                self.app.open_detail(key)  # type: ignore[attr-defined]

    def on_data_table_row_selected(self, event: VimTable.RowSelected) -> None:
        event.stop()
        self.action_open()
