"""Alerts: firing and pending, recent history (from the `ALERTS` series), and silences —
create one from a form, expire one with a button. Writes need an authenticated user; the
HTTP layer adds CSRF protection to every callback (see `ui/web/security.py`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import dash
import flask
from dash import ALL, Input, Output, State, dcc, html

from alerts.silences import SilenceError, parse_matcher
from monitor.durations import parse_duration
from monitor.query import QueryError
from monitor.readmodel.source import AlertRow
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
from ui.web.units import fmt_age, fmt_clock, fmt_count, fmt_seconds
from ui.web.urlstate import ViewQuery, parse_query

PATH = "/alerts"
TITLE = "Alerts"
NAV = "Alerts"
NAME = "alerts"
DURATIONS = ("30m", "1h", "2h", "4h", "1d", "7d")
_HISTORY_STEPS = 400
#: one matcher: name, operator, then a quoted value or a run of non-blank characters
_MATCHER_TEXT = re.compile(
    r'[A-Za-z_][A-Za-z0-9_]*\s*(?:=~|!~|!=|=)\s*(?:"(?:[^"\\]|\\.)*"|[^\s,]+)'
)


def layout(ctx: PageContext, view: ViewQuery) -> html.Div:
    return html.Div(
        [
            tick(NAME, view.refresh_ms),
            page_header("Alerts", html.Span(id="alerts-updated")),
            html.Div(id="alerts-stats", className="stat-row"),
            html.Div(id="alerts-active"),
            html.Div("Silences", className="section-title"),
            html.Div([_silence_form(ctx), html.Div(id="silences-table")], className="two-col"),
            html.Div("History", className="section-title"),
            html.Div(id="alerts-history"),
        ]
    )


def _silence_form(ctx: PageContext) -> html.Div:
    disabled = not (ctx.can_write and ctx.data.silences is not None)
    why = None
    if ctx.data.silences is None:
        why = "No alert engine runs in this process."
    elif not ctx.can_write:
        why = (
            "Creating silences needs a login: set [web] auth_username and auth_password_env "
            "(or a bearer token), or use `cachewatch alerts silence` on this host."
        )
    return panel(
        "New silence",
        html.Div(
            [
                html.Div(
                    [
                        html.Label("Matchers", htmlFor="silence-matchers"),
                        dcc.Input(
                            id="silence-matchers",
                            type="text",
                            className="text-input",
                            placeholder='alertname=RedisDown instance=~"10\\.0\\..*"',
                            style={"width": "100%"},
                            disabled=disabled,
                        ),
                    ],
                    className="form-field",
                    style={"flex": "1 1 100%"},
                ),
                html.Div(
                    [
                        html.Label("For", htmlFor="silence-duration"),
                        dcc.Dropdown(
                            id="silence-duration",
                            options=list(DURATIONS),
                            value="1h",
                            clearable=False,
                            disabled=disabled,
                            style={"width": "110px"},
                        ),
                    ],
                    className="form-field",
                ),
                html.Div(
                    [
                        html.Label("Comment", htmlFor="silence-comment"),
                        dcc.Input(
                            id="silence-comment",
                            type="text",
                            className="text-input",
                            placeholder="why (required)",
                            disabled=disabled,
                            style={"width": "260px"},
                        ),
                    ],
                    className="form-field",
                    style={"flex": "1"},
                ),
                html.Button(
                    "Create silence", id="silence-create", className="button", disabled=disabled
                ),
            ],
            className="form-row",
        ),
        html.Div(why, className="note", style={"marginTop": "8px"}) if why else None,
        html.Div(id="silence-message", className="form-message"),
    )


def _silence_button(ctx: PageContext, alert: AlertRow) -> Any:
    """Fills the form with matchers for this alert (its name and instance)."""
    if not (ctx.can_write and ctx.data.silences is not None):
        return ""
    wanted = {"alertname": alert.name, **({"instance": alert.instance} if alert.instance else {})}
    text = " ".join(f'{k}="{v}"' for k, v in wanted.items())
    return html.Button(
        "Silence…",
        id={"type": "silence-alert", "matchers": text},
        className="button secondary small",
    )


def _alert_rows(ctx: PageContext, now_ms: int) -> tuple[list[Any], list[Any]]:
    alerts = ctx.data.source.alerts(now_ms)
    rows = []
    for alert in alerts:
        labels = {k: v for k, v in alert.labels.items() if k not in ("alertname", "__name__")}
        summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
        rows.append(
            (
                status_badge(alert.state, alert.state),
                html.Strong(alert.name),
                html.Div(
                    [pill(f"{k}={v}") for k, v in sorted(labels.items())], className="card-sub"
                ),
                summary,
                fmt_count(alert.value) if alert.value is not None else "—",
                fmt_age(alert.active_at_ms, now_ms) if alert.active_at_ms else "—",
                pill("silenced", "accent") if alert.silenced_by else _silence_button(ctx, alert),
            )
        )
    firing = sum(1 for a in alerts if a.state == "firing")
    pending = sum(1 for a in alerts if a.state == "pending")
    silenced = sum(1 for a in alerts if a.silenced_by)
    tiles = [
        stat_tile("Firing", str(firing), "", "bad" if firing else "good"),
        stat_tile("Pending", str(pending), "", "warn" if pending else ""),
        stat_tile("Silenced", str(silenced)),
    ]
    return tiles, rows


def _silences(ctx: PageContext, now_ms: int) -> Any:
    book = ctx.data.silences
    if book is None:
        return panel("Silences", empty_state("No alert engine runs in this process.", compact=True))
    rows = []
    for silence in sorted(book.list_silences(include_expired=True), key=lambda s: -s.ends_at_ms):
        active = silence.ends_at_ms > now_ms
        action: Any = (
            html.Button(
                "Expire",
                id={"type": "expire-silence", "id": silence.id},
                className="button danger",
                disabled=not ctx.can_write,
            )
            if active
            else pill("expired")
        )
        rows.append(
            (
                html.Code(silence.describe_matchers()),
                silence.comment,
                silence.created_by or "—",
                f"until {fmt_clock(silence.ends_at_ms)}"
                if active
                else f"ended {fmt_age(silence.ends_at_ms, now_ms)}",
                action,
            )
        )
    return panel(
        "Silences", table(("matchers", "comment", "by", "ends", ""), rows, empty="No silences.")
    )


def _history(ctx: PageContext, view: ViewQuery, now_ms: int) -> Any:
    start = now_ms - view.range_s * 1000
    step = max(ctx.data.interval_s * 1000, view.range_s * 1000 // _HISTORY_STEPS)
    try:
        series = ctx.data.source.range("ALERTS", start, now_ms, int(step))
    except QueryError as exc:
        return panel(
            "History", empty_state("Could not read the alert history", str(exc), compact=True)
        )
    episodes = []
    for item in series:
        labels = dict(item.labels)
        episode_start: int | None = None
        previous: int | None = None
        for ts in item.ts_ms:
            if episode_start is None or (previous is not None and ts - previous > step * 1.5):
                if episode_start is not None and previous is not None:
                    episodes.append((episode_start, previous, labels))
                episode_start = ts
            previous = ts
        if episode_start is not None and previous is not None:
            episodes.append((episode_start, previous, labels))
    episodes.sort(key=lambda e: -e[0])
    rows = [
        (
            fmt_clock(first),
            status_badge(labels.get("alertstate", ""), labels.get("alertstate", "")),
            html.Strong(labels.get("alertname", "")),
            labels.get("instance", ""),
            "ongoing"
            if now_ms - last <= step * 1.5
            else fmt_seconds((last - first) / 1000 + step / 1000),
        )
        for first, last, labels in episodes[:200]
    ]
    return panel(
        f"Alert episodes in the last {view.range}",
        table(
            ("since", "state", "alert", "instance", "lasted"),
            rows,
            numeric=(4,),
            empty="No alert was pending or firing in this range.",
        ),
    )


def _parse_matchers(text: str) -> list[Any]:
    found = _MATCHER_TEXT.findall(text or "")
    leftover = _MATCHER_TEXT.sub("", text or "").replace(",", " ").strip()
    if leftover:
        raise SilenceError(
            f"cannot read {leftover!r} as a matcher (expected e.g. alertname=RedisDown)"
        )
    return [parse_matcher(item) for item in found]


def _user() -> str:
    return str(flask.request.environ.get("REMOTE_USER") or "web")


def register(app: dash.Dash, ctx: PageContext) -> None:
    @app.callback(
        Output("alerts-stats", "children"),
        Output("alerts-active", "children"),
        Output("silences-table", "children"),
        Output("alerts-history", "children"),
        Output("alerts-updated", "children"),
        Input({"type": "tick", "page": NAME}, "n_intervals"),
        Input("url", "search"),
        Input("silence-message", "children"),
        State("url", "pathname"),
    )
    def refresh(
        _n: int, search: str | None, _message: Any, pathname: str | None
    ) -> tuple[Any, ...]:
        if pathname != PATH:
            raise dash.exceptions.PreventUpdate
        now = ctx.data.source.now_ms()
        tiles, rows = _alert_rows(ctx, now)
        active = panel(
            "Firing and pending",
            table(
                ("state", "alert", "labels", "summary", "value", "since", ""),
                rows,
                numeric=(4,),
                empty="Nothing is firing or pending.",
            ),
        )
        return (
            tiles,
            active,
            _silences(ctx, now),
            _history(ctx, parse_query(search), now),
            f"updated {fmt_clock(now)}",
        )

    @app.callback(
        Output("silence-matchers", "value"),
        Input({"type": "silence-alert", "matchers": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def prefill(clicks: Sequence[int | None]) -> str:
        trigger = dash.ctx.triggered_id
        if not any(clicks) or not isinstance(trigger, dict):
            raise dash.exceptions.PreventUpdate
        return str(trigger["matchers"])

    @app.callback(
        Output("silence-message", "children"),
        Output("silence-message", "className"),
        Input("silence-create", "n_clicks"),
        Input({"type": "expire-silence", "id": ALL}, "n_clicks"),
        State("silence-matchers", "value"),
        State("silence-duration", "value"),
        State("silence-comment", "value"),
        prevent_initial_call=True,
    )
    def change(
        create: int | None,
        expires: Sequence[int | None],
        matchers: str | None,
        duration: str | None,
        comment: str | None,
    ) -> tuple[str, str]:
        book = ctx.data.silences
        if book is None or not ctx.can_write:
            return "Silences cannot be changed from this dashboard.", "form-message bad"
        trigger = dash.ctx.triggered_id
        try:
            if isinstance(trigger, dict):
                if not any(expires):
                    raise dash.exceptions.PreventUpdate
                ended = book.expire(str(trigger["id"]))
                return f"Expired silence {ended.id}.", "form-message ok"
            if not create:
                raise dash.exceptions.PreventUpdate
            parsed = _parse_matchers(matchers or "")
            duration_ms = round(parse_duration(duration or "1h") * 1000)
            created = book.add(parsed, duration_ms, comment or "", created_by=_user())
            return (
                f"Silence {created.id} created, until {fmt_clock(created.ends_at_ms)}.",
                "form-message ok",
            )
        except (SilenceError, ValueError) as exc:
            return str(exc), "form-message bad"
