"""Explore: run any PromQL expression over the store and plot it. The expression lives in
the URL (`q`), so a chart can be shared as a link."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from monitor.query import QueryError
from ui.web.charts import (
    ChartSpec,
    SeriesQuery,
    Trace,
    blank_figure,
    frame_for,
    line_figure,
    on_grid,
    plan_step,
    trace_volume,
)
from ui.web.components import (
    empty_state,
    error_banner,
    graph_config,
    loading_figure,
    page_header,
    panel,
    table,
    tick,
)
from ui.web.context import DEFAULT_WIDTH_PX, PageContext
from ui.web.theme import theme_named
from ui.web.units import Unit, fmt_clock
from ui.web.urlstate import ViewQuery, parse_query, with_params

PATH = "/explore"
TITLE = "Explore"
NAV = "Explore"
NAME = "explore"
EXAMPLE = "sum by (instance) (rate(redis_commands_processed_total[1m]))"
MAX_SERIES = 40


def layout(ctx: PageContext, view: ViewQuery) -> html.Div:
    return html.Div(
        [
            tick(NAME, view.refresh_ms),
            page_header(
                "Explore",
                "PromQL over cachewatch's store: the same expression works against Prometheus.",
            ),
            panel(
                None,
                dcc.Textarea(
                    id="explore-query",
                    value=view.get("q"),
                    placeholder=EXAMPLE,
                    className="query-input",
                    spellCheck=False,
                ),
                html.Div(
                    [
                        html.Button("Run query", id="explore-run", className="button"),
                        html.Span(
                            "Results follow the time range and refresh above",
                            className="note",
                        ),
                    ],
                    className="form-row",
                    style={"marginTop": "8px", "alignItems": "center"},
                ),
            ),
            html.Div(id="explore-error", style={"marginTop": "14px"}),
            html.Div(
                className="panel chart-panel tall",
                style={"marginTop": "14px"},
                children=[
                    html.Div(id="explore-title", className="panel-title"),
                    dcc.Graph(
                        id="explore-graph",
                        config=graph_config(),
                        className="chart",
                        figure=loading_figure(),
                    ),
                ],
            ),
            html.Div(id="explore-table", style={"marginTop": "14px"}),
        ]
    )


def run_query(
    ctx: PageContext, expr: str, view: ViewQuery, theme_name: str, width_px: int
) -> tuple[Any, ...]:
    """(error banner, title, figure, table) for `expr` over the view's range."""
    theme = theme_named(theme_name)
    source = ctx.data.source
    now = source.now_ms()
    step = plan_step(view.range_s, width_px, ctx.data.interval_s)
    frame = frame_for(view.range_s, now, step, ctx.data.interval_s)
    try:
        series = source.range(expr, frame.start_ms, frame.end_ms, frame.step_ms)
        latest = source.instant(expr, now)
    except QueryError as exc:
        return error_banner("The query failed", str(exc)), "", blank_figure(), None
    spec = ChartSpec("explore", expr, Unit.COUNT, (SeriesQuery(expr, ""),), max_traces=MAX_SERIES)
    named = [Trace(_series_name(s.labels), on_grid(s, frame.steps)) for s in series]
    named.sort(key=trace_volume, reverse=True)
    named = named[:MAX_SERIES]
    figure = line_figure(spec, named, frame, theme)
    figure["layout"]["showlegend"] = len(named) <= 12
    title = f"{len(series)} series · step {step // 1000}s · {fmt_clock(now)}"
    if len(series) > MAX_SERIES:
        title += f" · the {MAX_SERIES} largest are drawn"
    rows = [(html.Code(_series_name(s.labels)), f"{s.value:g}") for s in latest[:200]]
    result_table = panel(
        "Value now", table(("series", "value"), rows, numeric=(1,), empty="Empty result.")
    )
    return None, title, figure, result_table


def _series_name(labels: Any) -> str:
    items = dict(labels)
    name = items.pop("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    return f"{name}{{{inner}}}" if inner or not name else name


def register(app: dash.Dash, ctx: PageContext) -> None:
    @app.callback(
        Output("url", "search", allow_duplicate=True),
        Input("explore-run", "n_clicks"),
        State("explore-query", "value"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def query_to_url(_clicks: int | None, expr: str | None, search: str | None) -> Any:
        return with_params(search, q=(expr or "").strip() or None)

    @app.callback(
        Output("explore-error", "children"),
        Output("explore-title", "children"),
        Output("explore-graph", "figure"),
        Output("explore-table", "children"),
        Input({"type": "tick", "page": NAME}, "n_intervals"),
        Input("url", "search"),
        Input("theme-store", "data"),
        State("viewport", "data"),
        State("url", "pathname"),
    )
    def refresh(
        _n: int,
        search: str | None,
        theme: str | None,
        viewport: dict[str, int] | None,
        pathname: str | None,
    ) -> tuple[Any, ...]:
        if pathname != PATH:
            raise dash.exceptions.PreventUpdate
        view = parse_query(search)
        expr = view.get("q")
        if not expr:
            hint = empty_state(
                "Type a PromQL expression and run it",
                html.Span(["For example ", html.Code(EXAMPLE)]),
            )
            return hint, "", blank_figure(), None
        width = (viewport or {}).get("width", DEFAULT_WIDTH_PX)
        return run_query(ctx, expr, view, theme or ctx.default_theme, width)
