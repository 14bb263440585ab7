"""Helpers shared by the memcached collectors: strict number parsing, per-slab keys, emitting.

`fetch_stats` is how collectors ask, so a refused `stats` group turns off only that
collector. Policy for bad fields, the same in every memcached parser: a value that is not a plain
number (or a known word like `yes`) is skipped, never guessed at and never raised; the
rest of the reply is still used. Unknown keys are ignored, so newer servers work too.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from typing import ClassVar

from collectors.base import CollectContext, Tier, Unsupported
from collectors.memcached_conn import ErrorReply, MemcachedConnection
from monitor.model import Labels, MetricType, SampleBatch
from monitor.targets import TargetKind

__all__ = [
    "StatsGroupCollector",
    "Catalog",
    "parse_number",
    "parse_flag",
    "sum_numbers",
    "split_numbered_key",
    "emit",
    "emit_slab_fields",
    "SlabRoutes",
    "group_by_number",
]

Catalog = dict[str, tuple[MetricType, str]]

# Stricter than float(): no "nan", "inf", "1_000" or surrounding blanks from a garbled reply.
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_FLAGS = {"yes": 1.0, "no": 0.0, "on": 1.0, "off": 0.0, "true": 1.0, "false": 0.0}


def parse_number(text: str) -> float | None:
    """An integer or decimal as memcached prints them (`rusage_user 0.018988`), else None
    (also for digit strings too long to be a finite float)."""
    if _NUMBER.fullmatch(text) is None:
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_flag(text: str) -> float | None:
    """`yes`/`no` (and `on`/`off`, `true`/`false`) as 1/0, else a number, else None."""
    flag = _FLAGS.get(text)
    return flag if flag is not None else parse_number(text)


def sum_numbers(fields: dict[str, str], keys: Iterable[str]) -> float | None:
    """The sum of the named numeric fields; None if any is missing or not a number."""
    total = 0.0
    for key in keys:
        value = parse_number(fields.get(key, ""))
        if value is None:
            return None
        total += value
    return total


def split_numbered_key(key: str) -> tuple[str, str] | None:
    """`1:chunk_size` (stats slabs) or `items:1:number` (stats items) -> ("1", "chunk_size");
    None for keys that are not per slab class (`active_slabs`) or whose class is not a number."""
    parts = key.split(":")
    if len(parts) == 3 and parts[0] == "items":
        parts = parts[1:]
    if len(parts) != 2 or not parts[0].isdigit() or not parts[1]:
        return None
    return parts[0], parts[1]


def group_by_number(
    pairs: Iterable[tuple[str, str]],
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Group a per-slab reply into {slab: {field: value}} plus the fields not per slab."""
    slabs: dict[str, dict[str, str]] = {}
    totals: dict[str, str] = {}
    for key, value in pairs:
        split = split_numbered_key(key)
        if split is None:
            totals[key] = value
        else:
            slabs.setdefault(split[0], {})[split[1]] = value
    return slabs, totals


#: per-slab field -> (metric, labels besides `slab`)
SlabRoutes = dict[str, tuple[str, Labels]]


def emit_slab_fields(
    out: SampleBatch, catalog: Catalog, routes: SlabRoutes, slab: str, fields: dict[str, str]
) -> None:
    """Emit every numeric field of one slab class that `routes` names, labelled with the slab;
    other fields, and values that are not numbers, are skipped."""
    for field, text in fields.items():
        route = routes.get(field)
        if route is None:
            continue
        value = parse_number(text)
        if value is not None:
            metric, extra = route
            emit(out, catalog, metric, value, _with_slab(extra, slab))


@functools.lru_cache(maxsize=4096)  # bounded: a garbled reply may carry any slab number
def _with_slab(extra: Labels, slab: str) -> Labels:
    return tuple(sorted((*extra, ("slab", slab))))


def emit(out: SampleBatch, catalog: Catalog, name: str, value: float, labels: Labels = ()) -> None:
    """Add one sample and, the first time a batch sees the name, its type and help."""
    out.add(name, value, labels)
    if name not in out.metadata:
        out.metadata[name] = catalog[name]


async def fetch_stats(conn: MemcachedConnection, arg: str = "") -> list[tuple[str, str]]:
    """`stats <arg>`, where a server that does not know the group (a proxy, a managed service,
    an old version: it answers `ERROR` or `CLIENT_ERROR`) switches the collector off with
    `Unsupported`. `SERVER_ERROR` may be passing (out of memory) and is raised as it is."""
    try:
        return await conn.stats(arg)
    except ErrorReply as exc:
        if exc.kind == "SERVER_ERROR":
            raise
        raise Unsupported(str(exc)) from None


class StatsGroupCollector:
    """Base of the memcached collectors: one `stats <group>` round trip, turned into samples
    by the pure function `parse`, so parsing is tested without a server."""

    name: ClassVar[str]
    kinds: ClassVar[frozenset[TargetKind]] = frozenset({TargetKind.MEMCACHED})
    tier: ClassVar[Tier]
    metrics: ClassVar[Catalog]
    #: the `stats` argument ("" for plain `stats`)
    group: ClassVar[str]
    parse: ClassVar[staticmethod[[Iterable[tuple[str, str]], SampleBatch], None]]

    async def collect(
        self, conn: MemcachedConnection, ctx: CollectContext, out: SampleBatch
    ) -> None:
        type(self).parse(await fetch_stats(conn, self.group), out)
