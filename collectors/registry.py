"""Find collector plugins: built-in and third-party alike, through entry points.

Every collector, including cachewatch's own, is registered under the entry-point group
`cachewatch.collectors` (see `pyproject.toml`), so a third-party package adds one with

    [project.entry-points."cachewatch.collectors"]
    my_collector = "my_package.module:MyCollector"

A plugin that fails to import or does not look like a collector is skipped with one log
line naming it; it never stops the others.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterable

from collectors.base import Collector, Tier
from monitor.targets import TargetKind

__all__ = ["ENTRY_POINT_GROUP", "load_collector_classes", "collectors_for", "collector_options"]

ENTRY_POINT_GROUP = "cachewatch.collectors"
log = logging.getLogger("cachewatch.collectors")


def _looks_like_collector(obj: object) -> bool:
    return (
        isinstance(getattr(obj, "name", None), str)
        and isinstance(getattr(obj, "kinds", None), frozenset)
        and isinstance(getattr(obj, "tier", None), Tier)
        and callable(getattr(obj, "collect", None))
    )


def load_collector_classes(disabled: Iterable[str] = ()) -> list[type[Collector]]:
    """All registered collector classes, minus the disabled ones, in a stable order."""
    skip = set(disabled)
    found: dict[str, type[Collector]] = {}
    for entry in sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
    ):
        if entry.name in skip:
            continue
        try:
            obj = entry.load()
        except Exception as exc:
            log.error("collector plugin %r (%s) failed to load: %s", entry.name, entry.value, exc)
            continue
        if not _looks_like_collector(obj):
            log.error(
                "collector plugin %r (%s) is not a collector: it needs name, kinds, tier "
                "and an async collect()",
                entry.name,
                entry.value,
            )
            continue
        if obj.name in skip:
            continue
        found.setdefault(obj.name, obj)
    return list(found.values())


def collectors_for(kind: TargetKind, classes: Iterable[type[Collector]]) -> list[type[Collector]]:
    return [cls for cls in classes if kind in cls.kinds]


def collector_options(classes: Iterable[type[Collector]]) -> dict[str, str]:
    """`[collectors]` key -> the collector that reads it, from each class's optional
    `options` declaration (a frozenset of key names)."""
    return {
        key: cls.name for cls in classes for key in sorted(getattr(cls, "options", frozenset()))
    }
