"""The doctor: every standing finding of the fleet (key d), and one target's findings,
namespaces and clients (Enter on a finding, or d in a target's detail) with the server's own
LATENCY DOCTOR / MEMORY DOCTOR report on demand (r)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from monitor.doctor.model import Finding
from monitor.readmodel import DataSource, Window
from monitor.readmodel.doctor import (
    ClientsView,
    NamespaceView,
    clients_view,
    namespace_view,
    no_findings_text,
    standing_findings,
)
from ui.tui.format import human_bytes
from ui.tui.keys import DOCTOR, TARGET_DOCTOR, bindings
from ui.tui.live import LiveScreen
from ui.tui.status_bar import StatusBar
from ui.tui.vim_table import VimTable

__all__ = ["DoctorScreen", "TargetDoctorScreen", "finding_text"]


def _clock(ms: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ms / 1000)) if ms else "-"


def finding_text(finding: Finding) -> str:
    """Everything about one finding, as the CLI prints it."""
    lines = [f"{finding.title}  [{finding.rule} on {finding.instance}]"]
    if finding.detail:
        lines.append(finding.detail)
    for evidence in finding.evidence:
        lines.append(f"  {evidence.name}: {evidence.text or 'no data'}    {evidence.query}")
    lines += [f"why: {finding.why}", f"fix: {finding.fix}"]
    return "\n".join(lines)


def _severity(finding: Finding, palette: Any) -> Text:
    style = {"critical": f"bold {palette.bad}", "warning": palette.warn}.get(
        finding.severity.value, ""
    )
    return Text(finding.severity.value, style=style)


class _FindingsMixin:
    """A findings table with the selected finding's evidence, why and fix below it."""

    findings: list[Finding]
    #: what the detail line says when no finding stands (from the read model)
    empty_text: str = ""

    def _fill_findings(self, table: VimTable, palette: Any, with_instance: bool) -> None:
        header = ("severity", "instance", "finding", "rule", "since") if with_instance else (
            "severity", "finding", "rule", "since")  # fmt: skip
        rows = []
        for f in self.findings:
            cells = [_severity(f, palette), f.instance, f.title, f.rule, _clock(f.first_seen_ms)]
            if not with_instance:
                cells.pop(1)
            rows.append(tuple(cells))
        table.fill(header, rows)

    def _selected_finding(self, table: VimTable) -> Finding | None:
        if not self.findings or table.cursor_row >= len(self.findings):
            return None
        return self.findings[table.cursor_row]


class DoctorScreen(_FindingsMixin, LiveScreen):
    BINDINGS: ClassVar[list[BindingType]] = bindings(DOCTOR)
    DEFAULT_CSS = """
    DoctorScreen #doctor-table { height: 1fr; }
    DoctorScreen #doctor-detail { height: auto; max-height: 16; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.findings = []

    def compose(self) -> ComposeResult:
        yield StatusBar("doctor: loading…", id="status")
        yield VimTable(id="doctor-table")
        yield Static("", id="doctor-detail", markup=False)
        yield Footer()

    def fetch(self, source: DataSource, now_ms: int, window: Window) -> tuple[list[Finding], str]:
        findings = standing_findings(source, now_ms)
        return findings, "" if findings else no_findings_text(source, now_ms)

    def show(self, data: tuple[list[Finding], str]) -> None:
        self.findings, self.empty_text = data
        self._fill_findings(self.query_one(VimTable), self.app.palette, True)  # type: ignore[attr-defined]
        counts = {s: sum(1 for f in self.findings if f.severity.value == s) for s in
                  ("critical", "warning", "info")}  # fmt: skip
        self.query_one(StatusBar).update(
            f"doctor: {counts['critical']} critical, {counts['warning']} warning, "
            f"{counts['info']} info" + self.app.status_suffix()  # type: ignore[attr-defined]
        )
        self._show_detail()

    def _show_detail(self) -> None:
        finding = self._selected_finding(self.query_one(VimTable))
        text = finding_text(finding) if finding else self.empty_text
        self.query_one("#doctor-detail", Static).update(text)

    def on_data_table_row_highlighted(self, event: VimTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, event: VimTable.RowSelected) -> None:
        self.action_open_target()

    def action_open_target(self) -> None:
        finding = self._selected_finding(self.query_one(VimTable))
        if finding is not None:
            self.app.push_screen(TargetDoctorScreen(finding.instance))
            self.app.refresh_now()  # type: ignore[attr-defined]

    def action_back(self) -> None:
        self.app.pop_screen()


TargetData = tuple[list[Finding], NamespaceView, ClientsView, str]


class TargetDoctorScreen(_FindingsMixin, LiveScreen):
    BINDINGS: ClassVar[list[BindingType]] = bindings(TARGET_DOCTOR)
    DEFAULT_CSS = """
    TargetDoctorScreen VimTable { height: auto; max-height: 14; }
    TargetDoctorScreen .caption { color: $accent; text-style: bold; padding: 1 1 0 1; }
    TargetDoctorScreen Static { padding: 0 1; }
    """

    def __init__(self, instance: str) -> None:
        super().__init__()
        self.instance = instance
        self.findings = []
        self.report: dict[str, str] | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar(f"{self.instance}: doctor loading…", id="status")
        with VerticalScroll():
            yield Static("Findings", classes="caption")
            yield VimTable(id="target-findings")
            yield Static("", id="target-finding-detail", markup=False)
            yield Static("Namespaces (estimated from a sample)", classes="caption")
            yield VimTable(id="namespaces-table")
            yield Static("Clients (CLIENT LIST, summarised)", classes="caption")
            yield VimTable(id="clients-table")
            yield Static("Server's own reports (r: ask now)", classes="caption")
            yield Static("", id="server-doctor", markup=False)
        yield Footer()

    def fetch(self, source: DataSource, now_ms: int, window: Window) -> TargetData:
        return (
            standing_findings(source, now_ms, self.instance),
            namespace_view(source, self.instance, now_ms),
            clients_view(source, self.instance, now_ms),
            no_findings_text(source, now_ms, self.instance),
        )

    def show(self, data: TargetData) -> None:
        findings, namespaces, clients, self.empty_text = data
        self.findings = findings
        palette = self.app.palette  # type: ignore[attr-defined]
        self._fill_findings(self.query_one("#target-findings", VimTable), palette, False)
        self._show_detail()
        self.query_one("#namespaces-table", VimTable).fill(
            ("pattern", "keys", "memory", "no TTL", "< 1 h", "< 1 d", "longer", "largest key",
             "grew since yesterday"),
            [
                (
                    r.pattern,
                    f"{r.keys:,.0f}",
                    human_bytes(r.memory_bytes),
                    *(_count(v) for v in r.ttl_keys),
                    human_bytes(r.largest_key_bytes),
                    "-" if r.grew_bytes is None else ("+" if r.grew_bytes >= 0 else "-")
                    + human_bytes(abs(r.grew_bytes)),
                )
                for r in namespaces.rows
            ],
        )  # fmt: skip
        self.query_one("#clients-table", VimTable).fill(
            ("by", "group", "clients"), _client_rows(clients)
        )
        progress = (
            f", pass {namespaces.progress:.0%} scanned" if namespaces.progress is not None else ""
        )
        self.query_one(StatusBar).update(
            f"{self.instance}: {len(findings)} finding(s), {len(namespaces.rows)} namespace(s)"
            f"{progress}, {_count(clients.listed)} clients" + self.app.status_suffix()  # type: ignore[attr-defined]
        )

    def _show_detail(self) -> None:
        finding = self._selected_finding(self.query_one("#target-findings", VimTable))
        self.query_one("#target-finding-detail", Static).update(
            finding_text(finding) if finding else self.empty_text
        )

    def on_data_table_row_highlighted(self, event: VimTable.RowHighlighted) -> None:
        if event.data_table.id == "target-findings":
            self._show_detail()

    def action_server_report(self) -> None:
        source = self.app.source  # type: ignore[attr-defined]
        ask = getattr(source, "server_doctor", None)
        box = self.query_one("#server-doctor", Static)
        if ask is None:
            box.update("Not available here: attach reads a store, it does not talk to servers.")
            return
        box.update("asking the server…")

        async def fetch() -> None:
            try:
                report = await asyncio.to_thread(ask, self.instance)
            except Exception as exc:
                box.update(f"could not ask {self.instance}: {exc}")
                return
            self.report = report
            box.update(
                "\n\n".join(f"{name.upper()} DOCTOR\n{text}" for name, text in report.items())
            )

        self.run_worker(fetch(), exclusive=True, group="server-doctor")

    def action_back(self) -> None:
        self.app.pop_screen()


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _client_rows(clients: ClientsView) -> list[tuple[str, str, str]]:
    rows = [
        ("total", "listed", _count(clients.listed)),
        ("total", "idle", _count(clients.idle)),
        ("total", "blocked", _count(clients.blocked)),
        ("total", "pub/sub", _count(clients.pubsub)),
    ]
    for by, groups in (
        ("name", clients.by_name),
        ("address", clients.by_address),
        ("user", clients.by_user),
        ("idle, by name", clients.idle_by_name),
    ):
        rows += [(by, group, _count(count)) for group, count in groups]
    rows += [
        ("output buffers", klass, f"{human_bytes(total)} (largest {human_bytes(largest)})")
        for klass, total, largest in clients.buffers
    ]
    return rows
