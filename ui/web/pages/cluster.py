"""Cluster topology: shards with their slot ranges, primaries and replicas, each node's
polling status and the cluster bus's view of it (link state)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from monitor.discovery import ClusterNode, ClusterTopology
from monitor.readmodel.overview import OverviewRow
from monitor.readmodel.source import Health
from ui.web.components import (
    empty_state,
    page_header,
    panel,
    pill,
    stat_tile,
    status_badge,
    table,
    tick,
)
from ui.web.context import PageContext
from ui.web.theme import theme_named
from ui.web.units import fmt_bytes, fmt_clock, fmt_rate
from ui.web.urlstate import ViewQuery, parse_query, with_params
from ui.web.wiring import url_param_control

PATH = "/cluster"
TITLE = "Clusters"
NAV = "Clusters"
NAME = "cluster"
SLOTS = 16384
#: CLUSTER SHARDS health -> pill tone: a replica loading its first sync is not a failure
_LINK_TONES = {"online": "", "loading": "warn", "handshake": "warn"}


def layout(ctx: PageContext, view: ViewQuery) -> html.Div:
    names = sorted(ctx.data.source.topologies())
    chosen = view.get("cluster") or (names[0] if names else "")
    picker = (
        dcc.Dropdown(
            id="cluster-picker",
            options=[{"label": n, "value": n} for n in names],
            value=chosen or None,
            clearable=False,
            style={"width": "260px"},
        )
        if names
        else None
    )
    return html.Div(
        [
            tick(NAME, view.refresh_ms),
            page_header("Cluster topology", html.Span(id="cluster-updated"), picker),
            html.Div(id="cluster-body"),
        ]
    )


def _slot_count(ranges: str) -> int:
    total = 0
    for part in filter(None, ranges.split(",")):
        first, _, last = part.partition("-")
        if first.isdigit():
            total += int(last or first) - int(first) + 1
    return total


def _slot_spans(ranges: str) -> list[tuple[int, int]]:
    spans = []
    for part in filter(None, ranges.split(",")):
        first, _, last = part.partition("-")
        if first.isdigit():
            spans.append((int(first), int(last or first)))
    return spans


def _slot_map(shards: list[str], colours: tuple[str, ...]) -> html.Div:
    spans = sorted((a, b, i) for i, shard in enumerate(shards) for a, b in _slot_spans(shard))
    cells, cursor = [], 0
    for first, last, index in spans:
        if first > cursor:
            cells.append(
                html.Div(
                    style={
                        "width": f"{(first - cursor) / SLOTS * 100}%",
                        "background": "var(--down)",
                    },
                    title=f"slots {cursor}-{first - 1} unassigned",
                )
            )
        cells.append(
            html.Div(
                style={
                    "width": f"{(last - first + 1) / SLOTS * 100}%",
                    "background": colours[index % len(colours)],
                },
                title=f"slots {first}-{last}",
            )
        )
        cursor = last + 1
    if cursor < SLOTS:
        cells.append(
            html.Div(
                style={"width": f"{(SLOTS - cursor) / SLOTS * 100}%", "background": "var(--down)"},
                title=f"slots {cursor}-{SLOTS - 1} unassigned",
            )
        )
    return html.Div(cells, className="slot-map")


def _node_row(node: ClusterNode, row: OverviewRow | None, search: str) -> html.Div:
    if row is None:
        status = "unknown"
    else:
        status = {Health.UP: "up", Health.DOWN: "down"}.get(row.health, "unknown")
    link_tone = _LINK_TONES.get(node.health, "bad")
    details = [pill(node.role, "accent" if node.role == "primary" else "")]
    details.append(pill(f"link {node.health}", link_tone))
    if row is not None:
        details.append(
            html.Span(f"{fmt_rate(row.ops_per_s)} · {fmt_bytes(row.memory_used)}", className="note")
        )
        if row.role == "replica" and row.master_link_up is False:
            details.append(pill("primary link down", "bad"))
    href = "/target" + with_params(search, keep_only_global=True, instance=node.address)
    return html.Div(
        [
            html.Div(
                [
                    dcc.Link(node.address, href=href, className="node-name"),
                    html.Div(details, className="card-sub"),
                ]
            ),
            status_badge(status),
        ],
        className="node-row",
    )


def cluster_body(
    ctx: PageContext,
    topology: ClusterTopology,
    rows: dict[str, OverviewRow],
    search: str,
    theme_name: str,
) -> list[Any]:
    shards: dict[str, list[ClusterNode]] = {}
    for node in topology.nodes:
        shards.setdefault(node.shard, []).append(node)
    order = sorted(shards, key=lambda s: (_slot_spans(s) or [(SLOTS, SLOTS)])[0][0])
    colours = theme_named(theme_name).series
    covered = sum(_slot_count(s) for s in order)
    failing = [n for n in topology.nodes if n.health != "online"]
    failed = [n for n in failing if _LINK_TONES.get(n.health, "bad") == "bad"]
    down = [
        n
        for n in topology.nodes
        if (r := rows.get(n.address)) is not None and r.health is Health.DOWN
    ]
    tiles = html.Div(
        [
            stat_tile("Shards", str(len([s for s in order if s]))),
            stat_tile(
                "Nodes",
                str(len(topology.nodes)),
                f"{len(down)} not answering" if down else "all answering",
                "bad" if down else "good",
            ),
            stat_tile(
                "Slots covered", f"{covered} / {SLOTS}", "", "good" if covered == SLOTS else "bad"
            ),
            stat_tile(
                "Links not online",
                str(len(failing)),
                ", ".join(sorted({n.health for n in failing})),
                "good" if not failing else "bad" if failed else "warn",
            ),
        ],
        className="stat-row",
    )
    cards = []
    for index, shard in enumerate(order):
        nodes = sorted(shards[shard], key=lambda n: (n.role != "primary", n.address))
        title = html.Span(
            [
                html.Span("■ ", style={"color": colours[index % len(colours)]}),
                f"slots {shard or '(none)'}",
                html.Span(f"  {_slot_count(shard)} slots", className="note"),
            ]
        )
        cards.append(
            panel(
                None,
                html.Div(title, className="panel-title"),
                *[_node_row(n, rows.get(n.address), search) for n in nodes],
            )
        )
    return [
        tiles,
        panel("Slot map", _slot_map(order, colours)),
        html.Div("Shards", className="section-title"),
        html.Div(cards, className="shard-grid"),
        _changes(ctx, {n.address for n in topology.nodes}),
    ]


def _changes(ctx: PageContext, addresses: set[str]) -> html.Div:
    """Topology changes of the last day (failovers, nodes added or removed)."""
    source = ctx.data.source
    since = source.now_ms() - 86_400_000
    events = [
        e
        for e in source.events("topology.", None, since, 200)
        if dict(e.target_labels).get("instance") in addresses
    ]
    rows = [
        (
            fmt_clock(e.ts_ms),
            e.kind.removeprefix("topology.").replace("_", " "),
            dict(e.target_labels).get("instance", ""),
            f"{e.data.get('before') or '—'} → {e.data.get('after') or '—'}",
        )
        for e in events[:20]
    ]
    return html.Div(
        [
            html.Div("Changes in the last 24 h", className="section-title"),
            panel(
                None,
                table(
                    ("time", "change", "node", "from → to"),
                    rows,
                    empty="No failover or membership change in the last 24 hours.",
                ),
            ),
        ]
    )


def register(app: dash.Dash, ctx: PageContext) -> None:
    url_param_control(app, "cluster-picker", "cluster")

    @app.callback(
        Output("cluster-body", "children"),
        Output("cluster-updated", "children"),
        Input({"type": "tick", "page": NAME}, "n_intervals"),
        Input("url", "search"),
        Input("theme-store", "data"),
        State("url", "pathname"),
    )
    def refresh(
        _n: int, search: str | None, theme: str | None, pathname: str | None
    ) -> tuple[Any, Any]:
        if pathname != PATH:
            raise dash.exceptions.PreventUpdate
        source = ctx.data.source
        topologies = source.topologies()
        now = source.now_ms()
        if not topologies:
            return empty_state(
                "No Redis Cluster is being watched",
                "Point cachewatch at any node of a cluster (redis://host:port); "
                "it discovers every shard, primary and replica.",
            ), ""
        view = parse_query(search)
        name = view.get("cluster") or sorted(topologies)[0]
        topology = topologies.get(name)
        if topology is None:
            return empty_state(
                f"No cluster named {name!r}", f"Known: {', '.join(sorted(topologies))}"
            ), ""
        rows = {r.instance: r for r in ctx.overview_rows()}
        body = cluster_body(ctx, topology, rows, search or "", theme or ctx.default_theme)
        return body, f"{name} · updated {fmt_clock(now)}"
