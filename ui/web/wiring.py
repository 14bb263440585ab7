"""Callback wiring several pages share: a control whose value lives in the URL."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State

from ui.web.urlstate import parse_query, with_params

__all__ = ["url_param_control"]


def url_param_control(app: dash.Dash, control_id: str, param: str, default: str = "") -> None:
    """Write `control_id`'s value into the URL's `param` (left out when it equals `default`),
    so the view can be shared as a link; the page's callbacks follow the URL."""

    @app.callback(
        Output("url", "search", allow_duplicate=True),
        Input(control_id, "value"),
        State("url", "search"),
        prevent_initial_call=True,
    )
    def control_to_url(value: Any, search: str | None) -> str:
        text = str(value or "").strip()
        if parse_query(search).get(param, default) == (text or default):
            raise dash.exceptions.PreventUpdate
        change: dict[str, Any] = {param: None if text == default else text}
        return with_params(search, **change)
