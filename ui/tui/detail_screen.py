"""One target in depth: charts over the selected window and the diagnostic panels."""

from __future__ import annotations

import math
import time
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from monitor.readmodel import DataSource, KeyRow, TargetDetail, Window, target_detail
from monitor.readmodel.detail import HotKeyView, hot_key_view
from monitor.readmodel.source import HotKeySampler
from ui.tui.chart_panel import ChartPanel
from ui.tui.format import human_bytes, human_ms, human_rate
from ui.tui.keys import DETAIL, bindings
from ui.tui.live import LiveScreen
from ui.tui.status_bar import StatusBar
from ui.tui.vim_table import VimTable

__all__ = ["DetailScreen"]

_CHARTS = (
    "ops",
    "hit_ratio",
    "memory",
    "evictions",
    "network",
    "clients",
    "latency",
    "latency_cmd",
)
_TABS = ("charts", "info", "commands", "latency", "keyspace", "slabs", "keys")


def _clock(ms: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ms / 1000))


class DetailScreen(LiveScreen):
    BINDINGS: ClassVar[list[BindingType]] = bindings(DETAIL)

    DEFAULT_CSS = """
    DetailScreen TabbedContent, DetailScreen ContentSwitcher, DetailScreen TabPane {
        height: 1fr;
    }
    DetailScreen #info-search {
        height: 3;
    }
    DetailScreen VimTable {
        height: 1fr;
    }
    DetailScreen .half {
        height: 1fr;
    }
    DetailScreen #hotkeys-notes {
        height: auto;
        max-height: 6;
        color: $warning;
    }
    DetailScreen #hotkeys-sampled {
        height: auto;
        color: $text-muted;
    }
    DetailScreen .third {
        height: 2fr;
    }
    """

    def __init__(self, instance: str) -> None:
        super().__init__()
        self.instance = instance
        self.detail: TargetDetail | None = None
        #: a hot-key sample a person asked for, shown in the Keys tab until the next one
        self.sampled: HotKeyView | None = None
        self.sampling = False

    def compose(self) -> ComposeResult:
        yield StatusBar(f"{self.instance}: loading…", id="status")
        with TabbedContent(id="tabs"):
            with TabPane("Charts", id="charts"), VerticalScroll():
                for key in _CHARTS:
                    yield ChartPanel(key, id=f"chart-{key}")
            with TabPane("INFO", id="info"):
                yield Input(placeholder="search INFO keys and values", id="info-search")
                yield VimTable(id="info-table")
            with TabPane("Commands", id="commands"):
                yield VimTable(id="commands-table")
            with TabPane("Latency", id="latency"):
                yield VimTable(id="latency-table", classes="half")
                yield VimTable(id="slowlog-table", classes="half")
            with TabPane("Keyspace", id="keyspace"):
                yield VimTable(id="keyspace-table", classes="half")
                yield VimTable(id="replication-table", classes="half")
            with TabPane("Slabs", id="slabs"):
                yield VimTable(id="slabs-table")
            with TabPane("Keys", id="keys"):
                yield Static("", id="hotkeys-sampled", markup=False)
                yield VimTable(id="hotkeys-table", classes="half")
                yield VimTable(id="patterns-table", classes="third")
                yield VimTable(id="bigkeys-table", classes="third")
                yield Static("", id="hotkeys-notes", markup=False)
        yield Footer()

    def fetch(self, source: DataSource, now_ms: int, window: Window) -> TargetDetail | None:
        return target_detail(source, self.instance, window, now_ms)

    def show(self, data: TargetDetail | None) -> None:
        status = self.query_one(StatusBar)
        if data is None:
            status.update(f"{self.instance}: no longer a target" + self.app.status_suffix())  # type: ignore[attr-defined]
            return
        self.detail = data
        state = data.state
        head = f"{state.instance}  {state.kind} {state.version}  {state.health.value}"
        if state.last_error:
            head += f"  ({state.last_error})"
        if state.last_poll_ms:
            head += f"  ·  polled {_clock(state.last_poll_ms)}"
        status.update(head + f"  ·  window {data.window.label}" + self.app.status_suffix())  # type: ignore[attr-defined]
        self._apply_tabs()
        self._show_tab(self.query_one(TabbedContent).active, data)

    def on_mount(self) -> None:
        self._apply_tabs()

    def _apply_tabs(self) -> None:
        tabs = self.query_one(TabbedContent)
        for tab in _TABS:
            if self._tab_applies(tab):
                tabs.show_tab(tab)
            else:
                tabs.hide_tab(tab)

    def _show_tab(self, tab: str, data: TargetDetail) -> None:
        """Draw only the visible panel: the others are filled when they are opened."""
        if tab == "charts":
            charts = {chart.key: chart for chart in data.charts}
            for key in _CHARTS:
                panel = self.query_one(f"#chart-{key}", ChartPanel)
                panel.display = key in charts
                if key in charts:
                    panel.show(charts[key])
        elif tab == "info":
            self._show_info(data)
        elif tab == "commands":
            self.query_one("#commands-table", VimTable).fill(
                ("command", "calls", "ops/s", "µs/call", "failed", "rejected"),
                [
                    (
                        c.command,
                        f"{c.calls:.0f}",
                        human_rate(c.ops_per_s),
                        "-" if c.usec_per_call is None else f"{c.usec_per_call:.1f}",
                        f"{c.failed:.0f}",
                        f"{c.rejected:.0f}",
                    )
                    for c in data.commandstats
                ],
            )
        elif tab == "latency":
            self.query_one("#latency-table", VimTable).fill(
                ("latency event", "last", "duration"),
                [
                    (e.event, _clock(int(e.last_at_s * 1000)), human_ms(e.duration_ms))
                    for e in data.latency_events
                ],
            )
            hidden = f" ({data.slowlog_hidden} of cachewatch's own not shown)"
            self.query_one("#slowlog-table", VimTable).fill(
                (
                    "slowlog id" + (hidden if data.slowlog_hidden else ""),
                    "at",
                    "duration",
                    "command",
                    "client",
                ),
                [
                    (s.id, _clock(s.at_ms), human_ms(s.duration_us / 1000), s.command, s.client)
                    for s in data.slowlog
                ],
            )
        elif tab == "keyspace":
            self.query_one("#keyspace-table", VimTable).fill(
                ("db", "keys", "expiring", "avg ttl"),
                [
                    (
                        k.db,
                        f"{k.keys:.0f}",
                        f"{k.expiring:.0f}",
                        "-" if k.avg_ttl_s is None else f"{k.avg_ttl_s:.0f}s",
                    )
                    for k in data.keyspace
                ],
            )
            rows: list[tuple[object, ...]] = []
            repl = data.replication
            if repl is not None:
                link = "-" if repl.link_up is None else "up" if repl.link_up else "DOWN"
                rows.append(
                    (
                        repl.role,
                        repl.master or "-",
                        link,
                        "-" if repl.last_io_s is None else f"{repl.last_io_s:.0f}s ago",
                    )
                )
                rows += [
                    (
                        "replica",
                        r.address,
                        r.state,
                        "-" if r.lag_s is None else f"lag {r.lag_s:.0f}s",
                    )
                    for r in repl.replicas
                ]
            self.query_one("#replication-table", VimTable).fill(
                ("role", "peer", "link/state", "lag"),
                rows,
            )
        elif tab == "slabs":
            self.query_one("#slabs-table", VimTable).fill(
                ("slab", "chunk", "pages", "used", "items", "evicted", "evict/s", "age"),
                [
                    (
                        s.slab,
                        human_bytes(s.chunk_size),
                        _n(s.pages),
                        _n(s.chunks_used),
                        _n(s.items),
                        _n(s.evicted_total),
                        human_rate(s.evictions_per_s),
                        "-" if s.age_s is None else f"{s.age_s:.0f}s",
                    )
                    for s in data.slabs
                ],
            )
        elif tab == "keys":
            self._show_keys(data)

    def _show_keys(self, data: TargetDetail) -> None:
        """The live detector's keys, or the sample a person asked for (`x`)."""
        view = self.sampled or HotKeyView(
            data.hot_keys, data.big_keys, data.hot_patterns, data.hot_key_notes,
            data.hot_key_sampled,
        )  # fmt: skip
        if self.sampling:
            head = "sampling hot keys now… (x)"
        elif self.sampled is not None:
            head = "sampled now: " + "; ".join(view.sampled) + "  (x: sample again)"
        else:
            head = "; ".join(view.sampled) + ("  " if view.sampled else "") + "(x: sample now)"
        self.query_one("#hotkeys-sampled", Static).update(head)
        self.query_one("#hotkeys-table", VimTable).fill(
            ("rank", "hot key", "ops/s", "±", "reads/s", "writes/s", "method"),
            [
                (
                    k.rank,
                    k.key,
                    _hot_value(k),
                    human_rate(k.error),
                    human_rate(k.reads_per_s),
                    human_rate(k.writes_per_s),
                    k.method,
                )
                for k in view.hot
            ],
        )
        self.query_one("#patterns-table", VimTable).fill(
            ("key pattern", "share", "ops/s", "±"),
            [
                (
                    p.pattern,
                    "-" if p.share is None else f"{p.share:.1%}",
                    human_rate(p.ops_per_s),
                    human_rate(p.error),
                )
                for p in view.patterns
            ],
        )
        self.query_one("#bigkeys-table", VimTable).fill(
            ("rank", "big key", "size", "type"),
            [(k.rank, k.key, human_bytes(k.value), k.type) for k in view.big],
        )
        self.query_one("#hotkeys-notes", Static).update(
            "\n".join(f"note: {note}" for note in view.notes)
        )

    def action_sample_hot_keys(self) -> None:
        """Take a hot-key sample now (MONITOR where nothing cheaper ranks keys, within the
        configured cost), in a worker thread: the screen keeps refreshing meanwhile."""
        source = self.app.source  # type: ignore[attr-defined]
        if self.sampling or not isinstance(source, HotKeySampler):
            return
        self.sampling = True
        tabs = self.query_one(TabbedContent)
        tabs.active = "keys"
        if self.detail is not None:
            self._show_keys(self.detail)
        self.run_worker(lambda: self._sample(source), thread=True, exclusive=True, group="sample")

    def _sample(self, source: HotKeySampler) -> None:
        try:
            report = source.sample_hot_keys(self.instance, None)
            view = hot_key_view(report)
        except Exception as exc:  # shown, not raised: the screen stays up
            view = HotKeyView(notes=(f"the sample failed: {exc}",))
        self.app.call_from_thread(self._sampled, view)

    def _sampled(self, view: HotKeyView) -> None:
        self.sampling = False
        self.sampled = view
        if self.detail is not None:
            self._show_keys(self.detail)

    def _show_info(self, data: TargetDetail) -> None:
        needle = self.query_one("#info-search", Input).value.lower()
        rows = [
            (section, key, value)
            for section, pairs in data.info.items()
            for key, value in pairs
            if needle in f"{section} {key} {value}".lower()
        ]
        self.query_one("#info-table", VimTable).fill(("section", "key", "value"), rows)

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.detail is not None:
            self._show_info(self.detail)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if self.detail is not None and event.pane.id is not None:
            with self.app.batch_update():
                self._show_tab(event.pane.id, self.detail)

    def _step_tab(self, delta: int) -> None:
        tabs = self.query_one(TabbedContent)
        visible = [t for t in _TABS if self._tab_applies(t)]
        current = visible.index(tabs.active) if tabs.active in visible else 0
        tabs.active = visible[(current + delta) % len(visible)]

    def _tab_applies(self, tab: str) -> bool:
        """Until the first refresh says what kind of server this is, only the panels every
        kind has show (no Keyspace or Latency flashing up on a memcached target)."""
        if self.detail is None:
            return tab in ("charts", "info", "keys")
        kind = self.detail.state.kind
        if tab == "slabs":
            return kind == "memcached"
        return not (kind == "memcached" and tab in ("commands", "latency", "keyspace"))

    def action_next_tab(self) -> None:
        self._step_tab(1)

    def action_prev_tab(self) -> None:
        self._step_tab(-1)

    def action_search(self) -> None:
        self.query_one(TabbedContent).active = "info"
        self.query_one("#info-search", Input).focus()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_target_doctor(self) -> None:
        from ui.tui.doctor_screen import TargetDoctorScreen

        self.app.push_screen(TargetDoctorScreen(self.instance))
        self.app.refresh_now()  # type: ignore[attr-defined]

    def action_next_window(self) -> None:
        windows = list(Window)
        current = windows.index(self.app.window)  # type: ignore[attr-defined]
        self.app.set_window(windows[(current + 1) % len(windows)])  # type: ignore[attr-defined]


def _hot_value(row: KeyRow) -> str:
    """ops/s, or the key's share of the measured total where the method gives no rate."""
    if math.isnan(row.value) and row.share is not None:
        return f"{row.share:.0%} share"
    return human_rate(row.value)


def _n(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"
