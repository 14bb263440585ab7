"""What the doctor views show, read from the store like every other screen: the standing
findings (the `cachewatch_finding*` series a running doctor writes, each re-described from
its rule: title, evidence with its PromQL, why, fix), the namespaces of a target (the
`cachewatch_namespace_*` series, with what grew since yesterday) and its clients (the
`cachewatch_clients_*` summary). The TUI, the web and an attached TUI (`--attach`) all read
these, so they agree with `cachewatch doctor`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from monitor.doctor.engine import Querier, condition_for, evidence_of, sort_findings
from monitor.doctor.model import Finding, format_value
from monitor.doctor.rules import RULES
from monitor.doctor.series import EVALUATED, FINDING, FIRST_SEEN, LAST_SEEN
from monitor.durations import format_duration
from monitor.readmodel import queries as q
from monitor.readmodel.reader import ReaderSource
from monitor.readmodel.source import InstantSample

__all__ = [
    "standing_findings",
    "doctor_evaluated_ms",
    "no_findings_text",
    "NamespaceView",
    "namespace_view",
    "ClientsView",
    "clients_view",
    "ServerDoctor",
    "DAY_MS",
]

DAY_MS = 86_400_000
_TTL = ("none", "under_1h", "under_1d", "longer")


def _identity(labels: Mapping[str, str]) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    rule = RULES.get(labels.get("rule", ""))
    if rule is None:
        return None
    names = ("instance", *rule.keys)
    return rule.id, tuple(sorted((k, labels[k]) for k in names if labels.get(k)))


def doctor_evaluated_ms(source: Querier, now_ms: int, instance: str | None = None) -> int | None:
    """When the running doctor last evaluated its rules (None: it has not yet, or it is
    off), so a view with no findings can tell "nothing stands" from "not looked yet"."""
    sel = f"{{{q.selector(instance)}}}" if instance else ""
    times = [s.value for s in source.instant(EVALUATED + sel, now_ms) if math.isfinite(s.value)]
    return int(max(times) * 1000) if times else None


def no_findings_text(source: Querier, now_ms: int, instance: str | None = None) -> str:
    """What a view says when no finding stands: that every rule was checked (and how long
    ago), or that the doctor has not evaluated yet, which is not the same news."""
    at = doctor_evaluated_ms(source, now_ms, instance)
    if at is None and isinstance(source, ReaderSource):
        return (
            f"No doctor findings in {source.upstream.describe}: the doctor runs in a process "
            "that polls (its findings ride on the polls), and `cachewatch export` shards do "
            "not run it, so this reader node has none to show."
        )
    if at is None:
        return (
            "The doctor has not evaluated its rules yet: its first look comes a few seconds "
            "after start, then every [doctor] interval (30 s by default)."
        )
    where = "on this target" if instance else ""
    ago = format_duration(max(0.0, (now_ms - at) / 1000))
    return f"No finding stands{' ' + where if where else ''}: every rule was checked {ago} ago."


def standing_findings(source: Querier, now_ms: int, instance: str | None = None) -> list[Finding]:
    """The findings a running doctor reports now (on `instance` only, if given)."""
    sel = f"{{{q.selector(instance)}}}" if instance else ""
    first = {_identity(s.labels): s.value for s in source.instant(FIRST_SEEN + sel, now_ms)}
    last = {_identity(s.labels): s.value for s in source.instant(LAST_SEEN + sel, now_ms)}
    out = []
    for sample in source.instant(FINDING + sel, now_ms):
        key = _identity(sample.labels)
        if key is None:
            continue
        rule = RULES[key[0]]
        labels = dict(key[1])
        target = labels["instance"]
        now = _condition(source, rule.id, target, labels, now_ms)
        value = now.value if now is not None else math.nan
        context = {**(now.labels if now is not None else {}), **labels}
        out.append(
            Finding(
                rule=rule.id,
                severity=rule.severity,
                instance=target,
                labels=labels,
                title=_title(rule.title, context, format_value(value, rule.unit)),
                why=rule.why,
                fix=rule.fix,
                value=value,
                condition=condition_for(rule, target),
                evidence=evidence_of(source, rule, target, now_ms),
                first_seen_ms=int(first.get(key, 0) * 1000),
                last_seen_ms=int(last.get(key, 0) * 1000),
                detail=(rule.check(context) or "") if rule.check is not None else "",
                see_also=rule.see_also,
            )
        )
    return sort_findings(out)


def _condition(
    source: Querier, rule_id: str, instance: str, labels: Mapping[str, str], now_ms: int
) -> InstantSample | None:
    rule = RULES[rule_id]
    for sample in source.instant(condition_for(rule, instance), now_ms):
        if all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample
    return None


class _Context(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def _title(template: str, labels: Mapping[str, str], value: str) -> str:
    context = _Context(labels)
    context["value"] = value
    return template.format_map(context)


# -- namespaces ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NamespaceRowView:
    pattern: str
    keys: float
    memory_bytes: float | None
    ttl_keys: tuple[float | None, float | None, float | None, float | None]
    largest_key_bytes: float | None
    #: memory now less memory a day ago (None: no history that old)
    grew_bytes: float | None


@dataclass(frozen=True, slots=True)
class NamespaceView:
    instance: str
    rows: tuple[NamespaceRowView, ...]  # by memory, largest first
    progress: float | None  # of the sampler's current pass
    passes: float | None


def _by_pattern(source: Querier, expr: str, at_ms: int) -> dict[str, float]:
    return {
        s.labels.get("pattern", ""): s.value
        for s in source.instant(expr, at_ms)
        if math.isfinite(s.value)
    }


def _by_two(source: Querier, expr: str, at_ms: int) -> dict[tuple[str, str], float]:
    return {
        (s.labels.get("pattern", ""), s.labels.get("ttl", "")): s.value
        for s in source.instant(expr, at_ms)
    }


def _one(source: Querier, expr: str, at_ms: int) -> float | None:
    samples = source.instant(expr, at_ms)
    return samples[0].value if samples else None


def namespace_view(source: Querier, instance: str, now_ms: int) -> NamespaceView:
    sel = q.selector(instance)
    keys = _by_pattern(source, f"cachewatch_namespace_keys{{{sel}}}", now_ms)
    memory = _by_pattern(source, f"cachewatch_namespace_memory_bytes{{{sel}}}", now_ms)
    largest = _by_pattern(source, f"cachewatch_namespace_largest_key_bytes{{{sel}}}", now_ms)
    ttl = _by_two(source, f"cachewatch_namespace_keys_by_ttl{{{sel}}}", now_ms)
    day_ago = _by_pattern(source, f"cachewatch_namespace_memory_bytes{{{sel}}}", now_ms - DAY_MS)
    rows = [
        NamespaceRowView(
            pattern=pattern,
            keys=count,
            memory_bytes=memory.get(pattern),
            ttl_keys=(
                ttl.get((pattern, _TTL[0])),
                ttl.get((pattern, _TTL[1])),
                ttl.get((pattern, _TTL[2])),
                ttl.get((pattern, _TTL[3])),
            ),
            largest_key_bytes=largest.get(pattern),
            grew_bytes=(
                memory[pattern] - day_ago[pattern]
                if pattern in memory and pattern in day_ago
                else None
            ),
        )
        for pattern, count in keys.items()
    ]
    rows.sort(key=lambda r: (r.pattern == "other", -(r.memory_bytes or 0.0), r.pattern))
    return NamespaceView(
        instance=instance,
        rows=tuple(rows),
        progress=_one(source, f"cachewatch_namespace_scan_progress{{{sel}}}", now_ms),
        passes=_one(source, f"cachewatch_namespace_passes{{{sel}}}", now_ms),
    )


# -- clients -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientsView:
    instance: str
    listed: float | None
    idle: float | None
    blocked: float | None
    pubsub: float | None
    by_name: tuple[tuple[str, float], ...]
    by_address: tuple[tuple[str, float], ...]
    by_user: tuple[tuple[str, float], ...]
    idle_by_name: tuple[tuple[str, float], ...]
    #: class -> (all clients' output buffers, the largest one), bytes
    buffers: tuple[tuple[str, float, float], ...]


def _ranked(source: Querier, expr: str, label: str, at_ms: int) -> tuple[tuple[str, float], ...]:
    found = [(s.labels.get(label, ""), s.value) for s in source.instant(expr, at_ms)]
    return tuple(sorted(found, key=lambda item: (item[0] == "other", -item[1], item[0])))


def clients_view(source: Querier, instance: str, now_ms: int) -> ClientsView:
    sel = q.selector(instance)
    total = {
        s.labels.get("class", ""): s.value
        for s in source.instant(f"cachewatch_clients_output_buffer_bytes{{{sel}}}", now_ms)
    }
    largest = {
        s.labels.get("class", ""): s.value
        for s in source.instant(f"cachewatch_clients_output_buffer_max_bytes{{{sel}}}", now_ms)
    }
    return ClientsView(
        instance=instance,
        listed=_one(source, f"cachewatch_clients_listed{{{sel}}}", now_ms),
        idle=_one(source, f"cachewatch_clients_idle{{{sel}}}", now_ms),
        blocked=_one(source, f"cachewatch_clients_blocked{{{sel}}}", now_ms),
        pubsub=_one(source, f"cachewatch_clients_pubsub{{{sel}}}", now_ms),
        by_name=_ranked(source, f"cachewatch_clients_by_name{{{sel}}}", "client_name", now_ms),
        by_address=_ranked(source, f"cachewatch_clients_by_address{{{sel}}}", "address", now_ms),
        by_user=_ranked(source, f"cachewatch_clients_by_user{{{sel}}}", "user", now_ms),
        idle_by_name=_ranked(
            source, f"cachewatch_clients_idle_by_name{{{sel}}}", "client_name", now_ms
        ),
        buffers=tuple(
            (klass, total.get(klass, 0.0), largest.get(klass, 0.0)) for klass in sorted(total)
        ),
    )


class ServerDoctor(Protocol):
    """A source that can ask a server for its own LATENCY DOCTOR and MEMORY DOCTOR text,
    on demand (a local engine can; an attached one cannot)."""

    def server_doctor(self, instance: str) -> dict[str, str]: ...
