"""memcached hot keys from `watch fetchers mutations` bursts, and recency from metadump.

The streaming itself is `collectors/memcached_conn.py`'s (bounded by its duration, the
connection closed afterwards); this module folds the lines into a Space-Saving summary.

A `set` first logs an `item_get` of the same key on the same client connection (the store
looks the old item up); that lookup is folded into the write, so reads and writes stay
apart. Other mutations (incr, delete, touch) log only their lookup and count as reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from collectors.hotkeys.report import RecentKey
from collectors.hotkeys.topk import SpaceSaving
from collectors.memcached_conn import MemcachedConnection, parse_watch_line
from monitor.targets import Target

__all__ = ["WatchBurst", "fold_watch_lines", "run_watch_burst", "read_recent"]


@dataclass(frozen=True, slots=True)
class WatchBurst:
    duration_s: float
    events: int


def fold_watch_lines(
    lines: Iterable[bytes],
    summary: SpaceSaving[str],
    on_key: Callable[[str], None] | None = None,
) -> int:
    """Add `watch` log lines to `summary` (reads and writes apart), each key also to
    `on_key` (patterns); returns the events."""
    events = 0
    pending: tuple[str, str] | None = None  # (key, client fd) of an unpaired item_get
    for line in lines:
        fields = parse_watch_line(line)
        key, kind = fields.get("key"), fields.get("type")
        if key is None or kind is None:
            continue
        events += 1
        if on_key is not None and not (
            kind != "item_get" and pending == (key, fields.get("cfd", ""))
        ):
            on_key(key)
        client = fields.get("cfd", "")
        if kind == "item_get":
            if pending is not None:
                summary.add(pending[0], write=False)
            pending = (key, client)
            continue
        if pending is not None and pending != (key, client):
            summary.add(pending[0], write=False)
        pending = None
        summary.add(key, write=True)
    if pending is not None:
        summary.add(pending[0], write=False)
    return events


async def run_watch_burst(
    target: Target,
    duration_s: float,
    summary: SpaceSaving[str],
    on_key: Callable[[str], None] | None = None,
) -> WatchBurst:
    """One `watch fetchers mutations` burst of at most `duration_s`, folded into `summary`."""
    conn = await MemcachedConnection.open(target)
    started = time.monotonic()
    lines = [line async for line in conn.watch("fetchers", "mutations", duration_s=duration_s)]
    elapsed = min(duration_s, time.monotonic() - started)
    return WatchBurst(elapsed, fold_watch_lines(lines, summary, on_key))


async def read_recent(target: Target, max_items: int) -> list[RecentKey]:
    """Up to `max_items` items of `lru_crawler metadump all`, most recently used first."""
    conn = await MemcachedConnection.open(target)
    now = time.time()
    try:
        items = [
            RecentKey(entry.key, max(0.0, now - entry.last_access), entry.size, target.instance)
            async for entry in conn.metadump(max_items)
        ]
    finally:
        await conn.close()
    items.sort(key=lambda item: item.idle_s)
    return items
