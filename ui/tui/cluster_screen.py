"""The cluster view: shards with their slot ranges, primary and replicas, node and link
health, and the hottest node of each cluster."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Footer

from monitor.readmodel import ClusterView, DataSource, Health, Window, cluster_view
from ui.tui.format import human_bytes, human_rate
from ui.tui.node_table_screen import NodeTableScreen
from ui.tui.status_bar import StatusBar
from ui.tui.vim_table import VimTable

__all__ = ["ClusterScreen"]

_COLUMNS = (
    ("slots", 12),
    ("node", 24),
    ("role", 8),
    ("health", 9),
    ("poll", 7),
    ("link", 5),
    ("ops/s", 7),
    ("memory", 9),
)


class ClusterScreen(NodeTableScreen):
    def compose(self) -> ComposeResult:
        yield StatusBar("clusters: loading…", id="status")
        yield VimTable(id="cluster-table")
        yield Footer()

    def fetch(self, source: DataSource, now_ms: int, window: Window) -> ClusterView:
        return cluster_view(source, now_ms)

    def show(self, data: ClusterView) -> None:
        table = self.query_one(VimTable)
        bad = f"bold {self.app.palette.bad}"  # type: ignore[attr-defined]
        if not table.columns:
            for label, width in _COLUMNS:
                table.add_column(label, key=label, width=width)
        cursor = table.cursor_row
        table.clear()
        summary = []
        for cluster in data.clusters:
            state = {True: "ok", False: "FAIL", None: "?"}[cluster.state_ok]
            summary.append(
                f"{cluster.name}: {len(cluster.shards)} shards, state {state}, "
                f"{cluster.slots_assigned} slots, hottest (*) {cluster.hottest or '-'}"
            )
            for shard in cluster.shards:
                for index, node in enumerate(shard.nodes):
                    down = node.poll_health is Health.DOWN or node.health != "online"
                    hot = node.instance == cluster.hottest
                    slots = shard.slots if index == 0 else ""
                    if index == 0 and len(data.clusters) > 1:
                        slots = f"{cluster.name} {slots}"
                    table.add_row(
                        slots,
                        Text(node.instance + (" *" if hot else ""), style=bad if down else ""),
                        node.role,
                        Text(node.health, style=bad if node.health != "online" else ""),
                        Text(
                            node.poll_health.value,
                            style=bad if node.poll_health is Health.DOWN else "",
                        ),
                        Text(
                            {None: "-", True: "up", False: "DOWN"}[node.link_up],
                            style=bad if node.link_up is False else "",
                        ),
                        human_rate(node.ops_per_s),
                        human_bytes(node.memory_used),
                        key=node.instance,
                    )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)
        text = "  ·  ".join(summary) if summary else "no Redis Cluster among the targets"
        self.query_one(StatusBar).update(text + self.app.status_suffix())  # type: ignore[attr-defined]
