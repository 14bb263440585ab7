"""Sentinel sets: each master as a card with its primary and replicas (as a cluster shard
is shown), the Sentinels beside them with what each says, and a timeline of the set's
failovers and membership changes."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from monitor.readmodel.sentinel import (
    SentinelDataNode,
    SentinelMasterGroup,
    SentinelRow,
    SentinelSetSummary,
    sentinel_view,
)
from monitor.readmodel.source import Health
from ui.web.components import empty_state, page_header, panel, pill, stat_tile, status_badge, table
from ui.web.components import tick as page_tick
from ui.web.context import PageContext
from ui.web.units import fmt_bytes, fmt_clock, fmt_rate
from ui.web.urlstate import ViewQuery, with_params

PATH = "/sentinel"
TITLE = "Sentinel"
NAV = "Sentinel"
NAME = "sentinel"
_STATUS = {Health.UP: "up", Health.DOWN: "down"}
#: the worst status a Sentinel reports -> pill tone
_MASTER_TONES = {"ok": "", "sdown": "warn", "odown": "bad"}


def layout(ctx: PageContext, view: ViewQuery) -> html.Div:
    return html.Div(
        [
            page_tick(NAME, view.refresh_ms),
            page_header("Sentinel sets", html.Span(id="sentinel-updated")),
            html.Div(id="sentinel-body"),
        ]
    )


def _link(instance: str, search: str) -> dcc.Link:
    href = "/target" + with_params(search, keep_only_global=True, instance=instance)
    return dcc.Link(instance, href=href, className="node-name")


def _node_row(node: SentinelDataNode, search: str) -> html.Div:
    details = [pill(node.role, "accent" if node.role == "primary" else "")]
    details.append(
        html.Span(f"{fmt_rate(node.ops_per_s)} · {fmt_bytes(node.memory_used)}", className="note")
    )
    if node.role == "replica" and node.link_up is False:
        details.append(pill("primary link down", "bad"))
    return html.Div(
        [
            html.Div([_link(node.instance, search), html.Div(details, className="card-sub")]),
            status_badge(_STATUS.get(node.poll_health, "unknown")),
        ],
        className="node-row",
    )


def _master_card(master: SentinelMasterGroup, search: str) -> html.Div:
    state = [pill(master.status or "no Sentinel data", _MASTER_TONES.get(master.status, "warn"))]
    if master.quorum_ok is False:
        state.append(pill("no quorum", "bad"))
    if master.failover_in_progress:
        state.append(pill("failover in progress", "warn"))
    if not master.agreed:
        state.append(pill("Sentinels disagree: " + ", ".join(master.named_primaries), "bad"))
    title = html.Div(
        [html.Span(master.name), html.Span(state, className="card-sub")], className="panel-title"
    )
    return panel(
        None,
        title,
        *[_node_row(n, search) for n in master.nodes],
        extra_class="sentinel-master",
    )


def _sentinel_row(sentinel: SentinelRow, split: set[str], search: str) -> html.Div:
    notes: list[Any] = []
    if sentinel.tilt:
        notes.append(pill("TILT", "warn"))
    if sentinel.ok_sentinels is not None:
        notes.append(
            html.Span(f"sees {sentinel.ok_sentinels:g} healthy Sentinels", className="note")
        )
    for master in sorted(split & sentinel.names.keys()):
        address, status = sentinel.names[master]
        notes.append(pill(f"{master} → {address} ({status})", "bad"))
    return html.Div(
        [
            html.Div([_link(sentinel.instance, search), html.Div(notes, className="card-sub")]),
            status_badge(_STATUS.get(sentinel.poll_health, "unknown")),
        ],
        className="node-row",
    )


def set_body(summary: SentinelSetSummary, search: str) -> list[Any]:
    nodes = [n for m in summary.masters for n in m.nodes]
    down = [n for n in nodes if n.poll_health is Health.DOWN]
    last = summary.failovers[0] if summary.failovers else None
    tiles = html.Div(
        [
            stat_tile(
                "Masters",
                str(len(summary.masters)),
                f"{sum(not m.healthy for m in summary.masters)} not healthy"
                if any(not m.healthy for m in summary.masters)
                else "all healthy",
                "good" if all(m.healthy for m in summary.masters) else "bad",
            ),
            stat_tile(
                "Data nodes",
                str(len(nodes)),
                f"{len(down)} not answering" if down else "all answering",
                "bad" if down else "good",
            ),
            stat_tile(
                "Sentinels",
                str(len(summary.sentinels)),
                f"{summary.sentinels_down} not answering"
                if summary.sentinels_down
                else "all answering",
                "bad" if summary.sentinels_down else "good",
            ),
            stat_tile(
                "Last failover",
                fmt_clock(last.ts_ms) if last else "none",
                f"{last.before} → {last.after}" if last else "in the last 24 h",
            ),
        ],
        className="stat-row",
    )
    split = {m.name for m in summary.masters if not m.agreed}
    rows = [
        (
            fmt_clock(change.ts_ms),
            change.kind,
            change.master if change.kind == "failover" else change.instance,
            f"{change.before or '—'} → {change.after or '—'}",
        )
        for change in summary.changes[:50]
    ]
    return [
        html.H2(summary.name, className="section-title"),
        tiles,
        html.Div("Masters", className="section-title"),
        html.Div([_master_card(m, search) for m in summary.masters], className="shard-grid"),
        html.Div("Sentinels", className="section-title"),
        panel(None, *[_sentinel_row(s, split, search) for s in summary.sentinels]),
        html.Div("Failovers and changes in the last 24 h", className="section-title"),
        panel(
            None,
            table(
                ("time", "change", "master / node", "from → to"),
                rows,
                empty="No failover or membership change in the last 24 hours.",
            ),
            extra_class="sentinel-changes",
        ),
    ]


def register(app: dash.Dash, ctx: PageContext) -> None:
    @app.callback(
        Output("sentinel-body", "children"),
        Output("sentinel-updated", "children"),
        Input({"type": "tick", "page": NAME}, "n_intervals"),
        Input("url", "search"),
        State("url", "pathname"),
    )
    def refresh(_n: int, search: str | None, pathname: str | None) -> tuple[Any, Any]:
        if pathname != PATH:
            raise dash.exceptions.PreventUpdate
        source = ctx.data.source
        now = source.now_ms()
        view = ctx.snapshot(NAME, lambda: sentinel_view(source, source.now_ms())).get()
        if not view.sets:
            return empty_state(
                "No Sentinel set is being watched",
                "Point cachewatch at any Sentinel (redis+sentinel://host:26379/mymaster); "
                "it discovers the other Sentinels, the primary and its replicas.",
            ), ""
        body = [part for summary in view.sets for part in set_body(summary, search or "")]
        return body, f"{len(view.sets)} set{'s' if len(view.sets) != 1 else ''} · " + (
            f"updated {fmt_clock(now)}"
        )
