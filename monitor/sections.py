"""The config sections that other parts own: section name -> the owner's declaration.

`monitor/config.py` parses what the engine itself needs (`[global]`, `[store]`,
`[[targets]]`, `[collectors]`). Every other section belongs to the part that reads it, and
that part declares it once, as a `SectionSpec`: the keys it takes and the parser that turns
the table into its settings. `monitor/config.py` checks every file's keys against these
declarations when it loads one (a typo fails any command at once), and `cachewatch check`
runs every parser in full (secrets, receivers, routes, rule files, listen addresses).

Owners above `monitor/` (`alerts/`, `ui/`) are named by import path and loaded on first use,
as collectors are: the engine never imports them at module level, and a slim install
without the UI stack can still check a `[web]` section (its parser needs no Dash).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "SECTION_OWNERS",
    "SettingsError",
    "SectionContext",
    "SectionSpec",
    "section_spec",
    "unknown_keys",
    "section_problems",
]

#: section name -> "module:attribute" of the owner's `SectionSpec`
SECTION_OWNERS: dict[str, str] = {
    "web": "ui.web.settings:WEB_SECTION",
    "exporter": "monitor.exporter.settings:EXPORTER_SECTION",
    "alerts": "alerts.service:ALERTS_SECTION",
    "hotkeys": "monitor.hotkeys_settings:HOTKEYS_SECTION",
    "query": "monitor.query.limits:QUERY_SECTION",
    "doctor": "monitor.doctor.settings:DOCTOR_SECTION",
}


class SettingsError(ValueError):
    """Every problem an owner's parser found in its section, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True, slots=True)
class SectionContext:
    """What a parser may need beyond its table: where relative paths start (the config
    file's directory) and the file's name for messages."""

    base_dir: Path
    source: str = "<config>"


@dataclass(frozen=True, slots=True)
class SectionSpec:
    """One section's owner declaration. `parse(table, context)` returns the owner's
    settings or raises a ValueError whose `problems` (or message) says what is wrong.
    `keys` are the keys the section takes; None means "the keys its parser reads", found by
    running the parser over the table (so an owner whose parser is the one place its keys
    are written keeps it that way)."""

    name: str
    parse: Callable[[Mapping[str, Any], SectionContext], object]
    keys: frozenset[str] | None = None


def section_spec(name: str) -> SectionSpec:
    module_name, _, attribute = SECTION_OWNERS[name].partition(":")
    spec = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(spec, SectionSpec) or spec.name != name:
        raise TypeError(f"{SECTION_OWNERS[name]} is not the SectionSpec of [{name}]")
    return spec


class _ReadKeys(dict[str, Any]):
    """A table that remembers which keys were looked at (for parsers that declare their
    keys only by reading them)."""

    def __init__(self, table: Mapping[str, Any]) -> None:
        super().__init__(table)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self.read.update(super().keys())
        return super().__iter__()

    def items(self) -> Any:
        self.read.update(super().keys())
        return super().items()


def problems_of(exc: ValueError) -> list[str]:
    problems = getattr(exc, "problems", None)
    return [str(p) for p in problems] if problems else [str(exc)]


def unknown_keys(name: str, table: Mapping[str, Any], context: SectionContext) -> list[str]:
    """`name.key: unknown key (allowed here: ...)` for every key the owner does not take.
    An owner that declares no key set has its parser run to learn which keys it reads; if
    that parser fails, the keys are left to `section_problems` (which reports the failure),
    so loading a config never runs more of a parser than its keys need."""
    spec = section_spec(name)
    if spec.keys is not None:
        allowed: set[str] = set(spec.keys)
    else:
        recorder = _ReadKeys(table)
        try:
            spec.parse(recorder, context)
        except ValueError:
            return []
        allowed = recorder.read
    hint = ", ".join(sorted(allowed))
    return [
        f"{name}.{key}: unknown key (allowed here: {hint})" for key in table if key not in allowed
    ]


def section_problems(name: str, table: Mapping[str, Any], context: SectionContext) -> list[str]:
    """Everything wrong with one section: unknown keys, then what its parser finds."""
    problems = unknown_keys(name, table, context)
    try:
        section_spec(name).parse(table, context)
    except ValueError as exc:
        problems += problems_of(exc)
    return problems
