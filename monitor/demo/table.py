"""The demo's plain live table (until a UI is asked for): one row per target, refreshed
every second from the engine's latest polls."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

from monitor.poller import TargetStatus
from monitor.runtime import Runtime

__all__ = ["run_live_table"]

_COUNTERS = {
    "redis": (
        "redis_commands_processed_total",
        "redis_evicted_keys_total",
        "redis_keyspace_hits_total",
        "redis_keyspace_misses_total",
    ),
    "memcached": (
        "memcached_commands_total",
        "memcached_items_evicted_total",
        "memcached_commands_total",
        "memcached_commands_total",
    ),
}


def _values(status: TargetStatus) -> dict[str, float]:
    batch = status.last_batch
    if batch is None:
        return {}
    out: dict[str, float] = {}
    for name, labels, value in zip(batch.names, batch.labels, batch.values, strict=True):
        if name == "memcached_commands_total":
            label_map = dict(labels)
            key = f"mc_{label_map.get('command')}_{label_map.get('status')}"
            out[key] = value
            out[name] = out.get(name, 0.0) + value
        elif not labels:
            out[name] = value
    return out


def _render(runtime: Runtime, previous: dict[str, tuple[float, dict[str, float]]]) -> Table:
    table = Table(title="cachewatch demo — Ctrl-C stops everything", expand=True)
    for column in (
        "target",
        "kind",
        "role",
        "status",
        "ops/s",
        "hit %",
        "used mem",
        "evicted/s",
        "clients",
    ):
        table.add_column(
            column,
            justify="right" if column not in ("target", "kind", "role", "status") else "left",
        )
    for status in sorted(runtime.statuses(), key=lambda s: (s.target.kind, s.target.instance)):
        target = status.target
        kind = target.kind.value
        values = _values(status)
        now = status.last_poll_ms / 1000
        before = previous.get(target.instance)
        previous[target.instance] = (now, values)
        ops = evicted = hit = float("nan")
        ops_name, evict_name, hits_name, misses_name = _COUNTERS[kind]
        if before is not None and now > before[0]:
            span = now - before[0]
            ops = (values.get(ops_name, 0) - before[1].get(ops_name, 0)) / span
            evicted = (values.get(evict_name, 0) - before[1].get(evict_name, 0)) / span
        if kind == "redis":
            hits, misses = values.get(hits_name, 0), values.get(misses_name, 0)
        else:
            hits, misses = values.get("mc_get_hit", 0), values.get("mc_get_miss", 0)
        if hits + misses:
            hit = 100 * hits / (hits + misses)
        used = values.get("redis_memory_used_bytes", values.get("memcached_current_bytes", 0))
        clients = values.get(
            "redis_connected_clients", values.get("memcached_current_connections", 0)
        )
        state = {None: "[yellow]starting", True: "up", False: "[red]DOWN"}[status.up]
        table.add_row(
            target.instance,
            kind,
            dict(target.labels).get("role", "-"),
            state,
            "-" if ops != ops else f"{max(ops, 0):,.0f}",
            "-" if hit != hit else f"{hit:.1f}",
            f"{used / 2**20:,.1f} MiB",
            "-" if evicted != evicted else f"{max(evicted, 0):,.1f}",
            f"{clients:,.0f}",
        )
    return table


def run_live_table(runtime: Runtime, refresh_s: float = 1.0) -> None:
    """Redraw in place on a terminal; elsewhere (a pipe, a log) print a table every 5 s."""
    previous: dict[str, tuple[float, dict[str, float]]] = {}
    console = Console()
    if not console.is_terminal:
        while True:
            console.print(_render(runtime, previous))
            sys.stdout.flush()
            time.sleep(5 * refresh_s)
    with Live(_render(runtime, previous), console=console, refresh_per_second=4) as live:
        while True:
            time.sleep(refresh_s)
            live.update(_render(runtime, previous))
