"""Small building blocks every page uses, so the pages look like one product: page
headers, stat tiles, status badges, tables, chart panels, and the empty/error states."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import dcc, html

from ui.web.charts import blank_figure

__all__ = [
    "page_header",
    "stat_tile",
    "status_badge",
    "table",
    "chart_panel",
    "empty_state",
    "error_banner",
    "panel",
    "pill",
    "graph_config",
    "tick",
    "attributes",
    "loading_figure",
]

_STATUS_WORDS = {"up": "Up", "down": "Down", "unknown": "Waiting", "warn": "Pending"}


def page_header(title: str, subtitle: Any = None, actions: Any = None) -> html.Div:
    return html.Div(
        className="page-header",
        children=[
            html.Div(
                [
                    html.H1(title),
                    html.Div(subtitle, className="subtitle") if subtitle is not None else None,
                ]
            ),
            html.Div(actions, className="page-actions") if actions is not None else None,
        ],
    )


def attributes(**names: str) -> dict[str, Any]:
    """HTML attributes Python names cannot spell (`data_theme` -> `data-theme`)."""
    return {name.replace("_", "-"): value for name, value in names.items()}


def stat_tile(
    label: str, value: str, hint: str = "", tone: str = "", tile_id: Any = None
) -> html.Div:
    kwargs: dict[str, Any] = {"id": tile_id} if tile_id is not None else {}
    return html.Div(
        className=f"stat-tile {tone}".strip(),
        children=[
            html.Div(label, className="stat-label"),
            html.Div(value, className="stat-value"),
            html.Div(hint, className="stat-hint") if hint else None,
        ],
        **kwargs,
    )


def status_badge(status: str, text: str | None = None) -> html.Span:
    """A dot plus a word: the colour is never the only cue."""
    return html.Span(
        [html.Span(className="dot"), text or _STATUS_WORDS.get(status, status)],
        className=f"badge status-{status}",
    )


def pill(text: str, tone: str = "") -> html.Span:
    return html.Span(text, className=f"pill {tone}".strip())


def table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    numeric: Sequence[int] = (),
    empty: str = "Nothing to show.",
    table_id: str | None = None,
) -> html.Div:
    if not rows:
        return empty_state(empty, compact=True)
    numeric_set = set(numeric)
    head = html.Thead(
        html.Tr(
            [
                html.Th(c, className="num" if i in numeric_set else None)
                for i, c in enumerate(columns)
            ]
        )
    )
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(v, className="num" if i in numeric_set else None)
                    for i, v in enumerate(row)
                ]
            )
            for row in rows
        ]
    )
    kwargs: dict[str, Any] = {"id": table_id} if table_id else {}
    return html.Div(
        html.Table([head, body], className="data-table"), className="table-wrap", **kwargs
    )


def graph_config() -> Any:
    return {
        "displaylogo": False,
        "responsive": True,
        # the toolbar covers the legend on small panels; zoom by dragging still works
        "displayModeBar": False,
    }


def loading_figure() -> dict[str, Any]:
    return blank_figure("Loading…")


def chart_panel(
    graph_id: Any, title: str, figure: dict[str, Any] | None = None, tall: bool = False
) -> html.Div:
    return html.Div(
        className="panel chart-panel" + (" tall" if tall else ""),
        children=[
            html.Div(title, className="panel-title"),
            dcc.Graph(
                id=graph_id,
                figure=figure or loading_figure(),
                config=graph_config(),
                className="chart",
            ),
        ],
    )


def panel(title: str | None, *children: Any, extra_class: str = "") -> html.Div:
    return html.Div(
        className=f"panel {extra_class}".strip(),
        children=[html.Div(title, className="panel-title") if title else None, *children],
    )


def empty_state(message: str, detail: Any = None, compact: bool = False) -> html.Div:
    return html.Div(
        className="empty-state" + (" compact" if compact else ""),
        children=[
            html.Div(message, className="empty-title"),
            html.Div(detail, className="empty-detail") if detail is not None else None,
        ],
    )


def error_banner(title: str, detail: str = "") -> html.Div:
    return html.Div(
        className="error-banner",
        role="alert",
        children=[html.Strong(title), html.Span(detail) if detail else None],
    )


def tick(page: str, refresh_ms: int) -> dcc.Interval:
    """The page's one refresh timer; the shell keeps it in step with the URL's `refresh`."""
    return dcc.Interval(
        id={"type": "tick", "page": page},
        interval=max(refresh_ms, 1000),
        disabled=refresh_ms == 0,
        n_intervals=0,
    )
