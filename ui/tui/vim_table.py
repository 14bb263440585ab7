"""A DataTable that also moves with vim keys (j/k/g/End), the base of every table here."""

from __future__ import annotations

from typing import ClassVar

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
