"""The Dash app: a shell (top bar with the page menu, time range, auto-refresh and theme),
a router that renders the page module for the URL's path, and each page's callbacks.

Pages are plain modules rather than `dash.register_page` pages because they receive their
data by constructor injection (`PageContext`), which keeps several apps in one process (the
tests) independent.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

import dash
from dash import ALL, Input, Output, State, dcc, html

from ui.web import pages
from ui.web.components import attributes, empty_state
from ui.web.context import PageContext
from ui.web.data import WebData
from ui.web.ranges import fitted_range, history_span_s, range_in
from ui.web.urlstate import RANGES, REFRESHES, parse_query, with_params

__all__ = ["create_app"]

log = logging.getLogger("cachewatch.web")

ASSETS = Path(__file__).parent / "assets"


def _segmented(component_id: str, options: list[str], value: str, label: str) -> html.Div:
    return html.Div(
        className="segmented-wrap",
        title=label,
        children=[
            html.Span(label, className="segmented-label"),
            dcc.RadioItems(
                id=component_id,
                options=[{"label": o, "value": o} for o in options],
                value=value,
                inline=True,
                className="segmented",
                inputClassName="segmented-input",
                labelClassName="segmented-option",
            ),
        ],
    )


def _shell(ctx: PageContext) -> html.Div:
    nav = [
        dcc.Link(
            page.NAV,
            href=page.PATH,
            id=f"nav-{page.__name__.rsplit('.', 1)[-1]}",
            className="nav-link",
        )
        for page in pages.PAGES
        if page.NAV
    ]
    return html.Div(
        id="app-root",
        className="app-root",
        **attributes(data_theme=ctx.default_theme),
        children=[
            dcc.Location(id="url", refresh=False),
            dcc.Store(id="theme-store", storage_type="local"),
            dcc.Store(id="viewport"),
            dcc.Store(id="page-key"),
            html.Header(
                className="topbar",
                children=[
                    dcc.Link(
                        className="brand",
                        href="/",
                        children=[html.Span(className="brand-mark"), html.Span("cachewatch")],
                    ),
                    html.Nav(nav, className="nav"),
                    html.Div(
                        className="controls",
                        children=[
                            _segmented("range-picker", list(RANGES), "1h", "Range"),
                            _segmented("refresh-picker", list(REFRESHES), "15s", "Refresh"),
                            html.Button(
                                "◐",
                                id="theme-toggle",
                                className="icon-button",
                                title="Switch between dark and light",
                                **attributes(aria_label="Switch between dark and light theme"),
                            ),
                        ],
                    ),
                ],
            ),
            dcc.Loading(
                html.Main(id="page", className="page"),
                delay_show=400,
                type="dot",
                color="#56B4E9",
                target_components=cast(Any, {"page": "children"}),
                parent_className="page-loading",
            ),
        ],
    )


def create_app(data: WebData, can_write: bool = False, default_theme: str = "dark") -> dash.Dash:
    ctx = PageContext(data=data, can_write=can_write, default_theme=default_theme)
    app = dash.Dash(
        "cachewatch",
        assets_folder=str(ASSETS),
        title="cachewatch",
        update_title="",
        suppress_callback_exceptions=True,
        serve_locally=True,
        compress=False,
        meta_tags=[
            {"name": "viewport", "content": "width=device-width, initial-scale=1"},
            {"name": "color-scheme", "content": "dark light"},
        ],
    )
    app.layout = lambda: _shell(ctx)
    _register_shell(app, ctx)
    for page in pages.PAGES:
        page.register(app, ctx)
    return app


def _register_shell(app: dash.Dash, ctx: PageContext) -> None:
    nav_pages = [p for p in pages.PAGES if p.NAV]

    @app.callback(
        Output("page", "children"),
        Output("page-key", "data"),
        Input("url", "pathname"),
        Input("url", "search"),
        State("page-key", "data"),
    )
    def route(pathname: str | None, search: str | None, shown: str | None) -> Any:
        """Render the page for the path; a change of query string alone re-renders only if
        the page's layout depends on it (`layout_key`, e.g. the target page's server kind),
        otherwise the page's own callbacks follow the URL."""
        page = pages.page_for(pathname)
        if page is None:
            missing = empty_state(
                "No such page",
                dcc.Link(
                    "Back to the fleet overview",
                    href="/" + with_params(search, keep_only_global=True),
                ),
            )
            return missing, None
        view = parse_query(search)
        key_of = getattr(page, "layout_key", None)
        key = key_of(ctx, view) if key_of is not None else page.PATH
        if shown == key and "url.pathname" not in dash.ctx.triggered_prop_ids:
            raise dash.exceptions.PreventUpdate
        return page.layout(ctx, view), key

    @app.callback(
        Output("url", "search"),
        Output("range-picker", "value"),
        Output("refresh-picker", "value"),
        Input("url", "search"),
        Input("range-picker", "value"),
        Input("refresh-picker", "value"),
    )
    def sync_controls(
        search: str | None, range_label: str, refresh_label: str
    ) -> tuple[Any, Any, Any]:
        view = parse_query(search)
        if dash.ctx.triggered_id in ("range-picker", "refresh-picker"):
            if (range_label, refresh_label) == (view.range, view.refresh):
                return dash.no_update, dash.no_update, dash.no_update
            return (
                with_params(search, range=range_label, refresh=refresh_label),
                dash.no_update,
                dash.no_update,
            )
        if not range_in(search):
            source = ctx.data.source
            fitted = fitted_range(history_span_s(source, source.now_ms()))
            if fitted != view.range:  # pin it in the URL: every page follows the URL
                return with_params(search, range=fitted), fitted, view.refresh
        return dash.no_update, view.range, view.refresh

    @app.callback(
        [Output(f"nav-{p.__name__.rsplit('.', 1)[-1]}", "href") for p in nav_pages]
        + [Output(f"nav-{p.__name__.rsplit('.', 1)[-1]}", "className") for p in nav_pages],
        Input("url", "pathname"),
        Input("url", "search"),
    )
    def nav_links(pathname: str | None, search: str | None) -> list[str]:
        current = pages.page_for(pathname)
        keep = with_params(search, keep_only_global=True)
        hrefs = [p.PATH + keep for p in nav_pages]
        classes = ["nav-link active" if p is current else "nav-link" for p in nav_pages]
        return hrefs + classes

    @app.callback(
        Output({"type": "tick", "page": ALL}, "interval"),
        Output({"type": "tick", "page": ALL}, "disabled"),
        Input("url", "search"),
        State({"type": "tick", "page": ALL}, "id"),
    )
    def sync_ticks(search: str | None, ids: list[Any]) -> tuple[list[int], list[bool]]:
        refresh_ms = parse_query(search).refresh_ms
        return [max(refresh_ms, 1000)] * len(ids), [refresh_ms == 0] * len(ids)

    @app.callback(
        Output("theme-store", "data"),
        Output("app-root", "data-theme"),
        Input("theme-toggle", "n_clicks"),
        State("theme-store", "data"),
    )
    def theme(clicks: int | None, stored: str | None) -> tuple[Any, str]:
        current = stored if stored in ("dark", "light") else ctx.default_theme
        if not clicks:
            return (dash.no_update if stored == current else current), current
        flipped = "light" if current == "dark" else "dark"
        return flipped, flipped

    app.clientside_callback(
        dash.ClientsideFunction(namespace="cachewatch", function_name="viewport"),
        Output("viewport", "data"),
        Input("url", "pathname"),
    )
