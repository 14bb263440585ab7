"""The alert engine in Prometheus's `/api/v1/rules` and `/api/v1/alerts` shapes (Prometheus
2.42's `web/api/v1`), so Grafana's alerting views and scripts written against Prometheus read
cachewatch's rules and alerts unchanged. `monitor.http` serves them through `RulesSource`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection
from typing import Any

import numpy as np

from alerts.engine import RuleEngine
from alerts.rules import AlertingRule, RecordingRule, RuleGroup
from alerts.state import AlertSnapshot, AlertState

__all__ = ["EngineRulesSource", "go_scientific", "go_time"]

_ZERO_TIME = "0001-01-01T00:00:00Z"


def go_time(ms: int | None) -> str:
    """A time as Go's `time.Time` marshals to JSON (RFC 3339, UTC)."""
    if ms is None or ms <= 0:
        return _ZERO_TIME
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def go_scientific(value: float) -> str:
    """`strconv.FormatFloat(v, 'e', -1, 64)`, how Prometheus writes an alert's value."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(np.format_float_scientific(value, unique=True, trim="-", exp_digits=2))


def _alert(snapshot: AlertSnapshot) -> dict[str, Any]:
    return {
        "labels": snapshot.label_map,
        "annotations": snapshot.annotation_map,
        "state": snapshot.state.value,
        "activeAt": go_time(snapshot.active_at_ms),
        "value": go_scientific(snapshot.value),
    }


class EngineRulesSource:
    """What `/api/v1/rules` and `/api/v1/alerts` answer, read from a running `RuleEngine`."""

    def __init__(self, engine: RuleEngine) -> None:
        self._engine = engine

    def alerts(self) -> dict[str, Any]:
        active = [
            _alert(a)
            for group in self._engine.groups
            for rule in group.rules
            if isinstance(rule, AlertingRule)
            for a in self._engine.rule_alerts(group, rule.name)
        ]
        return {"alerts": active}

    def rules(
        self,
        kind: str | None,
        rule_names: Collection[str] = (),
        group_names: Collection[str] = (),
        files: Collection[str] = (),
    ) -> dict[str, Any]:
        """`kind` is "alert", "record" or None (both), as Prometheus's `type` parameter."""
        groups = []
        for group in self._engine.groups:
            if (group_names and group.name not in group_names) or (
                files and group.file not in files
            ):
                continue
            rules = [
                self._rule(group, rule)
                for rule in group.rules
                if (not rule_names or rule.name in rule_names)
                and (kind is None or (kind == "alert") == isinstance(rule, AlertingRule))
            ]
            if rules or not (rule_names or kind):
                groups.append(self._group(group, rules))
        return {"groups": groups}

    def _group(self, group: RuleGroup, rules: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "name": group.name,
            "file": group.file,
            "rules": rules,
            "interval": group.interval_ms / 1000,
            "limit": 0,
            "evaluationTime": sum(r["evaluationTime"] for r in rules),
            "lastEvaluation": go_time(self._engine.last_evaluation_ms(group)),
        }

    def _rule(self, group: RuleGroup, rule: AlertingRule | RecordingRule) -> dict[str, Any]:
        health = self._engine.rule_health(group, rule.name)
        evaluated: dict[str, Any] = {
            "health": "unknown" if health is None else "err" if health.error else "ok",
            "evaluationTime": 0.0 if health is None else health.last_duration_s,
            "lastEvaluation": go_time(None if health is None else health.last_eval_ms),
        }
        if health is not None and health.error:
            evaluated["lastError"] = health.error
        if isinstance(rule, RecordingRule):
            out: dict[str, Any] = {"name": rule.record, "query": rule.expr.strip()}
            if rule.labels:
                out["labels"] = dict(rule.labels)
            return {**out, **evaluated, "type": "recording"}
        alerts = self._engine.rule_alerts(group, rule.name)
        states = {a.state for a in alerts}
        state = (
            "firing"
            if AlertState.FIRING in states
            else "pending"
            if AlertState.PENDING in states
            else "inactive"
        )
        return {
            "state": state,
            "name": rule.name,
            "query": rule.expr.strip(),
            "duration": rule.for_ms / 1000,
            "keepFiringFor": rule.keep_firing_for_ms / 1000,
            "labels": {name: template.source for name, template in rule.labels},
            "annotations": {name: template.source for name, template in rule.annotations},
            "alerts": [_alert(a) for a in alerts],
            **evaluated,
            "type": "alerting",
        }
