"""Evictions: trends per target and per memcached slab, the share of evicted items that
were never read (writes wasted on the cache), and how long until memory is full."""

from __future__ import annotations

import math
from typing import Any

import dash
from dash import ALL, Input, Output, State, dcc, html

from monitor.evictions import expressions as x
from monitor.evictions.expressions import window_text
from monitor.evictions.summary import DETAIL_MAX_S, TREND_SPAN_S
from monitor.evictions.trend import Trend, classify_trend
from monitor.readmodel import queries as q
from ui.web.charts import ChartSpec, SeriesQuery
from ui.web.components import chart_panel, page_header, panel, table, tick
from ui.web.context import DEFAULT_WIDTH_PX, PageContext
from ui.web.live import LiveCharts
from ui.web.theme import theme_named
from ui.web.units import Unit, fmt_clock, fmt_count, fmt_percent, fmt_seconds
from ui.web.urlstate import ViewQuery, parse_query

PATH = "/evictions"
TITLE = "Evictions"
NAV = "Evictions"
NAME = "evictions"

_REDIS_EVICTED = "rate(redis_evicted_keys_total{{{sel}}}[{w}])"
_MC_EVICTED = "rate(memcached_items_evicted_total{{{sel}}}[{w}])"
_MC_UNFETCHED = "rate(cachewatch_memcached_items_evicted_unfetched_total{{{sel}}}[{w}])"

CHARTS = (
    ChartSpec(
        "per-target",
        "Evictions per target",
        Unit.PER_SECOND,
        (
            SeriesQuery(
                f"sum by (instance) ({_REDIS_EVICTED}) or sum by (instance) ({_MC_EVICTED})",
                "{instance}",
            ),
        ),
    ),
    ChartSpec(
        "per-slab",
        "memcached evictions per slab class",
        Unit.PER_SECOND,
        (
            SeriesQuery(
                "sum by (instance, slab) (rate(memcached_slab_items_evicted_total{{{sel}}}[{w}]))",
                "{instance} slab {slab}",
            ),
        ),
    ),
    ChartSpec(
        "wasted",
        "Wasted writes: evicted before any read (memcached)",
        Unit.RATIO,
        (
            SeriesQuery(
                f"sum by (instance) ({_MC_UNFETCHED}) / sum by (instance) ({_MC_EVICTED})",
                "{instance}",
            ),
        ),
    ),
    ChartSpec(
        "fill",
        "Memory fill (used / limit)",
        Unit.RATIO,
        (
            SeriesQuery(
                lambda sel, w: f"({q.FLEET_MEMORY_USED}) / ({q.FLEET_MEMORY_MAX} > 0)", "{instance}"
            ),
        ),
    ),
)

#: how far back the fill trend is fitted for time-to-full: the eviction summary's window
_TREND = window_text(DETAIL_MAX_S)
_SECONDS_TO_FULL = (
    f"{x.render(x.REDIS_MEMORY_SECONDS_TO_FULL, 'instance', '', _TREND)}"
    f" or {x.render(x.MEMCACHED_MEMORY_SECONDS_TO_FULL, 'instance', '', _TREND)}"
)


def layout(ctx: PageContext, view: ViewQuery) -> html.Div:
    return html.Div(
        [
            tick(NAME, view.refresh_ms),
            dcc.Store(id="evictions-state"),
            page_header("Evictions", html.Span(id="evictions-updated")),
            html.Div(id="evictions-table"),
            html.Div("Trends", className="section-title"),
            html.Div(
                [
                    chart_panel({"type": "evict-chart", "index": i}, spec.title)
                    for i, spec in enumerate(CHARTS)
                ],
                className="chart-grid",
            ),
        ]
    )


def _by_instance(ctx: PageContext, expr: str, now_ms: int) -> dict[str, float]:
    return {
        s.labels.get("instance", ""): s.value
        for s in ctx.data.source.instant(expr, now_ms)
        if math.isfinite(s.value)
    }


Row = tuple[str, float | None, str, float | None, float | None, float | None]

#: the evictions trend: the 3-minute rate every minute over the last 15 minutes, classified
#: as `cachewatch evictions` does (rising / steady / falling; unknown with too little history)
_TREND_RATE = (
    "sum by (instance) (rate(redis_evicted_keys_total[3m])) or "
    "sum by (instance) (rate(memcached_items_evicted_total[3m]))"
)
_TREND_STEP_MS = 60_000


def eviction_trends(ctx: PageContext, now_ms: int) -> dict[str, Trend]:
    start_ms = now_ms - round(TREND_SPAN_S * 1000) + 3 * _TREND_STEP_MS
    series = ctx.data.source.range(_TREND_RATE, start_ms, now_ms, _TREND_STEP_MS)
    return {
        s.labels.get("instance", ""): classify_trend([t / 1000 for t in s.ts_ms], s.values).trend
        for s in series
    }


def eviction_rows(ctx: PageContext, now_ms: int) -> list[Row]:
    """(instance, evictions/s, their trend, wasted share, memory fill, seconds to full) per
    target."""
    window = "5m"
    evicted = _by_instance(
        ctx,
        f"sum by (instance) (rate(redis_evicted_keys_total[{window}])) or "
        f"sum by (instance) (rate(memcached_items_evicted_total[{window}]))",
        now_ms,
    )
    wasted = _by_instance(
        ctx,
        f"sum by (instance) (rate(cachewatch_memcached_items_evicted_unfetched_total[{window}])) "
        f"/ sum by (instance) (rate(memcached_items_evicted_total[{window}]))",
        now_ms,
    )
    used = _by_instance(ctx, q.FLEET_MEMORY_USED, now_ms)
    limit = _by_instance(ctx, f"{q.FLEET_MEMORY_MAX} > 0", now_ms)
    to_full_s = _by_instance(ctx, _SECONDS_TO_FULL, now_ms)
    trends = eviction_trends(ctx, now_ms)
    rows = []
    for state in sorted(ctx.data.source.statuses(), key=lambda s: s.instance):
        instance = state.instance
        fill = (
            used[instance] / limit[instance] if instance in used and limit.get(instance) else None
        )
        to_full = to_full_s.get(instance) if fill is not None else None
        trend = trends.get(instance, Trend.UNKNOWN).value
        rows.append((instance, evicted.get(instance), trend, wasted.get(instance), fill, to_full))
    rows.sort(key=lambda r: (-(r[1] or 0.0), r[5] if r[5] is not None else math.inf, r[0]))
    return rows


def _table(rows_now: list[Row]) -> html.Div:
    rows = [
        (
            instance,
            fmt_count(rate),
            "—" if trend == Trend.UNKNOWN else trend,
            fmt_percent(wasted),
            fmt_percent(fill),
            fmt_seconds(to_full)
            if to_full is not None
            else ("full" if fill is not None and fill >= 1 else "not growing"),
        )
        for instance, rate, trend, wasted, fill, to_full in rows_now
    ]
    return panel(
        "Now (5 min rates, their trend over 15 min; time to full from the last 30 min's growth)",
        table(
            ("target", "evictions/s", "trend", "wasted writes", "memory fill", "time to full"),
            rows,
            numeric=(1, 3, 4, 5),
            empty="No targets yet.",
        ),
    )


def table_rows(ctx: PageContext) -> tuple[int, list[Row]]:
    """(when they were computed, the table's rows): once per poll interval for every viewer,
    and never older than two intervals."""

    def compute() -> tuple[int, list[Row]]:
        now = ctx.data.source.now_ms()
        return now, eviction_rows(ctx, now)

    return ctx.snapshot("evictions", compute).get()


def register(app: dash.Dash, ctx: PageContext) -> None:
    @app.callback(
        Output("evictions-table", "children"),
        Output("evictions-updated", "children"),
        Output({"type": "evict-chart", "index": ALL}, "figure"),
        Output({"type": "evict-chart", "index": ALL}, "extendData"),
        Output("evictions-state", "data"),
        Input({"type": "tick", "page": NAME}, "n_intervals"),
        Input("url", "search"),
        Input("theme-store", "data"),
        State("viewport", "data"),
        State("evictions-state", "data"),
        State("url", "pathname"),
    )
    def refresh(
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
        live = LiveCharts(ctx.data.source, CHARTS, "", ctx.data.interval_s)
        width = (viewport or {}).get("width", DEFAULT_WIDTH_PX) // 2
        update = live.update(
            view.range_s,
            theme_named(theme or ctx.default_theme),
            width,
            state,
            isinstance(dash.ctx.triggered_id, dict),
        )
        computed_at, rows = table_rows(ctx)
        return (
            _table(rows),
            f"table as of {fmt_clock(computed_at)}",
            update.figures,
            update.extends,
            update.state,
        )
