"""Hot keys: top-K keys and key patterns per target and merged per cluster, each with the
method that measured it, its error bound, what it rests on and what it cost; the biggest
keys sampled; and "Sample now": a person's request that may take a bounded MONITOR sample
where nothing cheaper ranks keys (the same as `cachewatch hotkeys` and
`POST /api/v1/cachewatch/hotkeys`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from collectors.hotkeys.report import HotKeyEntry, HotKeyReport, PatternEntry, merge_reports
from ui.web.components import empty_state, error_banner, page_header, panel, pill, table, tick
from ui.web.context import PageContext
from ui.web.units import fmt_bytes, fmt_clock, fmt_count, fmt_percent, fmt_seconds
from ui.web.urlstate import ViewQuery

PATH = "/hotkeys"
TITLE = "Hot keys"
NAV = "Hot keys"
NAME = "hotkeys"
TOP = 10


def layout(ctx: PageContext, view: ViewQuery) -> html.Div:
    return html.Div(
        [
            tick(NAME, view.refresh_ms),
            page_header("Hot keys", html.Span(id="hotkeys-updated"), _sample_controls(ctx)),
            dcc.Loading(html.Div(id="hotkeys-sample"), type="dot"),
            html.Div(id="hotkeys-body"),
        ]
    )


def _sample_controls(ctx: PageContext) -> html.Div | None:
    if ctx.data.sample_hotkeys is None:
        return None
    targets = sorted(
        s.instance for s in ctx.data.source.statuses() if s.labels.get("role") != "sentinel"
    )
    return html.Div(
        [
            dcc.Dropdown(
                id="hotkeys-sample-target",
                options=[{"label": t, "value": t} for t in targets],
                value=targets[0] if targets else None,
                clearable=False,
                style={"width": "240px"},
            ),
            html.Button(
                "Sample now",
                id="hotkeys-sample-run",
                className="button",
                title="Hot keys of this target now: where nothing cheaper ranks keys, a "
                "short MONITOR sample within [hotkeys] request_max_cost of its throughput",
            ),
        ],
        className="toolbar",
    )


def _rate(entry: HotKeyEntry) -> str:
    if entry.ops_per_sec is None:
        return "—"
    text = fmt_count(entry.ops_per_sec)
    return f"{text} ± {fmt_count(entry.error)}" if entry.error else text


def _hot_table(entries: Sequence[HotKeyEntry], with_instance: bool) -> html.Div:
    with_share = any(e.share is not None for e in entries)
    with_split = any(e.reads_per_sec is not None for e in entries)
    columns = ["#", "key", "ops/s"]
    columns += ["reads / writes"] if with_split else []
    columns += ["share"] if with_share else []
    columns += ["method"] + (["node"] if with_instance else [])
    rows = []
    for rank, entry in enumerate(entries, 1):
        row: list[Any] = [str(rank), html.Code(entry.key), _rate(entry)]
        if with_split:
            row.append(f"{fmt_count(entry.reads_per_sec)} / {fmt_count(entry.writes_per_sec)}")
        if with_share:
            row.append(fmt_percent(entry.share))
        row.append(pill(entry.method.value))
        if with_instance:
            row.append(entry.instance)
        rows.append(row)
    numeric = tuple(
        i for i, c in enumerate(columns) if c in ("#", "ops/s", "reads / writes", "share")
    )
    return table(columns, rows, numeric=numeric, empty="No key stood out in this window.")


def _notes(notes: Sequence[str]) -> list[html.Div]:
    """Each distinct note once; a merged report's "node: note" lines are counted per note."""
    counts: dict[str, int] = {}
    for note in notes:
        head, sep, rest = note.partition(": ")
        text = rest if sep and ":" in head else note
        counts[text] = counts.get(text, 0) + 1
    return [
        html.Div(f"{n} nodes: {text}" if n > 1 else text, className="note")
        for text, n in counts.items()
    ]


def _pattern_table(entries: Sequence[PatternEntry]) -> html.Div:
    rows = [
        (
            html.Code(p.pattern),
            fmt_percent(p.share),
            "—" if p.ops_per_sec is None else _rate_text(p.ops_per_sec, p.error),
        )
        for p in entries
    ]
    return table(("key pattern", "share", "ops/s"), rows, numeric=(1, 2), empty="")


def _rate_text(rate: float, error: float | None) -> str:
    text = fmt_count(rate)
    return f"{text} ± {fmt_count(error)}" if error else text


def _report_panel(title: str, report: HotKeyReport, with_instance: bool) -> html.Div:
    methods = ", ".join(m.value for m in report.methods) or "none"
    meta = f"window {fmt_seconds(report.window_s)} · method {methods}"
    sampled = [html.Div(s.describe(), className="note") for s in report.samples]
    children: list[Any] = [
        html.Div(meta, className="note"),
        *sampled,
        _hot_table(report.top(TOP), with_instance),
        _pattern_table(report.patterns[:TOP]) if report.patterns else None,
        *_notes(report.notes),
    ]
    return panel(title, *[c for c in children if c is not None])


def _big_keys(reports: Sequence[HotKeyReport]) -> html.Div:
    entries = sorted((b for r in reports for b in r.big), key=lambda b: b.bytes, reverse=True)[:20]
    rows = [(html.Code(b.key), b.type, fmt_bytes(b.bytes), b.instance) for b in entries]
    return panel(
        "Biggest keys (sampled MEMORY USAGE)",
        table(
            ("key", "type", "size", "node"), rows, numeric=(2,), empty="No big keys sampled yet."
        ),
    )


def hotkeys_body(ctx: PageContext) -> list[Any]:
    if ctx.data.hotkeys is None:
        return [
            empty_state(
                "Hot-key detection is off",
                "Turn it on with [hotkeys] enabled = true in the config, or use "
                "`cachewatch hotkeys URL` for a one-off look.",
            )
        ]
    reports = list(ctx.data.hotkeys())
    if not reports:
        return [
            empty_state(
                "No hot-key report yet", "The first report arrives after one detection window."
            )
        ]
    clusters: dict[str, list[HotKeyReport]] = {}
    for state in ctx.data.source.statuses():
        cluster = state.labels.get("cluster")
        if cluster:
            clusters.setdefault(cluster, []).extend(
                r for r in reports if r.target == state.instance
            )
    merged = [
        _report_panel(f"Cluster {name} (merged)", merge_reports(name, members, TOP), True)
        for name, members in sorted(clusters.items())
        if members
    ]
    per_target = [
        _report_panel(r.target, r, False) for r in sorted(reports, key=lambda r: r.target)
    ]
    body: list[Any] = []
    if merged:
        body += [
            html.Div("Clusters", className="section-title"),
            html.Div(merged, className="two-col"),
        ]
    body += [
        html.Div("Targets", className="section-title"),
        html.Div(per_target, className="two-col"),
        html.Div("Big keys", className="section-title"),
        _big_keys(reports),
    ]
    return body


def sample_panel(ctx: PageContext, instance: str) -> html.Div:
    """Sample `instance` now and show the result (blocks for the request's duration)."""
    assert ctx.data.sample_hotkeys is not None
    try:
        report = ctx.data.sample_hotkeys(instance, None)
    except (LookupError, RuntimeError) as exc:
        return error_banner("The sample could not run", str(exc))
    return _report_panel(f"Sampled now: {instance}", report, False)


def register(app: dash.Dash, ctx: PageContext) -> None:
    if ctx.data.sample_hotkeys is not None:

        @app.callback(
            Output("hotkeys-sample", "children"),
            Input("hotkeys-sample-run", "n_clicks"),
            State("hotkeys-sample-target", "value"),
            prevent_initial_call=True,
        )
        def sample(_clicks: int | None, instance: str | None) -> Any:
            if not instance:
                raise dash.exceptions.PreventUpdate
            return sample_panel(ctx, instance)

    @app.callback(
        Output("hotkeys-body", "children"),
        Output("hotkeys-updated", "children"),
        Input({"type": "tick", "page": NAME}, "n_intervals"),
        Input("url", "search"),
        State("url", "pathname"),
    )
    def refresh(_n: int, _search: str | None, pathname: str | None) -> tuple[Any, Any]:
        if pathname != PATH:
            raise dash.exceptions.PreventUpdate
        return hotkeys_body(ctx), f"updated {fmt_clock(ctx.data.source.now_ms())}"
