"""Fleet overview: a card per target with its status and headline numbers, grouped by
cluster (or by a label such as `service`, `?group=service`), `PAGE_SIZE` cards a page
(`?page=2`). A refresh re-sends only the cards whose numbers changed (a `Patch`).

Paged, because a browser laying out a thousand cards takes seconds and every refresh
would diff all of them; a group header counts every member of its group, on any page."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from monitor.query import QueryError
from monitor.readmodel.levels import Level, evictions_level, memory_level
from monitor.readmodel.overview import OverviewRow
from monitor.readmodel.sentinel import sentinel_group_key
from monitor.readmodel.source import Health
from ui.web.components import empty_state, page_header, stat_tile, status_badge, tick
from ui.web.context import PageContext
from ui.web.units import (
    fmt_age,
    fmt_bytes,
    fmt_clock,
    fmt_count,
    fmt_percent,
    fmt_rate,
    fmt_usec,
)
from ui.web.urlstate import ViewQuery, parse_query, with_params
from ui.web.wiring import url_param_control

PATH = "/"
TITLE = "Fleet"
NAV = "Fleet"
NAME = "overview"
#: cards on one page (`?per_page=` from 1 to `MAX_PAGE_SIZE`)
PAGE_SIZE = 60
MAX_PAGE_SIZE = 500
#: `group=` values besides a label name: the default (clusters, Sentinel sets, standalone)
#: and no groups at all
GROUP_DEFAULT = "cluster"
GROUP_NONE = "none"
_GROUP_CHOICES = (GROUP_DEFAULT, "service", "env", GROUP_NONE)


def layout(ctx: PageContext, view: ViewQuery) -> html.Div:
    return html.Div(
        [
            tick(NAME, view.refresh_ms),
            dcc.Store(id="overview-state"),
            page_header(
                "Fleet overview",
                html.Span(id="overview-updated", children="Loading…"),
                [
                    dcc.Dropdown(
                        id="overview-group",
                        options=[
                            {"label": f"group: {g}", "value": g} for g in _group_choices(view)
                        ],
                        value=view.get("group", GROUP_DEFAULT),
                        clearable=False,
                        searchable=False,
                        className="group-picker",
                    ),
                    dcc.Input(
                        id="overview-filter",
                        type="search",
                        value=view.get("filter"),
                        placeholder="Filter: role=replica, down, 10.0.0…",
                        debounce=True,
                        className="filter-input",
                    ),
                ],
            ),
            html.Div(id="overview-stats", className="stat-row"),
            html.Div(id="overview-grid", className="fleet-grid"),
        ]
    )


def _group_choices(view: ViewQuery) -> list[str]:
    chosen = view.get("group", GROUP_DEFAULT)
    return [*_GROUP_CHOICES, *([chosen] if chosen not in _GROUP_CHOICES else [])]


_MEMBAR_TONE = {Level.OK: "", Level.WARN: "high", Level.BAD: "full"}


def _membar(row: OverviewRow) -> html.Div | None:
    fraction = row.memory_fraction
    if fraction is None:
        return None
    tone = _MEMBAR_TONE[memory_level(fraction)]
    return html.Div(
        html.Div(style={"width": f"{min(fraction, 1.0) * 100:.1f}%"}),
        className=f"membar {tone}".strip(),
        title=f"memory {fmt_percent(fraction)} of maxmemory",
    )


def _spark(trend: Sequence[float], down: bool) -> html.Div | None:
    """ops/s over the last five minutes as bars, enough to see a cliff or a spike: one SVG
    drawn as the element's background, so 50 cards stay 50 elements, not 1,500."""
    finite = [v for v in trend if math.isfinite(v)]
    if not finite:
        return None
    top = max(finite) or 1.0
    bars = "".join(
        f"M{i} 24v-{max(v / top * 24, 0.7):.1f}h0.8v{max(v / top * 24, 0.7):.1f}z"
        for i, v in enumerate(trend)
        if math.isfinite(v)
    )
    colour = "%238a8f98" if down else "%2356B4E9"
    svg = (
        "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' "
        f"viewBox='0 0 {len(trend)} 24' preserveAspectRatio='none'>"
        f"<path d='{bars}' fill='{colour}' fill-opacity='0.6'/></svg>"
    )
    return html.Div(
        className="spark",
        title="ops/s over the last 5 minutes",
        style={"backgroundImage": f'url("{svg}")'},
    )


def _metric(label: str, value: str) -> html.Div:
    return html.Div(
        [html.Div(label, className="metric-label"), html.Div(value, className="metric-value")]
    )


def _observer(row: OverviewRow) -> html.Div | None:
    """cachewatch's own commands, which the ops figure leaves out."""
    if not row.observer_ops_per_s:
        return None
    return html.Div(
        f"not counted: cachewatch's own {fmt_rate(row.observer_ops_per_s, '/s').strip()}",
        className="card-observer",
        title="commands cachewatch sends this target (polls, hot-key sampling); the ops/s, "
        "hit ratio and p99 above are the application's, without them",
    )


def _status(row: OverviewRow) -> str:
    return {Health.UP: "up", Health.DOWN: "down"}.get(row.health, "unknown")


def card(row: OverviewRow, search: str, now_ms: int, last_poll_ms: int = 0) -> dcc.Link:
    status = _status(row)
    sub = [html.Span(f"{row.kind} {row.version}".strip(), className="pill")]
    if row.role:
        sub.append(
            html.Span(row.role, className="pill accent" if row.role == "primary" else "pill")
        )
    if row.shard:
        sub.append(html.Span(f"slots {row.shard}", className="pill"))
    if row.firing_alerts:
        sub.append(status_badge("firing", f"{row.firing_alerts} firing"))
    metrics = [
        _metric("ops/s", fmt_rate(row.ops_per_s, "").strip()),
        _metric("hit ratio", fmt_percent(row.hit_ratio)),
        _metric("p99", fmt_usec(None if row.p99_ms is None else row.p99_ms * 1000)),
        _metric(
            f"memory of {fmt_bytes(row.memory_max)}" if row.memory_max else "memory",
            fmt_bytes(row.memory_used),
        ),
        _metric("clients", fmt_count(row.clients)),
        _metric("evictions/s", fmt_count(row.evictions_per_s)),
    ]
    children: list[Any] = [
        html.Div(
            [html.Div(row.instance, className="card-title"), status_badge(status)],
            className="card-head",
        ),
        html.Div(sub, className="card-sub"),
        html.Div(metrics, className="card-metrics"),
        _observer(row),
        _spark(row.ops_trend, row.health is Health.DOWN),
        _membar(row),
    ]
    if row.health is Health.DOWN:
        reason = row.last_error or "not answering"
        children.append(
            html.Div(
                f"{reason} · last poll {fmt_age(last_poll_ms, now_ms)}", className="card-error"
            )
        )
    href = "/target" + with_params(search, keep_only_global=True, instance=row.instance)
    return dcc.Link(
        children,
        href=href,
        className=f"target-card {status}",
        id={"type": "target-card", "instance": row.instance},
    )


def _group_name(row: OverviewRow, by: str = GROUP_DEFAULT) -> str:
    if by == GROUP_NONE:
        return ""
    if by != GROUP_DEFAULT:
        value = dict(row.labels).get(by)
        return f"{by} {value}" if value else f"No {by} label"
    if row.cluster:
        return f"Cluster {row.cluster}"
    sentinel = sentinel_group_key(dict(row.labels))
    return f"Sentinel set {sentinel[0]}" if sentinel is not None else "Standalone"


def _group_header(name: str, rows: Sequence[OverviewRow]) -> html.Div:
    down = sum(1 for r in rows if r.health is Health.DOWN)
    meta = f"{len(rows)} target{'s' if len(rows) != 1 else ''}" + (
        f" · {down} down" if down else ""
    )
    return html.Div(
        [html.H2(name), html.Span(meta, className="group-meta")], className="group-header"
    )


def _pager(search: str, page: int, pages: int, first: int, last: int, total: int) -> html.Div:
    def link(text: str, to: int, enabled: bool) -> Any:
        if not enabled:
            return html.Span(text, className="pager-link disabled")
        target = with_params(search, page=str(to) if to > 1 else None)
        return dcc.Link(text, href=PATH + target, className="pager-link")

    return html.Div(
        [
            link("< Previous", page - 1, page > 1),
            html.Span(
                f"Page {page} of {pages} · targets {first}-{last} of {total}",
                className="pager-text",
            ),
            link("Next >", page + 1, page < pages),
        ],
        className="pager",
    )


def page_size(view: ViewQuery) -> int:
    text = view.get("per_page")
    return max(1, min(int(text), MAX_PAGE_SIZE)) if text.isdigit() else PAGE_SIZE


def page_of(view: ViewQuery, pages: int) -> int:
    """The page the URL asks for, within 1..pages (a stale link to page 9 of a fleet that
    shrank shows the last page)."""
    text = view.get("page", "1")
    page = int(text) if text.isdigit() else 1
    return max(1, min(page, pages))


def _items(
    rows: Sequence[OverviewRow],
    search: str,
    now_ms: int,
    last_polls: dict[str, int],
    group_by: str = GROUP_DEFAULT,
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> list[tuple[str, str, Callable[[], Any]]]:
    """(key, digest, build) for each group header and card of the page, and the pager, in
    display order; components are built only for what changed. A group's header shows
    on every page it has cards on, counting all its members."""
    groups: dict[str, list[OverviewRow]] = {}
    for row in rows:
        groups.setdefault(_group_name(row, group_by), []).append(row)
    ordered = [(name, row) for name, members in groups.items() for row in members]
    pages = max(1, -(-len(ordered) // per_page))
    page = max(1, min(page, pages))
    first = (page - 1) * per_page
    on_page = ordered[first : first + per_page]
    items: list[tuple[str, str, Callable[[], Any]]] = []
    header_done: set[str] = set()
    for name, row in on_page:
        if name and name not in header_done:
            header_done.add(name)
            members = groups[name]
            header_digest = json.dumps(
                [len(members), sum(r.health is Health.DOWN for r in members)]
            )
            items.append((f"group:{name}", header_digest, partial(_group_header, name, members)))
        last_poll = last_polls.get(row.instance, 0)
        age = fmt_age(last_poll, now_ms) if row.health is Health.DOWN else ""
        items.append(
            (
                f"card:{row.instance}",
                _digest(row, search) + age,
                partial(card, row, search, now_ms, last_poll),
            )
        )
    if pages > 1:
        pager = partial(_pager, search, page, pages, first + 1, first + len(on_page), len(ordered))
        items.append((f"pager:{page}/{pages}", with_params(search), pager))
    return items


def _digest(row: OverviewRow, search: str) -> str:
    def rounded(value: float | None) -> float | None:
        return None if value is None or not math.isfinite(value) else float(f"{value:.3g}")

    return json.dumps(
        [
            row.health.value,
            row.last_error,
            row.role,
            row.version,
            row.firing_alerts,
            rounded(row.ops_per_s),
            rounded(row.observer_ops_per_s),
            rounded(row.hit_ratio),
            rounded(row.memory_used),
            rounded(row.memory_max),
            rounded(row.evictions_per_s),
            rounded(row.clients),
            rounded(row.p99_ms),
            [rounded(v) for v in row.ops_trend],
            with_params(search, keep_only_global=True),
        ]
    )


def _stats(rows: Sequence[OverviewRow]) -> list[html.Div]:
    up = sum(1 for r in rows if r.health is Health.UP)
    down = sum(1 for r in rows if r.health is Health.DOWN)
    ops = sum(
        r.ops_per_s or 0.0 for r in rows if r.ops_per_s is not None and math.isfinite(r.ops_per_s)
    )
    hits = [r.hit_ratio for r in rows if r.hit_ratio is not None]
    memory = sum(r.memory_used or 0.0 for r in rows if r.memory_used is not None)
    evictions = sum(r.evictions_per_s or 0.0 for r in rows if r.evictions_per_s is not None)
    firing = sum(r.firing_alerts for r in rows)
    return [
        stat_tile(
            "Targets up",
            f"{up} / {len(rows)}",
            f"{down} down" if down else "all answering",
            "bad" if down else "good",
        ),
        stat_tile("Throughput", fmt_rate(ops), "all targets"),
        stat_tile(
            "Hit ratio", fmt_percent(sum(hits) / len(hits)) if hits else "—", "mean of targets"
        ),
        stat_tile("Memory used", fmt_bytes(memory), "all targets"),
        stat_tile(
            "Evictions",
            fmt_rate(evictions, "/s"),
            "all targets",
            "warn" if any(evictions_level(r.evictions_per_s) is not Level.OK for r in rows) else "",
        ),
        stat_tile("Alerts firing", str(firing), "", "bad" if firing else ""),
    ]


def register(app: dash.Dash, ctx: PageContext) -> None:
    url_param_control(app, "overview-filter", "filter")
    url_param_control(app, "overview-group", "group", default=GROUP_DEFAULT)

    @app.callback(
        Output("overview-grid", "children"),
        Output("overview-stats", "children"),
        Output("overview-updated", "children"),
        Output("overview-state", "data"),
        Input({"type": "tick", "page": NAME}, "n_intervals"),
        Input("url", "search"),
        State("url", "pathname"),
        State("overview-state", "data"),
    )
    def refresh(
        _n: int, search: str | None, pathname: str | None, state: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        if (pathname or "/") != PATH:
            raise dash.exceptions.PreventUpdate
        return overview_update(ctx, search or "", state)


def overview_update(ctx: PageContext, search: str, state: dict[str, Any] | None) -> tuple[Any, ...]:
    """The grid (whole, or a Patch of the changed cards), the stat tiles, the "updated"
    line and the new state (keys and digests of what the browser shows)."""
    source = ctx.data.source
    now = source.now_ms()
    view = parse_query(search)
    try:
        rows = ctx.overview_rows()
    except QueryError as exc:  # e.g. the upstream Prometheus is down: say so, try again
        return (
            empty_state("Cannot read the fleet", str(exc)),
            _stats([]),
            "cannot read the fleet",
            {"keys": [], "digests": []},
        )
    wanted = view.get("filter")
    shown = [r for r in rows if r.matches(wanted)] if wanted else rows
    polled = max((r.as_of_ms for r in rows), default=0)
    updated = f"{len(rows)} targets · " + (
        f"data polled {fmt_clock(polled)}" if polled else "waiting for the first poll"
    )
    if not rows:
        grid: Any = empty_state(
            "No targets yet",
            f"This reader lists the targets from {ctx.data.reader_of}: none has a "
            "redis_up or memcached_up series there yet (are the shards scraped?)."
            if ctx.data.reader_of
            else "Give cachewatch serve some URLs or [[targets]] in the config; "
            "targets appear here after their first poll.",
        )
        return grid, _stats(rows), updated, {"keys": [], "digests": []}
    if not shown:
        return (
            empty_state(f"No target matches “{wanted}”"),
            _stats(rows),
            updated,
            {"keys": [], "digests": []},
        )
    last_polls = {s.instance: s.last_poll_ms for s in source.statuses()}
    per_page = page_size(view)
    pages = max(1, -(-len(shown) // per_page))
    group_by = view.get("group", GROUP_DEFAULT) or GROUP_DEFAULT
    page = page_of(view, pages)
    items = _items(shown, search, now, last_polls, group_by, page, per_page)
    keys = [k for k, _, _ in items]
    digests = [d for _, d, _ in items]
    new_state = {"keys": keys, "digests": digests}
    if state and state.get("keys") == keys:
        patch = dash.Patch()
        changed = 0
        for index, (old, (_, digest, build)) in enumerate(
            zip(state["digests"], items, strict=True)
        ):
            if old != digest:
                patch[index] = build()
                changed += 1
        grid = patch if changed else dash.no_update
    else:
        grid = [build() for _, _, build in items]
    return grid, _stats(rows), updated, new_state
