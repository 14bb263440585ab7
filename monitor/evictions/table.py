"""An `EvictionSummary` as plain-text tables (`cachewatch evictions --format table`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from monitor.evictions.trend import Trend, TrendReading
from monitor.evictions.values import EvictionSummary, MemoryStatus

__all__ = ["render_summary", "format_rate", "format_share", "format_bytes", "format_seconds"]


def format_rate(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def format_share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def format_bytes(value: float | None) -> str:
    if value is None:
        return "-"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(value) >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def format_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.0f}s"


def _trend_text(reading: TrendReading) -> str:
    if reading.trend is Trend.UNKNOWN or reading.relative_change is None:
        return reading.trend.value
    return f"{reading.trend.value} ({reading.relative_change:+.0%})"


def _rows(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _time_to_full(memory: MemoryStatus) -> str:
    if memory.max_bytes is None:
        return "no limit"
    if memory.full:
        return "full"
    if memory.seconds_to_full is None:
        return "not growing"
    return format_seconds(memory.seconds_to_full)


def render_summary(summary: EvictionSummary) -> str:
    at = datetime.fromtimestamp(summary.at_ms / 1000, tz=UTC).isoformat(timespec="seconds")
    interval = f" at {summary.interval_s:g}s" if summary.interval_s else ""
    lines = [
        f"evictions of {summary.scope} ({summary.kind or 'no data'}), "
        f"{summary.history_s:.0f}s of history{interval}, as of {at}"
    ]
    memcached = summary.kind == "memcached"
    header = ["window", "status", "evictions/s", "expirations/s", "hit ratio"]
    if memcached:
        header += ["unfetched/s", "unfetched share", "wasted writes", "reclaimed/s"]
    table: list[list[str]] = [header]
    for w in summary.windows:
        row = [
            w.window,
            w.status if w.status != "partial" else f"partial ({w.covered_s:.0f}s)",
            format_rate(w.evictions_per_s),
            format_rate(w.expirations_per_s),
            format_share(w.hit_ratio),
        ]
        if memcached:
            row += [
                format_rate(w.evicted_unfetched_per_s),
                format_share(w.unfetched_eviction_share),
                format_share(w.wasted_write_share),
                format_rate(w.reclaimed_per_s),
            ]
        table.append(row)
    lines += _rows(table)
    trend = summary.trend
    span = f" over {trend.span_s:.0f}s" if trend.span_s else ""
    correlation = (
        f"; eviction rate vs hit ratio r = {summary.hit_ratio_correlation:+.2f}"
        if summary.hit_ratio_correlation is not None
        else ""
    )
    lines.append(f"trend: {_trend_text(trend)}{span}{correlation}")
    if summary.memory:
        lines += ["", "memory"]
        lines += _rows(
            [["instance", "used", "limit", "used %", "policy", "time to full"]]
            + [
                [
                    m.instance,
                    format_bytes(m.used_bytes),
                    format_bytes(m.max_bytes) if m.max_bytes else "none",
                    format_share(m.used_ratio),
                    m.policy or "-",
                    _time_to_full(m),
                ]
                for m in summary.memory
            ]
        )
    names = [w.window for w in summary.windows]
    if summary.slabs:
        lines += ["", f"slab classes (evictions/s; shares over {summary.detail_window or '-'})"]
        lines += _rows(
            [["slab", "memory", "share", "items", *names, "trend", "unfetched share"]]
            + [
                [
                    s.slab,
                    format_bytes(s.memory_bytes),
                    format_share(s.memory_share),
                    "-" if s.items is None else f"{s.items:,.0f}",
                    *(format_rate(s.evictions_per_s.get(n)) for n in names),
                    _trend_text(s.trend),
                    format_share(s.unfetched_eviction_share),
                ]
                for s in summary.slabs
            ]
        )
    if summary.slab_activity is not None:
        a = summary.slab_activity
        mode = {0: "off", 1: "background", 2: "aggressive"}.get(
            int(a.automove_mode) if a.automove_mode is not None else -1, "unknown"
        )
        lines.append(
            f"slab page moves/s: {format_rate(a.moved_per_s)} (automove {mode}), "
            f"rescues/s {format_rate(a.rescues_per_s)}, "
            f"evicted for lack of memory/s {format_rate(a.evictions_nomem_per_s)}"
        )
    if summary.nodes:
        lines += ["", "nodes (evictions/s)"]
        lines += _rows(
            [["instance", *names, "trend"]]
            + [
                [
                    n.instance,
                    *(format_rate(n.evictions_per_s.get(w)) for w in names),
                    _trend_text(n.trend),
                ]
                for n in summary.nodes
            ]
        )
    if summary.notes:
        lines.append("")
        lines += [f"note: {note}" for note in summary.notes]
    return "\n".join(lines)
