"""`cachewatch hotkeys URL --duration D --top N --format json|table`: hot and big keys."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from collectors.hotkeys import HotKeyOptions, HotKeyReport, Method, detect_hot_keys
from collectors.redis_conn import CommandError
from monitor.commands.common import duration_arg, fail
from monitor.targets import TargetError, parse_target_url

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "hotkeys",
        help="hot keys (and big keys) of one target or a whole cluster",
        description="Find the hottest keys with the cheapest method the server supports "
        "(server HOTKEYS, LFU sampling, opt-in MONITOR bursts, memcached watch); "
        "a cluster seed runs on every primary and merges.",
    )
    parser.add_argument("url", metavar="URL", help="redis://, rediss://, unix:// or memcached://")
    parser.add_argument(
        "--duration",
        type=duration_arg,
        default=10.0,
        metavar="D",
        help="how long to sample, e.g. 10s (default 10s)",
    )
    parser.add_argument("--top", type=int, default=10, metavar="N", help="keys to show (10)")
    parser.add_argument("--format", choices=("json", "table"), default="table")
    parser.add_argument(
        "--method",
        choices=[m.value for m in Method if m is not Method.NONE],
        help="force one method instead of the cheapest available",
    )
    parser.add_argument(
        "--monitor",
        action="store_true",
        help="allow MONITOR bursts (costly while they run; see docs/HOTKEYS.md)",
    )
    parser.add_argument(
        "--burst",
        type=duration_arg,
        default=0.1,
        metavar="D",
        help="length of one MONITOR/watch burst (100ms)",
    )
    parser.add_argument(
        "--burst-every",
        type=duration_arg,
        metavar="D",
        help="time between bursts (default: duration/5, at most 10s)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=3000.0,
        metavar="N",
        help="LFU sampling commands per second (3000)",
    )
    parser.add_argument(
        "--replicas",
        action="store_true",
        help="on a cluster, sample replicas too (reads they serve)",
    )
    parser.add_argument("--no-big-keys", action="store_true", help="skip MEMORY USAGE sampling")
    parser.add_argument(
        "--metadump",
        action="store_true",
        help="memcached: also read lru_crawler metadump (recency)",
    )
    parser.set_defaults(run=run)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        return fail(f"--top must be at least 1, got {args.top}")
    if args.duration <= 0:
        return fail("--duration must be positive")
    try:
        target = parse_target_url(args.url)
    except TargetError as exc:
        return fail(str(exc))
    every = args.burst_every if args.burst_every else min(10.0, max(args.duration / 5, 0.5))
    options = HotKeyOptions(
        top=args.top,
        window_s=max(args.duration, 1.0),
        command_budget_per_s=args.budget,
        big_keys=not args.no_big_keys,
        monitor=args.monitor,
        burst_s=args.burst,
        burst_every_s=every,
        metadump=args.metadump,
        method=Method(args.method) if args.method else None,
    )
    try:
        report = asyncio.run(
            detect_hot_keys(target, args.duration, options, include_replicas=args.replicas)
        )
    except (OSError, ValueError, CommandError) as exc:
        # CommandError: the server refused us (a wrong password), a clear line, no traceback
        return fail(str(exc), 1)
    for note in report.notes:
        print(f"cachewatch: {note}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps([entry.as_json() for entry in report.hot[: args.top]]))
    else:
        print_table(report, args.top)
    return 0


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def print_table(report: HotKeyReport, top: int) -> None:
    methods = ",".join(m.value for m in report.methods)
    print(f"hot keys of {report.target} over {report.window_s:.1f}s ({methods})")
    rows: list[tuple[str, ...]] = [
        ("key", "ops/s", "±", "reads/s", "writes/s", "method", "instance")
    ]
    for entry in report.hot[:top]:
        rows.append((
            entry.key, _number(entry.ops_per_sec), _number(entry.error),
            _number(entry.reads_per_sec), _number(entry.writes_per_sec),
            entry.method.value, entry.instance,
        ))  # fmt: skip
    _print_rows(rows)
    if report.big:
        print("\nbiggest sampled keys")
        _print_rows([("key", "type", "bytes", "instance")] + [
            (b.key, b.type, f"{b.bytes:,}", b.instance) for b in report.big[:top]
        ])  # fmt: skip
    if report.recent:
        print("\nmost recently used (metadump)")
        _print_rows([("key", "idle s", "bytes", "instance")] + [
            (r.key, f"{r.idle_s:.0f}", str(r.size), r.instance) for r in report.recent[:top]
        ])  # fmt: skip


def _print_rows(rows: Sequence[Sequence[str]]) -> None:
    widths = [min(60, max(len(row[i]) for row in rows)) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell[:60].ljust(width) for cell, width in zip(row, widths, strict=True)))
