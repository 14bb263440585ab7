"""INFO-like sections from a target's current series: each label-free series becomes a
`key: value` line in the section its name belongs to, and info-style series contribute
their labels (version, os, maxmemory policy, ...). Per-command and per-slab series are left
to their own tables."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol

from collectors.info_sections import metric_sections

__all__ = ["info_sections", "SECTION_ORDER"]

_TARGET_LABELS = frozenset({"__name__", "instance", "cluster", "shard", "role", "job"})

SECTION_ORDER = (
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "cluster",
    "config",
    "poller",
    "other",
)

# (substring of the metric name without its prefix, section); first match wins
_RULES: tuple[tuple[str, str], ...] = (
    ("config", "config"),
    ("settings", "config"),
    ("cpu", "cpu"),
    ("cluster", "cluster"),
    ("poll", "poller"),
    ("collector", "poller"),
    ("slave", "replication"),
    ("master", "replication"),
    ("repl", "replication"),
    ("replica", "replication"),
    ("memory", "memory"),
    ("mem_", "memory"),
    ("allocator", "memory"),
    ("bytes", "memory"),
    ("limit", "memory"),
    ("rdb", "persistence"),
    ("aof", "persistence"),
    ("fork", "persistence"),
    ("cow", "persistence"),
    ("loading", "persistence"),
    ("save", "persistence"),
    ("client", "clients"),
    ("connection", "clients"),
    ("uptime", "server"),
    ("process_id", "server"),
    ("hz", "server"),
    ("start_time", "server"),
    ("version", "server"),
    ("io_threads", "server"),
    ("threads", "server"),
    ("time_seconds", "server"),
)


class _Sample(Protocol):
    @property
    def labels(self) -> Mapping[str, str]: ...

    @property
    def value(self) -> float: ...


def _short(name: str) -> str:
    for prefix in (
        "cachewatch_redis_",
        "cachewatch_memcached_",
        "redis_",
        "memcached_",
        "cachewatch_",
    ):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _section(short: str) -> str:
    if short == "up":
        return "poller"
    for needle, section in _RULES:
        if needle in short:
            return section
    return "stats"


def _format(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def info_sections(
    index: Mapping[str, Sequence[_Sample]], target_keys: frozenset[str] = frozenset()
) -> dict[str, list[tuple[str, str]]]:
    """`target_keys`: the target's own label names, which are not part of a sample's identity."""
    identity = target_keys | _TARGET_LABELS
    sections: dict[str, list[tuple[str, str]]] = {}
    for name, samples in index.items():
        short = _short(name)
        if name.endswith("_info") or name == "memcached_version":
            section = "config" if "config" in name or "settings" in name else "server"
            for sample in samples:
                for key, value in sample.labels.items():
                    if key not in identity or (key == "role" and name == "redis_instance_info"):
                        sections.setdefault(section, []).append((key, value))
            continue
        own = [s for s in samples if set(s.labels) <= identity]
        if len(own) != 1:
            continue
        section = metric_sections().get(name) or _section(short)
        sections.setdefault(section, []).append((short, _format(own[0].value)))
    ordered = {}
    for section in SECTION_ORDER:
        if section in sections:
            ordered[section] = sorted(set(sections[section]))
    return ordered
