"""Target detail: charts (ops by command, hit ratio, memory, evictions, network, clients,
latency percentiles and heatmap), an INFO browser, the slowlog and the keyspace."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, dcc, html

from monitor.readmodel import queries as q
from monitor.readmodel.detail import slowlog_rows
from monitor.readmodel.info_sections import info_sections
from monitor.readmodel.source import Health, InstantSample, TargetState
from ui.web.components import (
    chart_panel,
    empty_state,
    error_banner,
    page_header,
    panel,
    pill,
    status_badge,
    table,
    tick,
)
from ui.web.context import DEFAULT_WIDTH_PX, PageContext
from ui.web.live import LiveCharts
from ui.web.panels import LATENCY_HEATMAP, charts_for
from ui.web.theme import theme_named
from ui.web.units import fmt_age, fmt_clock, fmt_count, fmt_seconds, fmt_usec
from ui.web.urlstate import ViewQuery, parse_query, with_params
from ui.web.wiring import url_param_control

PATH = "/target"
TITLE = "Target"
NAV = ""
NAME = "target"
TABS = (
    ("charts", "Charts"),
    ("info", "INFO"),
    ("slowlog", "Slowlog"),
    ("keyspace", "Keyspace"),
    ("doctor", "Doctor"),
)
#: memcached has no slowlog and no keyspace (its item counts are in the INFO tab)
_REDIS_ONLY = frozenset({"slowlog", "keyspace"})


def tabs_for(kind: str) -> tuple[tuple[str, str], ...]:
    """The tabs of a target of this kind, in order: (value, label)."""
    return tuple(t for t in TABS if kind == "redis" or t[0] not in _REDIS_ONLY)


def _tab_of(view: ViewQuery, kind: str) -> str:
    """The URL's tab if this kind of target has it, else the charts."""
    tab = view.get("tab", "charts")
    return tab if tab in dict(tabs_for(kind)) else "charts"


def _find(ctx: PageContext, instance: str) -> TargetState | None:
    for state in ctx.data.source.statuses():
        if state.instance == instance:
            return state
    return None


def layout_key(ctx: PageContext, view: ViewQuery) -> str:
    """The chart grid depends on the kind of server: switching from a Redis to a memcached
    target lays the page out again."""
    state = _find(ctx, _instance(ctx, view))
    return f"{PATH}:{state.kind if state else ''}"


def _instance(ctx: PageContext, view: ViewQuery) -> str:
    """The URL's target, else the first one by address."""
    if view.get("instance"):
        return view.get("instance")
    states = ctx.data.source.statuses()
    return min((s.instance for s in states), default="")


def layout(ctx: PageContext, view: ViewQuery) -> html.Div:
    states = sorted(ctx.data.source.statuses(), key=lambda s: s.instance)
    instance = _instance(ctx, view)
    state = _find(ctx, instance)
    if state is None:
        return html.Div(
            [
                page_header("Target"),
                empty_state(
                    f"No target {instance!r}" if instance else "No targets yet",
                    dcc.Link("Back to the fleet", href="/" + with_params(None)),
                ),
            ]
        )
    tab = _tab_of(view, state.kind)
    picker = dcc.Dropdown(
        id="target-picker",
        options=[{"label": s.instance, "value": s.instance} for s in states],
        value=instance,
        clearable=False,
        className="target-picker",
        style={"width": "260px"},
    )
    return html.Div(
        [
            tick(NAME, view.refresh_ms),
            dcc.Store(id="target-charts-state"),
            page_header(instance, html.Div(id="target-subtitle", className="subtitle"), picker),
            html.Div(id="target-banner"),
            dcc.Tabs(
                id="target-tab",
                value=tab,
                className="tabs-bar",
                children=[
                    dcc.Tab(
                        label=label,
                        value=value,
                        className="tab-item",
                        selected_className="tab-item--selected",
                    )
                    for value, label in tabs_for(state.kind)
                ],
            ),
            html.Div(
                _charts_grid(state.kind), id="target-charts", hidden=tab not in ("", "charts")
            ),
            html.Div(id="target-tab-body"),
        ]
    )


def _charts_grid(kind: str) -> html.Div:
    return html.Div(
        [
            chart_panel(
                {"type": "target-chart", "index": i}, spec.title, tall=spec.id == LATENCY_HEATMAP
            )
            for i, spec in enumerate(charts_for(kind))
        ],
        className="chart-grid",
    )


def _subtitle(state: TargetState, now_ms: int, uptime: float | None) -> list[Any]:
    status = {Health.UP: "up", Health.DOWN: "down"}.get(state.health, "unknown")
    parts: list[Any] = [status_badge(status), pill(f"{state.kind} {state.version}".strip())]
    for name in ("role", "cluster", "shard"):
        if state.labels.get(name):
            parts.append(pill(f"{name} {state.labels[name]}"))
    if uptime is not None:
        parts.append(html.Span(f"up {fmt_seconds(uptime)}", className="note"))
    parts.append(html.Span(f"polled {fmt_age(state.last_poll_ms, now_ms)}", className="note"))
    return parts


def _banner(state: TargetState, now_ms: int) -> Any:
    if state.health is not Health.DOWN:
        return None
    return error_banner(
        "This target is down",
        f"{state.last_error or 'it does not answer'} "
        f"(last poll {fmt_age(state.last_poll_ms, now_ms)}). "
        "The charts show what was collected before.",
    )


def register(app: dash.Dash, ctx: PageContext) -> None:
    url_param_control(app, "target-picker", "instance")
    url_param_control(app, "target-tab", "tab", default="charts")

    @app.callback(
        Output("target-subtitle", "children"),
        Output("target-banner", "children"),
        Output("target-charts", "hidden"),
        Output("target-tab-body", "children"),
        Input({"type": "tick", "page": NAME}, "n_intervals"),
        Input("url", "search"),
        State("url", "pathname"),
    )
    def header_and_tab(_n: int, search: str | None, pathname: str | None) -> tuple[Any, ...]:
        if pathname != PATH:
            raise dash.exceptions.PreventUpdate
        view = parse_query(search)
        state = _find(ctx, _instance(ctx, view))
        if state is None:
            raise dash.exceptions.PreventUpdate
        now = ctx.data.source.now_ms()
        uptime = _latest_value(
            ctx, state.instance, ("redis_uptime_in_seconds", "memcached_uptime_seconds")
        )
        tab = _tab_of(view, state.kind)
        body = None if tab == "charts" else _tab_body(ctx, state, tab, now)
        return _subtitle(state, now, uptime), _banner(state, now), tab != "charts", body

    @app.callback(
        Output({"type": "target-chart", "index": ALL}, "figure"),
        Output({"type": "target-chart", "index": ALL}, "extendData"),
        Output("target-charts-state", "data"),
        Input({"type": "tick", "page": NAME}, "n_intervals"),
        Input("url", "search"),
        Input("theme-store", "data"),
        State("viewport", "data"),
        State("target-charts-state", "data"),
        State("url", "pathname"),
    )
    def charts(
        _n: int,
        search: str | None,
        theme: str | None,
        viewport: dict[str, int] | None,
        state: dict[str, Any] | None,
        pathname: str | None,
    ) -> tuple[Any, ...]:
        if pathname != PATH:
            raise dash.exceptions.PreventUpdate
        view = parse_query(search)
        target = _find(ctx, _instance(ctx, view))
        if target is None or _tab_of(view, target.kind) != "charts":
            raise dash.exceptions.PreventUpdate
        specs = charts_for(target.kind)
        if len(dash.ctx.outputs_list[0]) != len(specs):
            # another kind of server was picked; its layout is on the way
            raise dash.exceptions.PreventUpdate
        live = LiveCharts(
            ctx.data.source,
            specs,
            q.selector(target.instance),
            ctx.data.interval_s,
        )
        width = (viewport or {}).get("width", DEFAULT_WIDTH_PX) // 2
        from_tick = isinstance(dash.ctx.triggered_id, dict)
        update = live.update(
            view.range_s, theme_named(theme or ctx.default_theme), width, state, from_tick
        )
        return update.figures, update.extends, update.state


def _latest_value(ctx: PageContext, instance: str, names: tuple[str, ...]) -> float | None:
    batch = ctx.data.latest_batch(instance)
    if batch is None:
        return None
    for name, labels, value in zip(batch.names, batch.labels, batch.values, strict=True):
        if name in names and not labels:
            return value
    return None


def _tab_body(ctx: PageContext, state: TargetState, tab: str, now_ms: int) -> Any:
    if tab == "info":
        return _info(ctx, state)
    if tab == "slowlog":
        return _slowlog(ctx, state, now_ms)
    if tab == "doctor":
        from ui.web.pages.doctor import target_findings

        return target_findings(ctx, state.instance, now_ms)
    return _keyspace(ctx, state)


def _info(ctx: PageContext, state: TargetState) -> Any:
    batch = ctx.data.latest_batch(state.instance)
    if ctx.data.reader_of:
        return empty_state(
            "Not on a reader node",
            f"The INFO browser shows a target's last raw poll; this node polls nothing "
            f"(it reads {ctx.data.reader_of}). The cachewatch shard that polls "
            f"{state.instance} has it.",
        )
    if batch is None or not batch.names:
        return empty_state(
            "Nothing collected yet", "The INFO browser shows the target's last poll."
        )
    index: dict[str, list[InstantSample]] = {}
    for name, labels, value in zip(batch.names, batch.labels, batch.values, strict=True):
        index.setdefault(name, []).append(InstantSample(dict(labels), value))
    sections = info_sections(index, frozenset(state.labels))
    panels = [
        panel(
            section.capitalize(),
            table(("field", "value"), [(k, html.Code(v)) for k, v in rows], numeric=(1,)),
        )
        for section, rows in sections.items()
    ]
    note = (
        f"From the poll at {fmt_clock(batch.ts_ms)}; per-command and per-slab series are charted."
    )
    return html.Div(
        [
            html.Div(note, className="note", style={"marginBottom": "10px"}),
            html.Div(panels, className="info-grid"),
        ]
    )


def _slowlog(ctx: PageContext, state: TargetState, now_ms: int) -> Any:
    events = ctx.data.source.events("slowlog", state.instance, now_ms - 7 * 86_400_000, 200)
    entries, hidden = slowlog_rows(events)
    rows = [
        (
            fmt_clock(entry.at_ms),
            html.Code(entry.command),
            fmt_usec(float(entry.duration_us)),
            entry.client or "—",
        )
        for entry in entries
    ]
    note = (
        html.Div(
            f"{hidden} entr{'y' if hidden == 1 else 'ies'} of cachewatch's own commands not shown",
            className="muted",
        )
        if hidden
        else None
    )
    return html.Div(
        [
            table(
                ("time", "command", "duration", "client"),
                rows,
                numeric=(2,),
                empty="No slow commands of the application in the last 7 days.",
            ),
            note,
        ],
        className="panel",
    )


def _keyspace(ctx: PageContext, state: TargetState) -> Any:
    batch = ctx.data.latest_batch(state.instance)
    if batch is None:
        return empty_state("Nothing collected yet")
    per_db: dict[str, dict[str, float]] = {}
    for name, labels, value in zip(batch.names, batch.labels, batch.values, strict=True):
        db = dict(labels).get("db")
        if db is not None and name.startswith("redis_db_"):
            per_db.setdefault(db, {})[name] = value
    rows = [
        (
            db,
            fmt_count(v.get("redis_db_keys")),
            fmt_count(v.get("redis_db_keys_expiring")),
            fmt_seconds(v.get("redis_db_avg_ttl_seconds")),
        )
        for db, v in sorted(per_db.items())
    ]
    return html.Div(
        table(
            ("database", "keys", "with a TTL", "average TTL"),
            rows,
            numeric=(1, 2, 3),
            empty="The keyspace is empty.",
        ),
        className="panel",
    )
