"""The fleet table: one row per target, sortable by any column, filtered by text or label.

Refreshes update changed cells in place when the visible rows are the same as before, and
rebuild only when the row set or order changed, so a 1 Hz refresh does not flicker or move
the cursor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text

from monitor.readmodel import Health, OverviewRow, group_order
from ui.tui.format import (
    Level,
    evictions_level,
    hit_ratio_level,
    human_bytes,
    human_ms,
    human_rate,
    lag_level,
    memory_level,
    p99_level,
    percent,
    spark,
)
from ui.tui.vim_table import VimTable

__all__ = ["FleetTable", "Column", "COLUMNS", "Palette"]

_SPARK_WIDTH = 10


@dataclass(frozen=True, slots=True)
class Palette:
    """Colours by meaning, taken from the active theme so both dark and light read well."""

    warn: str = "yellow"
    bad: str = "red"
    dim: str = "grey50"

    def style(self, level: Level) -> str:
        return {Level.OK: "", Level.WARN: self.warn, Level.BAD: f"bold {self.bad}"}[level]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    cell: Callable[[OverviewRow, Palette], Text | str]
    sort: Callable[[OverviewRow], object]
    width: int | None = None


def _num(value: float | None) -> float:
    return -math.inf if value is None else value


def _name(row: OverviewRow, palette: Palette) -> Text:
    prefix = "  └ " if row.depth else ""
    down = row.health is Health.DOWN
    return Text(prefix + row.instance, style=f"bold {palette.bad}" if down else "")


def _status(row: OverviewRow, palette: Palette) -> Text:
    if row.health is Health.DOWN:
        return Text("DOWN", style=f"bold {palette.bad}")
    if row.health is Health.UNKNOWN:
        return Text("…", style=palette.dim)
    return Text("up")


def _styled(text: str, level: Level, palette: Palette) -> Text:
    return Text(text, style=palette.style(level), justify="right")


def _memory(row: OverviewRow, palette: Palette) -> Text:
    used = human_bytes(row.memory_used)
    text = f"{used}/{human_bytes(row.memory_max)}" if row.memory_max else used
    return _styled(text, memory_level(row.memory_fraction), palette)


def _lag(row: OverviewRow, palette: Palette) -> Text:
    if row.master_link_up is False:
        return _styled("link down", Level.BAD, palette)
    text = "-" if row.replication_lag_s is None else f"{row.replication_lag_s:.0f}s"
    return _styled(text, lag_level(row.replication_lag_s, row.master_link_up), palette)


def _alerts(row: OverviewRow, palette: Palette) -> Text:
    if not row.firing_alerts:
        return Text("", justify="right")
    return _styled(str(row.firing_alerts), Level.BAD, palette)


COLUMNS: tuple[Column, ...] = (
    Column("instance", "target", _name, lambda r: r.instance, 23),
    Column("status", "status", _status, lambda r: r.health.value, 6),
    Column(
        "ops",
        "ops/s",
        lambda r, p: Text(human_rate(r.ops_per_s), justify="right"),
        lambda r: _num(r.ops_per_s),
        6,
    ),
    Column(
        "trend",
        "ops trend",
        lambda r, p: spark(r.ops_trend, _SPARK_WIDTH),
        lambda r: _num(r.ops_per_s),
        _SPARK_WIDTH,
    ),
    Column(
        "hit",
        "hit%",
        lambda r, p: _styled(percent(r.hit_ratio), hit_ratio_level(r.hit_ratio), p),
        lambda r: _num(r.hit_ratio),
        6,
    ),
    Column("memory", "memory", _memory, lambda r: _num(r.memory_fraction or r.memory_used), 13),
    Column(
        "p99",
        "p99",
        lambda r, p: _styled(human_ms(r.p99_ms), p99_level(r.p99_ms), p),
        lambda r: _num(r.p99_ms),
        7,
    ),
    Column(
        "evictions",
        "evict/s",
        lambda r, p: _styled(human_rate(r.evictions_per_s), evictions_level(r.evictions_per_s), p),
        lambda r: _num(r.evictions_per_s),
        7,
    ),
    Column(
        "clients",
        "clients",
        lambda r, p: Text("-" if r.clients is None else f"{r.clients:.0f}", justify="right"),
        lambda r: _num(r.clients),
        7,
    ),
    Column("lag", "lag", _lag, lambda r: _num(r.replication_lag_s), 9),
    Column("alerts", "alerts", _alerts, lambda r: r.firing_alerts, 6),
    Column(
        "role",
        "role",
        lambda r, p: {"primary": "P", "replica": "R"}.get(r.role, ""),
        lambda r: r.role,
        4,
    ),
    Column(
        "kind",
        "kind",
        lambda r, p: r.kind[:2] if r.kind == "memcached" else r.kind[:1],
        lambda r: r.kind,
        2,
    ),
    Column("version", "ver", lambda r, p: r.version, lambda r: r.version, 7),
)


class FleetTable(VimTable):
    DEFAULT_CSS = """
    FleetTable {
        height: 1fr;
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.rows_by_key: dict[str, OverviewRow] = {}
        self.sort_key: str | None = None  # None: grouped by cluster and shard
        self.sort_reverse = False
        self.filter_text = ""
        self._shown_keys: list[str] = []
        self._cells: dict[str, list[Text | str]] = {}

    @property
    def palette(self) -> Palette:
        palette = getattr(self.app, "palette", None)
        return palette if isinstance(palette, Palette) else Palette()

    def on_mount(self) -> None:
        for column in COLUMNS:
            self.add_column(column.label, key=column.key, width=column.width)

    def set_rows(self, rows: list[OverviewRow]) -> None:
        self.rows_by_key = {row.instance: row for row in rows}
        self.redraw()

    def visible_rows(self) -> list[OverviewRow]:
        rows = [r for r in self.rows_by_key.values() if r.matches(self.filter_text)]
        if self.sort_key is None:
            rows.sort(key=group_order, reverse=self.sort_reverse)
        else:
            column = next(c for c in COLUMNS if c.key == self.sort_key)
            rows.sort(key=lambda r: (column.sort(r), r.instance), reverse=self.sort_reverse)  # type: ignore[arg-type, return-value]
        return rows

    def redraw(self) -> None:
        rows = self.visible_rows()
        keys = [r.instance for r in rows]
        cells = {r.instance: [c.cell(r, self.palette) for c in COLUMNS] for r in rows}
        if keys == self._shown_keys:
            for key in keys:
                old = self._cells.get(key)
                for column, value, before in zip(COLUMNS, cells[key], old or [], strict=False):
                    if str(value) != str(before) or getattr(value, "style", None) != getattr(
                        before, "style", None
                    ):
                        self.update_cell(key, column.key, value)
        else:
            selected = self.selected_instance()
            self.clear()
            for key in keys:
                self.add_row(*cells[key], key=key)
            if selected in keys:
                self.move_cursor(row=keys.index(selected), animate=False)
        self._shown_keys = keys
        self._cells = cells
        self._update_header()

    def redraw_all(self) -> None:
        """Redraw every cell (the theme, and so the palette, changed)."""
        self._shown_keys = []
        self.redraw()

    def _update_header(self) -> None:
        for column in COLUMNS:
            label = column.label
            if column.key == self.sort_key:
                label += " ▼" if self.sort_reverse else " ▲"
            self.columns[column.key].label = Text(label)  # type: ignore[index]

    def selected_instance(self) -> str | None:
        if not self._shown_keys or self.cursor_row >= len(self._shown_keys):
            return None
        return self._shown_keys[self.cursor_row]

    def sort_by(self, key: str | None, reverse: bool | None = None) -> None:
        if reverse is None:
            reverse = not self.sort_reverse if key == self.sort_key else key is not None
        self.sort_key = key
        self.sort_reverse = reverse
        self.redraw()

    def sort_next(self) -> None:
        keys = [None, *(c.key for c in COLUMNS)]
        index = keys.index(self.sort_key)
        nxt = keys[(index + 1) % len(keys)]
        # numbers read best biggest-first; names alphabetically
        self.sort_by(nxt, reverse=nxt not in (None, "instance", "kind", "role", "version"))

    def on_data_table_header_selected(self, event: VimTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))
