"""What a diagnosis rule is and what it finds.

A `Rule` is a PromQL condition over the store: every sample it returns is one finding, on
the target its `instance` label names (plus the labels in `keys` that tell two findings of
one target apart: a slab class, a replica). Its `evidence` are further PromQL expressions,
evaluated for that target, whose values and text the finding shows (and links to Explore);
`title` and `fix` are written with the finding's labels and values. Expressions are
templates with the holes of `monitor.readmodel.definitions.render`: `$sel` (the target's
matchers), `$by` and `$w`, so a rule reuses the read model's definitions as they are.

The fix is text for a person: a config line or a command to run. cachewatch never runs it.
"""

from __future__ import annotations

import enum
import math
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Severity",
    "Unit",
    "Evidence",
    "Rule",
    "EvidenceValue",
    "Finding",
    "explore_path",
    "format_value",
]


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


class Unit(enum.StrEnum):
    NUMBER = "number"
    BYTES = "bytes"
    RATIO = "ratio"
    SECONDS = "seconds"
    PER_SECOND = "per_second"
    FLAG = "flag"  # an info-style 1: the labels say it


def format_value(value: float, unit: Unit) -> str:
    """A value as a person reads it: `1.5 GiB`, `92 %`, `4.2 h`, `12/s`."""
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞"
    if unit is Unit.BYTES:
        size = abs(value)
        for suffix in ("B", "KiB", "MiB", "GiB", "TiB"):
            if size < 1024 or suffix == "TiB":
                return f"{math.copysign(size, value):.3g} {suffix}"
            size /= 1024
    if unit is Unit.RATIO:
        return f"{value * 100:.3g} %"
    if unit is Unit.SECONDS:
        for limit, divisor, suffix in ((1, 1e-3, "ms"), (120, 1, "s"), (7200, 60, "min")):
            if abs(value) < limit:
                return f"{value / divisor:.3g} {suffix}"
        return f"{value / 3600:.3g} h" if abs(value) < 172800 else f"{value / 86400:.3g} d"
    if unit is Unit.PER_SECOND:
        return f"{value:.3g}/s"
    if unit is Unit.FLAG:
        return "yes" if value else "no"
    return f"{value:.6g}"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One number a finding shows: `name` for people, `expr` a template (`$sel` is the
    finding's target)."""

    name: str
    expr: str
    unit: Unit = Unit.NUMBER
    #: show this label's value instead of the number (info-style facts: a version, a
    #: policy); `a|b`: the first of the labels a sample has
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str  # the target kind it reads: "redis" (Redis and Valkey) or "memcached"
    severity: Severity
    #: `str.format` text with the finding's labels, `{value}` (the condition's value, in
    #: `unit`) and `{instance}`
    title: str
    #: PromQL template; each returned sample is a finding (its labels: `instance` + `keys`)
    condition: str
    why: str
    fix: str
    unit: Unit = Unit.NUMBER
    evidence: tuple[Evidence, ...] = ()
    #: labels besides `instance` that make two findings of one target different
    keys: tuple[str, ...] = ()
    #: a last word that PromQL cannot say (a version against a table of known defects):
    #: given the sample's labels, the text it adds to the finding, or None to drop it
    check: Callable[[Mapping[str, str]], str | None] | None = None
    #: the setting or facts a person can look up (docs, release notes)
    see_also: str = ""


@dataclass(frozen=True, slots=True)
class EvidenceValue:
    name: str
    query: str  # the PromQL that produced the values, for the target
    values: tuple[tuple[Mapping[str, str], float], ...]
    text: str  # the values as a person reads them ("" when the query returned nothing)

    @property
    def explore(self) -> str:
        return explore_path(self.query)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "query": self.query,
            "text": self.text,
            "values": [
                {"labels": dict(labels), "value": value if math.isfinite(value) else None}
                for labels, value in self.values
            ],
            "explore": self.explore,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    instance: str
    #: `instance` and the rule's `keys`: what tells this finding apart
    labels: Mapping[str, str]
    title: str
    why: str
    fix: str
    value: float
    condition: str  # the rule's condition for this target
    evidence: tuple[EvidenceValue, ...] = ()
    first_seen_ms: int = 0
    last_seen_ms: int = 0
    detail: str = ""  # what a rule's `check` added
    see_also: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return self.rule, tuple(sorted(self.labels.items()))

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "instance": self.instance,
            "labels": dict(self.labels),
            "title": self.title,
            "detail": self.detail,
            "why": self.why,
            "fix": self.fix,
            "value": self.value if math.isfinite(self.value) else None,
            "condition": self.condition,
            "explore": explore_path(self.condition),
            "evidence": [e.as_json() for e in self.evidence],
            "first_seen": self.first_seen_ms / 1000,
            "last_seen": self.last_seen_ms / 1000,
            "see_also": self.see_also,
        }


def explore_path(query: str) -> str:
    """The web UI's Explore page with `query` filled in (a path: the host is the user's)."""
    return "/explore?" + urllib.parse.urlencode({"q": query})
