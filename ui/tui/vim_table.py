"""A DataTable that also moves with vim keys (j/k/g/G): the detail, cluster and alerts tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import BindingType
from textual.widgets import DataTable

from ui.tui.keys import TABLE, bindings

__all__ = ["VimTable"]


class VimTable(DataTable[object]):
    BINDINGS: ClassVar[list[BindingType]] = bindings(TABLE)

    DEFAULT_CSS = """
    VimTable {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]

    def fill(self, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """Replace the rows of a small table, keeping the cursor where it was.

        Column widths are set here from the content rather than left to the table's lazy
        auto-sizing, so a frame never shows columns of the previous content's width."""
        cells = [[c if isinstance(c, Text) else Text(str(c)) for c in row] for row in rows]
        widths = [
            max([cell_len(label), *(row[i].cell_len for row in cells)])
            for i, label in enumerate(columns)
        ]
        if not self.columns:
            for label, width in zip(columns, widths, strict=True):
                self.add_column(label, key=label, width=width)
        else:
            for column, width in zip(self.columns.values(), widths, strict=True):
                column.width = width
        cursor = self.cursor_row
        self.clear()
        for row in cells:
            self.add_row(*row)
        if cells:
            self.move_cursor(row=min(cursor, len(cells) - 1), animate=False)
