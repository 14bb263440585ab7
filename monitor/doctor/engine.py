"""Evaluate the rules over a store at one instant: findings with their evidence.

The engine only reads PromQL through `Querier` (a `monitor.readmodel.DataSource`, or the
store's query engine through `EngineQuerier`), so the CLI, the continuous runner and the
views all diagnose from the same numbers. A rule whose query fails is skipped with one log
line and the others carry on; nothing here talks to a server.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from monitor.doctor.model import Evidence, EvidenceValue, Finding, Rule, format_value
from monitor.doctor.rules import RULES
from monitor.readmodel import definitions as d
from monitor.readmodel import queries as q
from monitor.readmodel.source import InstantSample

__all__ = ["Querier", "EngineQuerier", "evaluate", "evidence_of", "condition_for", "instances_of"]

log = logging.getLogger("cachewatch.doctor")
_failed: set[str] = set()


class Querier(Protocol):
    def instant(self, expr: str, at_ms: int) -> list[InstantSample]: ...


class EngineQuerier:
    """`monitor.query.Engine` as a `Querier`."""

    def __init__(self, engine: object) -> None:
        self._engine = engine

    def instant(self, expr: str, at_ms: int) -> list[InstantSample]:
        result = self._engine.instant(expr, at_ms)  # type: ignore[attr-defined]
        return [InstantSample(dict(labels), value) for labels, value in result.samples]


def fill(template: str, matchers: str) -> str:
    """A rule's template with its `$sel` hole filled (`""`: every target)."""
    return d.render(template, "instance", matchers)


def condition_for(rule: Rule, instance: str | None = None) -> str:
    return fill(rule.condition, q.selector(instance) if instance else "")


def _scope(instances: Iterable[str] | None) -> str:
    if instances is None:
        return ""
    names = sorted(set(instances))
    return 'instance=~"' + "|".join(_regex_escape(n) for n in names) + '"' if names else ""


def _regex_escape(text: str) -> str:
    out = []
    for char in text:
        if char in ".^$*+?()[]{}|\\":
            out.append("\\\\" + char)
        elif char == '"':
            out.append('\\"')
        else:
            out.append(char)
    return "".join(out)


def _describe(samples: Sequence[InstantSample], evidence: Evidence) -> str:
    if evidence.label is not None:
        names = evidence.label.split("|")
        shown = {next((s.labels[n] for n in names if s.labels.get(n)), "") for s in samples}
        return ", ".join(sorted(shown - {""}))
    parts = []
    for sample in sorted(samples, key=lambda s: sorted(s.labels.items())):
        extra = sorted(
            (k, v) for k, v in sample.labels.items() if k not in ("instance", "__name__")
        )
        text = format_value(sample.value, evidence.unit)
        if len(samples) > 1 and extra:
            name = extra[0][1] if len(extra) == 1 else ", ".join(f"{k} {v}" for k, v in extra)
            text = f"{name}: {text}"
        parts.append(text)
    return "; ".join(parts)


def evidence_of(
    querier: Querier, rule: Rule, instance: str, at_ms: int
) -> tuple[EvidenceValue, ...]:
    """The rule's evidence for one target, each with the query that produced it."""
    out = []
    for evidence in rule.evidence:
        query = fill(evidence.expr, q.selector(instance))
        try:
            samples = querier.instant(query, at_ms)
        except Exception as exc:
            _once(f"{rule.id} evidence {evidence.name}", exc)
            samples = []
        out.append(
            EvidenceValue(
                evidence.name,
                query,
                tuple((dict(s.labels), s.value) for s in samples),
                _describe(samples, evidence),
            )
        )
    return tuple(out)


def _once(what: str, exc: Exception) -> None:
    if what not in _failed:
        _failed.add(what)
        log.warning("doctor: %s failed and is skipped: %s", what, exc)


class _Labels(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def _title(rule: Rule, labels: Mapping[str, str], value: float) -> str:
    context = _Labels(labels)
    context["value"] = format_value(value, rule.unit)
    return rule.title.format_map(context)


def instances_of(querier: Querier, at_ms: int, kind: str) -> set[str]:
    metric = "redis_up" if kind == "redis" else "memcached_up"
    return {s.labels.get("instance", "") for s in querier.instant(metric, at_ms)}


def evaluate(
    querier: Querier,
    at_ms: int,
    rules: Iterable[Rule] | None = None,
    instances: Iterable[str] | None = None,
) -> list[Finding]:
    """The findings that hold at `at_ms`, most severe first (first/last seen: `at_ms`;
    `FindingTracker` keeps them across evaluations). `instances` narrows to some targets."""
    scope = _scope(instances)
    try:
        sentinels = {
            s.labels.get("instance", "")
            for s in querier.instant('redis_instance_info{redis_mode="sentinel"}', at_ms)
        }
    except Exception as exc:
        _once("finding Sentinels", exc)
        sentinels = set()
    found: dict[tuple[str, tuple[tuple[str, str], ...]], Finding] = {}
    for rule in RULES.values() if rules is None else rules:
        try:
            samples = querier.instant(fill(rule.condition, scope), at_ms)
        except Exception as exc:
            _once(f"rule {rule.id}", exc)
            continue
        for sample in samples:
            instance = sample.labels.get("instance", "")
            if not instance or instance in sentinels or math.isnan(sample.value):
                continue
            detail = ""
            if rule.check is not None:
                checked = rule.check(sample.labels)
                if checked is None:
                    continue
                detail = checked
            labels = {"instance": instance}
            labels.update({k: sample.labels[k] for k in rule.keys if sample.labels.get(k)})
            finding = Finding(
                rule=rule.id,
                severity=rule.severity,
                instance=instance,
                labels=labels,
                title=_title(rule, sample.labels, sample.value),
                why=rule.why,
                fix=rule.fix,
                value=sample.value,
                condition=condition_for(rule, instance),
                evidence=evidence_of(querier, rule, instance, at_ms),
                first_seen_ms=at_ms,
                last_seen_ms=at_ms,
                detail=detail,
                see_also=rule.see_also,
            )
            found.setdefault(finding.key, finding)
    return sort_findings(found.values())


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.severity.rank, f.instance, f.rule, f.key))


def by_instance(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        grouped[finding.instance].append(finding)
    return dict(grouped)
