"""The Sentinel view: each Sentinel-managed set's masters (a primary with its replicas, as a
cluster shard is shown), the Sentinels beside them with what each says, and the set's
failovers and membership changes of the last day."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Footer, Static

from monitor.readmodel import DataSource, Health, Window
from monitor.readmodel.sentinel import SentinelSetSummary, SentinelView, sentinel_view
from ui.tui.format import human_bytes, human_rate
from ui.tui.node_table_screen import NodeTableScreen
from ui.tui.status_bar import StatusBar
from ui.tui.vim_table import VimTable

__all__ = ["SentinelScreen"]

_COLUMNS = (
    ("master", 16),
    ("node", 24),
    ("role", 9),
    ("poll", 7),
    ("link", 5),
    ("ops/s", 7),
    ("memory", 9),
    ("Sentinels' view", 40),
)
#: changes listed under the table
_CHANGES_SHOWN = 8


def _clock(ms: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ms / 1000))


class SentinelScreen(NodeTableScreen):
    DEFAULT_CSS = """
    SentinelScreen #sentinel-changes {
        height: auto;
        max-height: 10;
        padding: 0 1;
        border-top: solid $panel;
    }
    """

    def compose(self) -> ComposeResult:
        yield StatusBar("Sentinel sets: loading…", id="status")
        yield VimTable(id="sentinel-table")
        yield Static("", id="sentinel-changes")
        yield Footer()

    def fetch(self, source: DataSource, now_ms: int, window: Window) -> SentinelView:
        return sentinel_view(source, now_ms)

    def show(self, data: SentinelView) -> None:
        table = self.query_one(VimTable)
        bad = f"bold {self.app.palette.bad}"  # type: ignore[attr-defined]
        warn = self.app.palette.warn  # type: ignore[attr-defined]
        if not table.columns:
            for label, width in _COLUMNS:
                table.add_column(label, key=label, width=width)
        cursor = table.cursor_row
        table.clear()
        for summary in data.sets:
            prefix = f"{summary.name} " if len(data.sets) > 1 else ""
            self._add_masters(table, summary, prefix, bad, warn)
            self._add_sentinels(table, summary, prefix, bad, warn)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)
        self.query_one("#sentinel-changes", Static).update(_changes(data))
        text = "  ·  ".join(_summary(s) for s in data.sets) or "no Sentinel set among the targets"
        self.query_one(StatusBar).update(text + self.app.status_suffix())  # type: ignore[attr-defined]

    def _add_masters(
        self, table: VimTable, summary: SentinelSetSummary, prefix: str, bad: str, warn: str
    ) -> None:
        for master in summary.masters:
            if not master.agreed:
                view = Text("disagree: " + ", ".join(master.named_primaries), style=bad)
            elif master.failover_in_progress:
                view = Text("failover in progress", style=warn)
            else:
                quorum = {True: "quorum ok", False: "NO QUORUM", None: "quorum ?"}
                words = f"{master.status or '?'}, {quorum[master.quorum_ok]}"
                view = Text(words, style="" if master.healthy else bad)
            for index, node in enumerate(master.nodes):
                down = node.poll_health is Health.DOWN
                table.add_row(
                    f"{prefix}{master.name}" if index == 0 else "",
                    Text(node.instance, style=bad if down else ""),
                    node.role,
                    Text(node.poll_health.value, style=bad if down else ""),
                    Text(
                        {None: "-", True: "up", False: "DOWN"}[node.link_up],
                        style=bad if node.link_up is False else "",
                    ),
                    human_rate(node.ops_per_s),
                    human_bytes(node.memory_used),
                    view if index == 0 else "",
                    key=node.instance,
                )

    def _add_sentinels(
        self, table: VimTable, summary: SentinelSetSummary, prefix: str, bad: str, warn: str
    ) -> None:
        split = {m.name for m in summary.masters if not m.agreed}
        for index, sentinel in enumerate(summary.sentinels):
            down = sentinel.poll_health is Health.DOWN
            named = [(m, *sentinel.names[m]) for m in sorted(split) if m in sentinel.names]
            if down:
                view = Text("not answering", style=bad)
            elif sentinel.tilt:
                view = Text("TILT", style=warn)
            elif named:  # when the Sentinels disagree, say who names what
                view = Text(", ".join(f"{m} → {a} ({st})" for m, a, st in named))
            elif sentinel.ok_sentinels is not None:
                view = Text(f"sees {sentinel.ok_sentinels:g} healthy Sentinels")
            else:
                view = Text("")
            table.add_row(
                f"{prefix}Sentinels" if index == 0 else "",
                Text(sentinel.instance, style=bad if down else ""),
                "sentinel",
                Text(sentinel.poll_health.value, style=bad if down else ""),
                "-",
                "",
                "",
                view,
                key=sentinel.instance,
            )


def _summary(summary: SentinelSetSummary) -> str:
    down = summary.sentinels_down
    sentinels = f"{len(summary.sentinels)} Sentinels" + (f" ({down} down)" if down else "")
    masters = f"{len(summary.masters)} master{'s' if len(summary.masters) != 1 else ''}"
    last = summary.failovers[0] if summary.failovers else None
    failover = f", last failover {_clock(last.ts_ms)}" if last else ""
    return f"{summary.name}: {masters}, {sentinels}{failover}"


def _changes(data: SentinelView) -> Text:
    """The sets' failovers and membership changes, newest first."""
    rows = sorted(
        ((s.name, c) for s in data.sets for c in s.changes), key=lambda row: -row[1].ts_ms
    )[:_CHANGES_SHOWN]
    if not rows:
        return Text("No failover or membership change in the last 24 hours.", style="dim")
    text = Text()
    text.append("Changes in the last 24 h\n", style="bold")
    for name, change in rows:
        where = f"{name} " if len(data.sets) > 1 else ""
        # a failover's before → after are the primaries; other changes are of one node
        subject = change.master if change.kind == "failover" else change.instance
        text.append(
            f"{_clock(change.ts_ms)}  {where}{change.kind:<12}  {subject}: "
            f"{change.before or '—'} → {change.after or '—'}\n",
            style="bold" if change.kind == "failover" else "",
        )
    text.rstrip()
    return text
