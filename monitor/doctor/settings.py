"""The `[doctor]` config section: continuous diagnosis and the namespace sampler.

| key | default | what |
| --- | --- | --- |
| `enabled` | true | evaluate the rules continuously in `serve`/`tui` |
| `interval` | "30s" | how often |
| `namespaces` | true | run the namespace sampler (SCAN + MEMORY USAGE + TTL) |
| `namespaces_top` | 20 | patterns with series of their own (the rest: `other`) |
| `namespaces_samples` | 256 | keys per pattern per pass whose memory and TTL are read |
| `namespaces_scan_count` | 500 | SCAN's COUNT |
| `namespaces_share` | 0.01 | commands/s as a share of the application's commands/s ... |
| `namespaces_floor` | 20 | ... at least this many (also on an idle server) ... |
| `namespaces_budget` | 200 | ... and at most this many |
| `namespaces_every` | "5m" | a pass starts at most this often (start to start) |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collectors.namespaces import NamespaceOptions
from monitor.durations import parse_duration
from monitor.hotkeys_budget import BudgetPolicy
from monitor.sections import SectionContext, SectionSpec, SettingsError

__all__ = ["DoctorSettings", "parse_doctor_settings", "DOCTOR_SECTION", "DEFAULT_BUDGET"]

#: the namespace sampler's budget: a share of the server's own traffic, with a floor that
#: holds on an idle server too (its namespaces are worth knowing) and a ceiling
DEFAULT_BUDGET = BudgetPolicy(share=0.01, floor_per_s=20.0, ceiling_per_s=200.0)


@dataclass(frozen=True, slots=True)
class DoctorSettings:
    enabled: bool = True
    interval_s: float = 30.0
    namespaces: bool = True
    namespace_options: NamespaceOptions = field(default_factory=NamespaceOptions)
    budget: BudgetPolicy = DEFAULT_BUDGET


def parse_doctor_settings(table: Mapping[str, Any]) -> DoctorSettings:
    problems: list[str] = []

    def get(key: str, default: Any, kind: type, check: Any = None) -> Any:
        value = table.get(key, default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            problems.append(f"doctor.{key}: must be {kind.__name__}, got {value!r}")
            return default
        if check is not None and not check(value):
            problems.append(f"doctor.{key}: {value!r} is out of range")
            return default
        return value

    def duration(key: str, default: str) -> float:
        text = table.get(key, default)
        try:
            seconds = parse_duration(str(text))
        except ValueError as exc:
            problems.append(f"doctor.{key}: {exc}")
            return parse_duration(default)
        if seconds <= 0:
            problems.append(f"doctor.{key}: must be positive")
            return parse_duration(default)
        return seconds

    positive = lambda v: v > 0  # noqa: E731
    settings = DoctorSettings(
        enabled=get("enabled", True, bool),
        interval_s=duration("interval", "30s"),
        namespaces=get("namespaces", True, bool),
        namespace_options=NamespaceOptions(
            top=get("namespaces_top", 20, int, positive),
            samples=get("namespaces_samples", 256, int, positive),
            scan_count=get("namespaces_scan_count", 500, int, positive),
            every_s=duration("namespaces_every", "5m"),
        ),
        budget=BudgetPolicy(
            share=get("namespaces_share", DEFAULT_BUDGET.share, float, lambda v: 0 <= v <= 1),
            floor_per_s=get("namespaces_floor", DEFAULT_BUDGET.floor_per_s, float, positive),
            ceiling_per_s=get("namespaces_budget", DEFAULT_BUDGET.ceiling_per_s, float, positive),
        ),
    )
    if settings.budget.floor_per_s > settings.budget.ceiling_per_s:
        problems.append("doctor.namespaces_floor: must not exceed namespaces_budget")
    if problems:
        raise SettingsError(problems)
    return settings


def _parse_section(table: Mapping[str, Any], context: SectionContext) -> object:
    return parse_doctor_settings(table)


DOCTOR_SECTION = SectionSpec(
    "doctor",
    _parse_section,
    keys=frozenset(
        {
            "enabled",
            "interval",
            "namespaces",
            "namespaces_top",
            "namespaces_samples",
            "namespaces_scan_count",
            "namespaces_share",
            "namespaces_floor",
            "namespaces_budget",
            "namespaces_every",
        }
    ),
)
