"""Alerting assembled from the `[alerts]` config section: rules, engine, routing, outbox,
silences — what `serve`/`poll` start and what the UIs read.

    [alerts]
    rule_files = ["rules/*.yml"]          # globs, relative to the config file; default: the pack
    evaluation_interval = "15s"           # for groups without their own `interval`
    external_labels = { env = "prod" }
    group_wait = "10s"                    # defaults for routes
    group_interval = "1m"
    repeat_interval = "4h"

    [[alerts.receivers]]
    name = "oncall"
    type = "webhook"                      # log | webhook | slack | alertmanager
    url_env = "ONCALL_WEBHOOK_URL"        # or url / url_file; alertmanager: urls = [...]
    timeout = "10s"
    send_resolved = true

    [[alerts.routes]]
    receiver = "oncall"
    matchers = ["severity=~critical|page"]
    group_by = ["alertname", "instance"]  # ["..."]: one notification per alert
    continue = false
"""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from alerts.dispatcher import Dispatcher, Route
from alerts.engine import RuleEngine
from alerts.outbox import Outbox, ReceiverStatus
from alerts.querier import EngineQuerier, InstantQuerier
from alerts.receivers import (
    AlertmanagerReceiver,
    LogReceiver,
    Receiver,
    SlackReceiver,
    WebhookReceiver,
)
from alerts.rules import RuleGroup, RuleLoadError, default_rule_files, load_rule_files
from alerts.silences import SilenceError, SilenceStore, parse_matcher
from alerts.sink import AppendOnlyStore, StoreSink
from alerts.state import AlertSnapshot
from monitor.config import Config
from monitor.durations import parse_duration
from monitor.secrets import Secret
from monitor.sections import SectionContext, SectionSpec

__all__ = [
    "AlertSettings",
    "AlertSettingsError",
    "parse_alert_settings",
    "AlertingService",
    "default_state_dir",
    "ALERTS_KEYS",
    "ALERTS_SECTION",
]

ALERTS_KEYS = frozenset(
    {
        "rule_files",
        "evaluation_interval",
        "receivers",
        "routes",
        "external_labels",
        "group_wait",
        "group_interval",
        "repeat_interval",
    }
)


class AlertSettingsError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True, slots=True)
class AlertSettings:
    rule_files: tuple[str, ...]
    base_dir: Path
    evaluation_interval_ms: int
    external_labels: tuple[tuple[str, str], ...]
    receivers: tuple[Receiver, ...]
    routes: tuple[Route, ...]


def default_state_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("cachewatch")) / "alerts"


def _ms(
    table: Mapping[str, Any], key: str, default_ms: int, where: str, problems: list[str]
) -> int:
    if key not in table:
        return default_ms
    try:
        return round(parse_duration(str(table[key])) * 1000)
    except ValueError as exc:
        problems.append(f"{where}{key}: {exc}")
        return default_ms


def _secret_url(entry: Mapping[str, Any], where: str, problems: list[str]) -> Secret | None:
    if "url" in entry:
        return Secret(str(entry["url"]))
    if "url_env" in entry:
        value = os.environ.get(str(entry["url_env"]))
        if not value:
            problems.append(f"{where}url_env: environment variable {entry['url_env']} is not set")
            return None
        return Secret(value)
    if "url_file" in entry:
        try:
            return Secret(Path(str(entry["url_file"])).read_text(encoding="utf-8").strip())
        except OSError as exc:
            problems.append(f"{where}url_file: {exc.strerror or exc}")
            return None
    problems.append(f"{where}: needs url, url_env or url_file")
    return None


_RECEIVER_KEYS = {
    "name",
    "type",
    "url",
    "url_env",
    "url_file",
    "urls",
    "timeout",
    "send_resolved",
    "channel",
    "headers",
    "resolve_timeout",
}
_ROUTE_KEYS = {
    "receiver",
    "matchers",
    "group_by",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "continue",
}


def _receiver(entry: Any, where: str, problems: list[str]) -> Receiver | None:
    if not isinstance(entry, Mapping):
        problems.append(f"{where}: must be a table")
        return None
    for key in entry:
        if key not in _RECEIVER_KEYS:
            problems.append(f"{where}{key}: unknown key")
    name, kind = str(entry.get("name", "")), str(entry.get("type", ""))
    if not name:
        problems.append(f"{where}name: required")
    timeout_s = _ms(entry, "timeout", 10_000, where, problems) / 1000
    send_resolved = bool(entry.get("send_resolved", True))
    if kind == "log":
        return LogReceiver(name, send_resolved)
    if kind == "alertmanager":
        urls = entry.get("urls", [entry["url"]] if "url" in entry else [])
        if not urls or not all(isinstance(u, str) for u in urls):
            problems.append(f"{where}urls: a list of Alertmanager base URLs is required")
            return None
        resolve_ms = _ms(entry, "resolve_timeout", 5 * 60_000, where, problems)
        return AlertmanagerReceiver(name, [Secret(u) for u in urls], timeout_s, resolve_ms)
    if kind in ("webhook", "slack"):
        url = _secret_url(entry, where, problems)
        if url is None:
            return None
        if kind == "slack":
            return SlackReceiver(name, url, str(entry.get("channel", "")), timeout_s, send_resolved)
        headers = entry.get("headers", {})
        return WebhookReceiver(name, url, timeout_s, send_resolved, dict(headers))
    problems.append(f"{where}type: {kind!r} is not one of log, webhook, slack, alertmanager")
    return None


def parse_alert_settings(table: Mapping[str, Any], base_dir: Path) -> AlertSettings:
    problems: list[str] = []
    files = table.get("rule_files")
    rule_files = (
        tuple(str(p) for p in files)
        if isinstance(files, list)
        else tuple(str(p) for p in default_rule_files())
    )
    interval_ms = _ms(table, "evaluation_interval", 15_000, "alerts.", problems)
    external = table.get("external_labels", {})
    if not isinstance(external, Mapping):
        problems.append("alerts.external_labels: must be a table of strings")
        external = {}
    receivers = [
        r
        for i, e in enumerate(table.get("receivers", []))
        if (r := _receiver(e, f"alerts.receivers[{i}].", problems)) is not None
    ]
    names = [r.name for r in receivers]
    if not receivers:
        receivers = [LogReceiver()]
        names = ["log"]
    base = Route(receiver=names[0])
    timing: dict[str, Any] = {
        f"{key}_ms": _ms(table, key, getattr(base, f"{key}_ms"), "alerts.", problems)
        for key in ("group_wait", "group_interval", "repeat_interval")
    }
    routes: list[Route] = []
    for index, entry in enumerate(table.get("routes", [])):
        where = f"alerts.routes[{index}]."
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: must be a table")
            continue
        for key in entry:
            if key not in _ROUTE_KEYS:
                problems.append(f"{where}{key}: unknown key")
        receiver = str(entry.get("receiver", ""))
        if receiver not in names:
            problems.append(f"{where}receiver: {receiver!r} is not a configured receiver")
            continue
        try:
            matchers = tuple(parse_matcher(str(m)) for m in entry.get("matchers", []))
        except SilenceError as exc:
            problems.append(f"{where}matchers: {exc}")
            continue
        route_timing: dict[str, Any] = {
            name: _ms(entry, name.removesuffix("_ms"), default, where, problems)
            for name, default in timing.items()
        }
        route = Route(
            receiver=receiver,
            matchers=matchers,
            group_by=tuple(entry.get("group_by", base.group_by)),
            continue_matching=bool(entry.get("continue", False)),
        )
        routes.append(replace(route, **route_timing))
    if not routes:
        routes = [replace(Route(name, continue_matching=True), **timing) for name in names]
    if problems:
        raise AlertSettingsError(problems)
    return AlertSettings(
        rule_files,
        base_dir,
        interval_ms,
        tuple((str(k), str(v)) for k, v in external.items()),
        tuple(receivers),
        tuple(routes),
    )


def check_alert_section(table: Mapping[str, Any], context: SectionContext) -> AlertSettings:
    """Everything `serve` would refuse at start, and rule globs that match no file (which
    Prometheus allows, but in a config it is nearly always a wrong path)."""
    settings = parse_alert_settings(table, context.base_dir)
    problems: list[str] = []
    for pattern in settings.rule_files:
        full = pattern if Path(pattern).is_absolute() else str(context.base_dir / pattern)
        if glob.has_magic(full) and not glob.glob(full):
            problems.append(f"alerts.rule_files: {pattern!r} matches no file (under {full})")
    try:
        load_rule_files(settings.rule_files, settings.base_dir, settings.evaluation_interval_ms)
    except RuleLoadError as exc:
        problems += [f"alerts.rule_files: {problem}" for problem in exc.problems]
    if problems:
        raise AlertSettingsError(problems)
    return settings


ALERTS_SECTION = SectionSpec("alerts", check_alert_section, ALERTS_KEYS)


class AlertingService:
    """Everything alerting, wired: call `start()`, then `engine.evaluate_due(now_ms)` from
    the scheduler (or await `run(stop)`), and `stop()` at shutdown."""

    def __init__(
        self,
        groups: Sequence[RuleGroup],
        querier: InstantQuerier,
        store: AppendOnlyStore | None,
        state_dir: Path,
        receivers: Sequence[Receiver],
        routes: Sequence[Route],
        external_labels: Mapping[str, str] | None = None,
        external_url: str = "",
    ) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.silences = SilenceStore(state_dir)
        self.outbox = Outbox(state_dir / "outbox", list(receivers))
        self.dispatcher = Dispatcher(
            routes, self.outbox, self.silences, state_dir / "notifications.json", external_url
        )
        self.engine = RuleEngine(
            groups,
            querier,
            StoreSink(store) if store else None,
            self.dispatcher,
            state_dir / "alerts.json",
            external_labels=external_labels,
            external_url=external_url,
        )

    @classmethod
    def from_settings(
        cls,
        settings: AlertSettings,
        querier: InstantQuerier,
        store: AppendOnlyStore | None,
        state_dir: Path,
        external_url: str = "",
    ) -> AlertingService:
        groups = load_rule_files(
            settings.rule_files, settings.base_dir, settings.evaluation_interval_ms
        )
        return cls(
            groups,
            querier,
            store,
            state_dir,
            settings.receivers,
            settings.routes,
            dict(settings.external_labels),
            external_url,
        )

    @classmethod
    def from_config(
        cls, config: Config, store: Any, state_dir: Path | None = None, external_url: str = ""
    ) -> AlertingService:
        """Alerting for `serve`/`poll`: rules from `[alerts]` (default: the bundled pack),
        evaluated by the PromQL engine over `store`, output written back to it. Raises
        AlertSettingsError or RuleLoadError with every problem found."""
        from_file = not config.source.startswith("<")
        base_dir = Path(config.source).resolve().parent if from_file else Path.cwd()
        settings = parse_alert_settings(config.alerts, base_dir)
        return cls.from_settings(
            settings,
            EngineQuerier.over(store),
            store,
            state_dir or default_state_dir(),
            external_url,
        )

    def reload(self, settings: AlertSettings, groups: Sequence[RuleGroup]) -> None:
        """Take new rules, receivers and routes (a config reload, already parsed and
        loaded); alert state, silences, queued notifications and notification groups that
        still apply are kept. Waits for a running evaluation round to finish."""
        with self.engine.evaluation_lock:
            self.engine.replace_groups(groups)
            self.engine.external_labels = dict(settings.external_labels)
            self.outbox.set_receivers(list(settings.receivers))
            self.dispatcher.set_routes(settings.routes)

    def start(self) -> None:
        self.outbox.start()

    def stop(self) -> None:
        self.outbox.stop()

    async def run(self, stop: asyncio.Event) -> None:
        self.start()
        try:
            await self.engine.run(stop)
        finally:
            self.stop()

    def alerts(self, now_ms: int) -> list[tuple[AlertSnapshot, list[str]]]:
        """Pending and firing alerts, each with the ids of silences muting it (for UIs)."""
        return [(a, self.silences.silenced_by(a.label_map, now_ms)) for a in self.engine.alerts()]

    def receiver_status(self) -> list[ReceiverStatus]:
        return self.outbox.status()
