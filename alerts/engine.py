"""The rule evaluator: each group on its own interval, Prometheus's alert state machine.

`RuleEngine.evaluate_due(now_ms)` evaluates every group whose time has come; the scheduler
calls it (or awaits `run()`), so the engine owns no thread. A failing query marks the rule
unhealthy and leaves its alerts as they were — exactly what Prometheus does — so a store or
engine hiccup neither resolves nor re-pages anything.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from alerts.querier import InstantQuerier, QueryError
from alerts.rules import AlertingRule, RecordingRule, RuleGroup
from alerts.state import ActiveAlert, AlertSnapshot, AlertState, StateFile, fingerprint
from alerts.templating import TemplateData
from monitor.model import Labels, labels_of, now_ms

__all__ = ["RuleEngine", "RuleHealth", "RuleOutputSink", "Notifier", "RESOLVED_RETENTION_MS"]

log = logging.getLogger("cachewatch.alerts")

#: How long a resolved alert is kept (and re-sent as resolved), as in Prometheus.
RESOLVED_RETENTION_MS = 15 * 60 * 1000


class RuleOutputSink(Protocol):
    """Where recording-rule results and the ALERTS series go (see `alerts.sink.StoreSink`)."""

    def write(self, source: str, ts_ms: int, series: Sequence[tuple[str, Labels, float]]) -> None:
        """The complete output of `source` (a group) at `ts_ms`; series that `source` wrote
        last time and not now have ended."""
        ...


class Notifier(Protocol):
    def notify(self, alerts: Sequence[AlertSnapshot], now_ms: int) -> None:
        """Firing and recently resolved alerts of one group after its evaluation."""
        ...


@dataclass(frozen=True, slots=True)
class RuleHealth:
    group: str
    rule: str
    last_eval_ms: int
    last_duration_s: float
    error: str | None


class RuleEngine:
    def __init__(
        self,
        groups: Sequence[RuleGroup],
        querier: InstantQuerier,
        sink: RuleOutputSink | None = None,
        notifier: Notifier | None = None,
        state_path: Path | None = None,
        *,
        external_labels: Mapping[str, str] | None = None,
        external_url: str = "",
        outage_tolerance_ms: int = 3_600_000,
    ) -> None:
        self.groups = list(groups)
        self.querier = querier
        self.sink = sink
        self.notifier = notifier
        self.external_labels = dict(external_labels or {})
        self.external_url = external_url
        self._state_file = StateFile(state_path) if state_path is not None else None
        self._alerts: dict[str, dict[str, dict[str, ActiveAlert]]] = {}
        self._last_eval: dict[str, int] = {}
        self._next_eval: dict[str, int] = {}
        self._health: dict[tuple[str, str], RuleHealth] = {}
        # UIs read alerts from their own threads while a worker thread evaluates
        self._lock = threading.Lock()
        #: held for a whole evaluation round: a config reload waits for it, so no round
        #: sees half-replaced rules, routes or receivers
        self.evaluation_lock = threading.Lock()
        self._restore(outage_tolerance_ms)

    def _restore(self, outage_tolerance_ms: int) -> None:
        """Take back saved alerts of groups and rules that still exist, unless the engine
        was down longer than `outage_tolerance_ms` (then the old state no longer says
        anything about now, as in Prometheus's `rules.alert.for-outage-tolerance`)."""
        if self._state_file is None:
            return
        table, last_eval = self._state_file.load()
        now = now_ms()
        for group in self.groups:
            saved = table.get(group.key)
            last = last_eval.get(group.key)
            if saved is None or last is None or now - last > outage_tolerance_ms:
                continue
            names = {r.name for r in group.rules if isinstance(r, AlertingRule)}
            self._alerts[group.key] = {
                rule: alerts for rule, alerts in saved.items() if rule in names
            }
            self._last_eval[group.key] = last
            self._next_eval[group.key] = last + group.interval_ms

    def replace_groups(self, groups: Sequence[RuleGroup]) -> None:
        """New rule groups (a config reload). Alerts of rules that still exist in a group
        of the same file and name keep their state (pending time, firing since); those of
        removed rules end, and the dispatcher resolves what it had sent for them after its
        resolve timeout, as Alertmanager does. Kept groups stay on their schedule; new ones
        are due at once."""
        by_key = {group.key: group for group in groups}
        with self._lock:
            for key in list(self._alerts):
                group = by_key.get(key)
                if group is None:
                    del self._alerts[key]
                    continue
                names = {r.name for r in group.rules if isinstance(r, AlertingRule)}
                self._alerts[key] = {r: a for r, a in self._alerts[key].items() if r in names}
            for table in (self._last_eval, self._next_eval):
                for key in list(table):
                    if key not in by_key:
                        del table[key]
            self._health = {k: h for k, h in self._health.items() if k[0] in by_key}
            self.groups = list(groups)

    # --- scheduling ------------------------------------------------------------------------

    def next_due_ms(self) -> int | None:
        if not self.groups:
            return None
        return min(self._next_eval.get(g.key, 0) for g in self.groups)

    def evaluate_due(self, now: int | None = None) -> int:
        """Evaluate every group that is due at `now`; returns how many were evaluated."""
        with self.evaluation_lock:
            return self._evaluate_due(now_ms() if now is None else now)

    def _evaluate_due(self, now: int) -> int:
        count = 0
        for group in self.groups:
            due = self._next_eval.get(group.key, now)
            if due > now:
                continue
            self.evaluate_group(group, now)
            # skip missed iterations instead of bursting to catch up
            behind = (now - due) // group.interval_ms
            self._next_eval[group.key] = due + (behind + 1) * group.interval_ms
            count += 1
        if count:
            self._save()
        return count

    async def run(self, stop: asyncio.Event, clock: Callable[[], int] = now_ms) -> None:
        """Evaluate groups as they come due until `stop` is set; queries run in a worker
        thread so the event loop (and the pollers on it) never waits on them."""
        while not stop.is_set():
            await asyncio.to_thread(self.evaluate_due, clock())
            due = self.next_due_ms()
            delay_s = 1.0 if due is None else max(0.0, (due - clock()) / 1000)
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay_s)
            except TimeoutError:
                continue

    # --- evaluation --------------------------------------------------------------------------

    def evaluate_group(self, group: RuleGroup, ts: int) -> None:
        output: list[tuple[str, Labels, float]] = []
        with self._lock:
            group_alerts = self._alerts.setdefault(group.key, {})
        for rule in group.rules:
            started = time.perf_counter()
            error: str | None = None
            try:
                if isinstance(rule, RecordingRule):
                    output.extend(self._record(rule, ts))
                else:
                    results = self.querier.query(rule.expr, ts)
                    with self._lock:
                        active = group_alerts.setdefault(rule.name, {})
                        self._apply(rule, active, results, ts)
                        output.extend(_alert_series(active.values()))
            except QueryError as exc:
                error = str(exc)
                if _last_error(self._health.get((group.key, rule.name))) != error:
                    # once per new error, not once per evaluation: an unreachable upstream
                    # fails every rule every interval, and the rules API shows it meanwhile
                    log.warning("rule %r in group %r: %s", rule.name, group.name, error)
                if isinstance(rule, AlertingRule):
                    with self._lock:
                        kept = group_alerts.get(rule.name, {})
                        output.extend(_alert_series(kept.values()))
            if error is None and _last_error(self._health.get((group.key, rule.name))):
                log.info("rule %r in group %r evaluates again", rule.name, group.name)
            self._health[(group.key, rule.name)] = RuleHealth(
                group.name, rule.name, ts, time.perf_counter() - started, error
            )
        self._last_eval[group.key] = ts
        if self.sink is not None:
            try:
                self.sink.write(group.key, ts, output)
            except Exception:
                log.exception("writing the output of rule group %r failed", group.name)
        if self.notifier is not None:
            with self._lock:
                to_send = [
                    alert.snapshot(rule, group.name)
                    for rule, alerts in group_alerts.items()
                    for alert in alerts.values()
                    if alert.state is AlertState.FIRING
                    or (alert.state is AlertState.INACTIVE and alert.fired_at_ms is not None)
                ]
            try:
                self.notifier.notify(to_send, ts)
            except Exception:
                log.exception("notifying alerts of group %r failed", group.name)

    def _record(self, rule: RecordingRule, ts: int) -> list[tuple[str, Labels, float]]:
        out: dict[Labels, float] = {}
        for sample_labels, value in self.querier.query(rule.expr, ts):
            labels = {k: v for k, v in sample_labels.items() if k != "__name__"}
            labels.update(rule.labels)
            key = labels_of(labels)
            if key in out:
                raise QueryError(
                    "vector contains metrics with the same labelset after applying rule labels"
                )
            out[key] = value
        return [(rule.record, labels, value) for labels, value in out.items()]

    def _apply(
        self,
        rule: AlertingRule,
        active: dict[str, ActiveAlert],
        results: list[tuple[dict[str, str], float]],
        ts: int,
    ) -> None:
        seen: dict[str, ActiveAlert] = {}
        for sample_labels, value in results:
            data = TemplateData(sample_labels, value, self.external_labels, self.external_url)
            labels = {k: v for k, v in sample_labels.items() if k != "__name__"}
            for name, template in rule.labels:
                labels[name] = template.expand(data)
            labels = {k: v for k, v in labels.items() if v != ""}
            labels["alertname"] = rule.name
            key = labels_of(labels)
            fp = fingerprint(key)
            if fp in seen:
                raise QueryError(
                    "vector contains metrics with the same labelset after applying alert labels"
                )
            annotations = tuple(
                (name, template.expand(data)) for name, template in rule.annotations
            )
            seen[fp] = ActiveAlert(key, annotations, AlertState.PENDING, value, ts)
        for fp, fresh in seen.items():
            current = active.get(fp)
            if current is not None and current.state is not AlertState.INACTIVE:
                current.value = fresh.value
                current.annotations = fresh.annotations
            else:
                active[fp] = fresh
        for fp in list(active):
            alert = active[fp]
            alert.last_eval_ms = ts
            if fp not in seen:
                keep_firing = False
                if alert.state is AlertState.FIRING and rule.keep_firing_for_ms > 0:
                    if alert.keep_firing_since_ms is None:
                        alert.keep_firing_since_ms = ts
                    keep_firing = ts - alert.keep_firing_since_ms < rule.keep_firing_for_ms
                if alert.state is AlertState.PENDING or (
                    alert.resolved_at_ms is not None
                    and ts - alert.resolved_at_ms > RESOLVED_RETENTION_MS
                ):
                    del active[fp]
                if alert.state is not AlertState.INACTIVE and not keep_firing:
                    alert.state = AlertState.INACTIVE
                    alert.resolved_at_ms = ts
                if not keep_firing:
                    continue
            else:
                alert.keep_firing_since_ms = None
            if alert.state is AlertState.PENDING and ts - alert.active_at_ms >= rule.for_ms:
                alert.state = AlertState.FIRING
                alert.fired_at_ms = ts

    # --- reading -----------------------------------------------------------------------------

    def alerts(self, include_inactive: bool = False) -> list[AlertSnapshot]:
        """Pending and firing alerts (and resolved ones still retained, if asked)."""
        names = {g.key: g.name for g in self.groups}
        with self._lock:
            return [
                alert.snapshot(rule, names.get(group_key, group_key))
                for group_key, rules in self._alerts.items()
                for rule, alerts in rules.items()
                for alert in alerts.values()
                if include_inactive or alert.state is not AlertState.INACTIVE
            ]

    def health(self) -> list[RuleHealth]:
        return list(self._health.values())

    def rule_health(self, group: RuleGroup, rule: str) -> RuleHealth | None:
        """The last evaluation of one rule (None before its first)."""
        return self._health.get((group.key, rule))

    def rule_alerts(self, group: RuleGroup, rule: str) -> list[AlertSnapshot]:
        """One alerting rule's pending and firing alerts."""
        with self._lock:
            active = self._alerts.get(group.key, {}).get(rule, {})
            return [
                alert.snapshot(rule, group.name)
                for alert in active.values()
                if alert.state is not AlertState.INACTIVE
            ]

    def last_evaluation_ms(self, group: RuleGroup) -> int | None:
        return self._last_eval.get(group.key)

    def _save(self) -> None:
        if self._state_file is None:
            return
        try:
            with self._lock:
                self._state_file.save(self._alerts, self._last_eval)
        except OSError as exc:
            log.error("saving alert state to %s failed: %s", self._state_file.path, exc)


def _alert_series(alerts: Iterable[ActiveAlert]) -> list[tuple[str, Labels, float]]:
    out: list[tuple[str, Labels, float]] = []
    for alert in alerts:
        if alert.state is AlertState.INACTIVE:
            continue
        out.append(
            ("ALERTS", labels_of({**dict(alert.labels), "alertstate": alert.state.value}), 1.0)
        )
        out.append(("ALERTS_FOR_STATE", alert.labels, math.floor(alert.active_at_ms / 1000)))
    return out


def _last_error(health: RuleHealth | None) -> str | None:
    return health.error if health is not None else None
