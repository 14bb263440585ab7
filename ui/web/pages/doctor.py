"""Doctor: every standing finding with its evidence (each value linked to Explore with the
PromQL that produced it), why it matters and the fix; then one target's namespaces (a table
and a treemap of memory by key pattern, with what grew since yesterday), its clients, and
the server's own LATENCY DOCTOR / MEMORY DOCTOR text on demand. The target's page shows its
findings in its Doctor tab (`target_findings`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from monitor.doctor.model import Finding
from monitor.readmodel.doctor import (
    ClientsView,
    NamespaceView,
    clients_view,
    namespace_view,
    no_findings_text,
    standing_findings,
)
from ui.web.components import (
    attributes,
    empty_state,
    page_header,
    panel,
    pill,
    stat_tile,
    table,
    tick,
)
from ui.web.context import PageContext
from ui.web.theme import theme_named
from ui.web.units import fmt_bytes, fmt_clock, fmt_count
from ui.web.urlstate import ViewQuery, parse_query, with_params
from ui.web.wiring import url_param_control

PATH = "/doctor"
TITLE = "Doctor"
NAV = "Doctor"
NAME = "doctor"
_TONE = {"critical": "bad", "warning": "warn", "info": ""}


def layout(ctx: PageContext, view: ViewQuery) -> html.Div:
    states = sorted(ctx.data.source.statuses(), key=lambda s: s.instance)
    redis = [s.instance for s in states if s.kind == "redis"]
    instance = view.get("instance") or (redis[0] if redis else "")
    return html.Div(
        [
            tick(NAME, view.refresh_ms),
            page_header(
                "Doctor",
                "Findings with their evidence and the fix. cachewatch never applies a fix.",
            ),
            html.Div(id="doctor-stats", className="stat-row"),
            html.Div(id="doctor-findings"),
            html.Div("Namespaces and clients", className="section-title"),
            html.Div(
                [
                    dcc.Dropdown(
                        id="doctor-target",
                        options=[{"label": i, "value": i} for i in redis],
                        value=instance or None,
                        clearable=False,
                        className="target-picker",
                        style={"width": "260px"},
                    ),
                    html.Button(
                        "Ask the server: LATENCY / MEMORY DOCTOR",
                        id="doctor-ask",
                        className="button",
                    ),
                ],
                className="form-row",
                style={"alignItems": "center", "gap": "12px"},
            ),
            html.Div(id="doctor-target-body", style={"marginTop": "12px"}),
            html.Div(id="doctor-server-report", style={"marginTop": "12px"}),
        ]
    )


def finding_card(finding: Finding, search: str | None = None) -> html.Div:
    evidence = [
        html.Li(
            [
                html.Span(f"{e.name}: ", className="muted"),
                html.Strong(e.text or "no data"),
                " ",
                dcc.Link(
                    html.Code(e.query),
                    href=e.explore + ("&" + search.lstrip("?") if search else ""),
                    className="evidence-query",
                ),
            ]
        )
        for e in finding.evidence
    ]
    return html.Div(
        className=f"panel finding finding-{finding.severity.value}",
        **attributes(data_rule=finding.rule, data_instance=finding.instance),
        children=[
            html.Div(
                [
                    pill(finding.severity.value, _TONE[finding.severity.value]),
                    html.Strong(finding.title, className="finding-title"),
                    dcc.Link(
                        finding.instance,
                        href=f"/target?instance={finding.instance}&tab=doctor",
                        className="note",
                    ),
                ],
                className="finding-head",
                style={"display": "flex", "gap": "10px", "alignItems": "center"},
            ),
            html.Div(
                f"{finding.rule} · first seen {fmt_clock(finding.first_seen_ms)} · last seen "
                f"{fmt_clock(finding.last_seen_ms)}",
                className="note",
            ),
            html.Div(finding.detail, className="finding-detail") if finding.detail else None,
            html.Ul(evidence, className="evidence"),
            html.P([html.Span("Why: ", className="muted"), finding.why]),
            html.P(
                [html.Span("Fix: ", className="muted"), html.Code(finding.fix)],
                className="finding-fix",
            ),
        ],
    )


def target_findings(ctx: PageContext, instance: str, now_ms: int) -> html.Div:
    """The Doctor tab of a target's page."""
    findings = standing_findings(ctx.data.source, now_ms, instance)
    link = dcc.Link(
        "Namespaces, clients and the server's own reports", href=f"{PATH}?instance={instance}"
    )
    if not findings:
        text = no_findings_text(ctx.data.source, now_ms, instance)
        return html.Div([empty_state(text, link)])
    return html.Div([*(finding_card(f) for f in findings), html.Div(link, className="note")])


def _stats(findings: Sequence[Finding]) -> list[Any]:
    counts = {s: sum(1 for f in findings if f.severity.value == s) for s in _TONE}
    return [
        stat_tile("Critical", str(counts["critical"]), tone="bad" if counts["critical"] else ""),
        stat_tile("Warning", str(counts["warning"]), tone="warn" if counts["warning"] else ""),
        stat_tile("Info", str(counts["info"])),
    ]


def _treemap(view: NamespaceView, theme: str) -> Any:
    rows = [r for r in view.rows if r.memory_bytes and math.isfinite(r.memory_bytes)]
    if not rows:
        return None
    colours = theme_named(theme)
    figure = {
        "data": [
            {
                "type": "treemap",
                "labels": [r.pattern for r in rows],
                "parents": ["" for _ in rows],
                "values": [r.memory_bytes for r in rows],
                "text": [f"{fmt_bytes(r.memory_bytes)} · {fmt_count(r.keys)} keys" for r in rows],
                "textinfo": "label+text",
                "marker": {
                    "colors": [colours.series[i % len(colours.series)] for i in range(len(rows))]
                },
                "hovertemplate": "%{label}<br>%{text}<extra></extra>",
            }
        ],
        "layout": {
            **colours.plotly_layout(),
            "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
            "height": 260,
        },
    }
    return dcc.Graph(id="doctor-treemap", figure=figure, config={"displayModeBar": False})


def _namespaces(view: NamespaceView, theme: str) -> html.Div:
    rows = [
        (
            html.Code(r.pattern),
            fmt_count(r.keys),
            fmt_bytes(r.memory_bytes),
            *(fmt_count(v) for v in r.ttl_keys),
            fmt_bytes(r.largest_key_bytes),
            "—"
            if r.grew_bytes is None
            else ("+" if r.grew_bytes >= 0 else "-") + fmt_bytes(abs(r.grew_bytes)),
        )
        for r in view.rows
    ]
    progress = (
        f"Sampler pass {view.progress:.0%} scanned; estimates from the last whole pass."
        if view.progress is not None
        else "The sampler has not reported yet."
    )
    return panel(
        "Namespaces (estimated from a budgeted sample)",
        html.Div(progress, className="note"),
        _treemap(view, theme),
        table(
            (
                "pattern",
                "keys",
                "memory",
                "no TTL",
                "TTL < 1 h",
                "< 1 d",
                "longer",
                "largest key",
                "grew since yesterday",
            ),
            rows,
            numeric=(1, 2, 3, 4, 5, 6, 7, 8),
            empty="No namespaces yet: the sampler reports after its first SCAN.",
            table_id="doctor-namespaces",
        ),
    )


def _clients(view: ClientsView) -> html.Div:
    def ranked(title: str, groups: tuple[tuple[str, float], ...]) -> html.Div:
        return html.Div(
            [html.Div(title, className="panel-title"),
             table(("group", "clients"), [(g, fmt_count(c)) for g, c in groups], numeric=(1,))],
        )  # fmt: skip

    buffers = [(k, fmt_bytes(t), fmt_bytes(m)) for k, t, m in view.buffers]
    return panel(
        "Clients (CLIENT LIST, summarised: top names, addresses and users + other)",
        html.Div(
            [
                stat_tile("Connected", fmt_count(view.listed)),
                stat_tile("Idle", fmt_count(view.idle)),
                stat_tile("Blocked", fmt_count(view.blocked)),
                stat_tile("Pub/sub", fmt_count(view.pubsub)),
            ],
            className="stat-row",
        ),
        html.Div(
            [
                ranked("By name", view.by_name),
                ranked("By address", view.by_address),
                ranked("By ACL user", view.by_user),
                ranked("Idle, by name", view.idle_by_name),
            ],
            className="info-grid",
            id="doctor-clients",
        ),
        table(("class", "output buffers", "largest"), buffers, numeric=(1, 2)),
    )


def register(app: dash.Dash, ctx: PageContext) -> None:
    url_param_control(app, "doctor-target", "instance")

    @app.callback(
        Output("doctor-stats", "children"),
        Output("doctor-findings", "children"),
        Output("doctor-target-body", "children"),
        Input({"type": "tick", "page": NAME}, "n_intervals"),
        Input("url", "search"),
        Input("theme-store", "data"),
        State("url", "pathname"),
    )
    def refresh(_n: int, search: str | None, theme: str | None, pathname: str | None) -> Any:
        if pathname != PATH:
            raise dash.exceptions.PreventUpdate
        source = ctx.data.source
        now = source.now_ms()
        findings = standing_findings(source, now)
        keep = with_params(search, keep_only_global=True)
        cards = [finding_card(f, keep) for f in findings] or [
            empty_state(no_findings_text(source, now))
        ]
        instance = parse_query(search).get("instance") or _first_redis(ctx)
        if not instance:
            body: Any = empty_state("No Redis target to sample.")
        else:
            body = html.Div(
                [
                    _namespaces(namespace_view(source, instance, now), theme or ctx.default_theme),
                    _clients(clients_view(source, instance, now)),
                ]
            )
        return _stats(findings), cards, body

    @app.callback(
        Output("doctor-server-report", "children"),
        Input("doctor-ask", "n_clicks"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def ask(_clicks: int | None, search: str | None) -> Any:
        instance = parse_query(search).get("instance") or _first_redis(ctx)
        server_doctor = getattr(ctx.data.source, "server_doctor", None)
        if server_doctor is None or not instance:
            return empty_state("Not available: this dashboard reads a store only.")
        try:
            report = server_doctor(instance)
        except Exception as exc:
            return empty_state(f"Could not ask {instance}", str(exc))
        return html.Div(
            [
                panel(f"{name.upper()} DOCTOR · {instance}", html.Pre(text, className="report"))
                for name, text in report.items()
            ],
            id="doctor-report",
        )


def _first_redis(ctx: PageContext) -> str:
    redis = sorted(s.instance for s in ctx.data.source.statuses() if s.kind == "redis")
    return redis[0] if redis else ""
