"""`cachewatch hotkeys URL --duration D --top N --format json|table [--by key|pattern]`: the
hot keys (or key patterns) of one target, a cluster or a Sentinel set, now.

A person asked, so where nothing cheaper ranks keys (no HOTKEYS command, no LFU policy, or
LFU counters that cannot tell the hot keys apart) a bounded MONITOR sample is taken:
bursts of `--burst` within `--max-cost` of the server's throughput over the request
(`collectors/hotkeys/monitor_sampler.py`); `--no-monitor` forbids it. Every result says its
method, window, how many commands it rests on and what it cost. Exit 0 with a result, 1 when
no method can rank keys on any node (said at once, not after `--duration`), 2 for bad input.
"""

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
        description="Find the hottest keys (or key patterns) with the cheapest method that "
        "can rank them: the server's HOTKEYS, LFU sampling where it covers the keyspace, "
        "else bounded MONITOR bursts within --max-cost of the server's throughput "
        "(memcached: watch bursts); a cluster seed or Sentinel set runs on every primary "
        "and merges.",
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
        "--by",
        choices=("key", "pattern"),
        default="key",
        help="rank keys, or key patterns such as api:v2:user:{id}:profile (default key)",
    )
    parser.add_argument(
        "--no-monitor",
        action="store_true",
        help="never use MONITOR, even where nothing cheaper can rank keys",
    )
    parser.add_argument("--monitor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--max-cost",
        type=float,
        default=3.0,
        metavar="PERCENT",
        help="the share of the server's throughput MONITOR bursts may cost over the "
        "request (default 3)",
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
        help="memcached watch: time between bursts (default: duration/5, at most 10s)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=2000.0,
        metavar="N",
        help="LFU sampling commands per second (2000)",
    )
    parser.add_argument(
        "--replicas",
        choices=("auto", "all", "none"),
        default="auto",
        help="on a cluster or Sentinel set, which replicas to sample as well: those that "
        "serve reads (auto, the default), all, or none",
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
    if not 0 < args.max_cost <= 50:
        return fail(f"--max-cost must be a percentage above 0 and at most 50, got {args.max_cost}")
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
        request=True,
        allow_monitor=not args.no_monitor,
        max_loss=args.max_cost / 100,
        burst_s=args.burst,
        burst_every_s=every,
        metadump=args.metadump,
        method=Method(args.method) if args.method else None,
    )
    try:
        report = asyncio.run(
            detect_hot_keys(
                target,
                args.duration,
                options,
                include_replicas={"auto": None, "all": True, "none": False}[args.replicas],
            )
        )
    except (OSError, ValueError, CommandError) as exc:
        # CommandError: the server refused us (a wrong password), a clear line, no traceback
        return fail(str(exc), 1)
    for note in report.notes:
        print(f"cachewatch: {note}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(report.as_json(args.top)))
    elif args.by == "pattern":
        print_patterns(report, args.top)
    else:
        print_table(report, args.top)
    return 0 if report.ranked else 1


def _sampled(report: HotKeyReport) -> str:
    return "; ".join(s.describe() for s in report.samples) or "nothing sampled"


def print_patterns(report: HotKeyReport, top: int) -> None:
    print(f"key patterns of {report.target}: {_sampled(report)}")
    rows: list[tuple[str, ...]] = [("pattern", "share", "ops/s", "±")]
    for entry in report.patterns[:top]:
        rows.append((
            entry.pattern, f"{entry.share * 100:.1f} %",
            _number(entry.ops_per_sec), _number(entry.error),
        ))  # fmt: skip
    _print_rows(rows)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def print_table(report: HotKeyReport, top: int) -> None:
    print(f"hot keys of {report.target}: {_sampled(report)}")
    print("rows by ops/s; the true rate lies within ± (95 %)")
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
