"""`cachewatch poll [-c FILE] [URL…] [--once] [--format json|table]`.

With `--once`: discover and poll every target once and print the samples (json: one object
per line, `{"name", "labels", "value", "ts"}` with `ts` in unix seconds). Without: collect
into the store headless until stopped (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import sys
from typing import TextIO

from monitor.commands.common import add_config_options, fail, resolve_config
from monitor.commands.tables import aligned, label_text
from monitor.config import ConfigError
from monitor.durations import format_duration
from monitor.model import SampleBatch
from monitor.runtime import Runtime, poll_once


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("poll", help="poll targets once, or collect into the store")
    add_config_options(parser)
    parser.add_argument("--once", action="store_true", help="poll once and print the samples")
    parser.add_argument("--format", choices=("json", "table"), default="table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = resolve_config(args, need_targets=True)
    except ConfigError as exc:
        return fail(str(exc))
    if args.once:
        statuses = asyncio.run(poll_once(config))
        batches = [s.last_batch for s in statuses if s.last_batch is not None]
        if args.format == "json":
            for batch in batches:
                write_json(batch, sys.stdout)
        else:
            print(render_table(batches))
        for status in statuses:
            if status.last_error:
                print(f"cachewatch: {status.target.url}: {status.last_error}", file=sys.stderr)
        return 0 if all(s.up for s in statuses) else 1
    runtime = Runtime(config)

    async def announce(runtime: Runtime) -> None:
        targets = len(runtime.statuses())
        seeds = len(config.targets)
        found = f" (discovered from {seeds})" if targets != seeds else ""
        print(
            f"cachewatch poll: collecting {targets} target(s){found} every "
            f"{format_duration(config.global_.interval_s)} into {config.store.path} "
            "... Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )

    runtime.on_started(announce)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, runtime.request_stop)
        await runtime.run_until_stopped()

    asyncio.run(main())
    return 0


def sample_rows(batch: SampleBatch) -> list[tuple[str, dict[str, str], float]]:
    base = dict(batch.target_labels)
    rows = []
    for name, labels, value in zip(batch.names, batch.labels, batch.values, strict=True):
        merged = dict(labels)
        merged.update(base)
        rows.append((name, merged, value))
    return rows


def write_json(batch: SampleBatch, out: TextIO) -> None:
    """One object per line: `{"name", "labels", "value", "ts"}` (ts in unix seconds)."""
    ts = batch.ts_ms / 1000
    for name, labels, value in sample_rows(batch):
        shown: float | str = value if math.isfinite(value) else str(value)
        out.write(json.dumps({"name": name, "labels": labels, "value": shown, "ts": ts}) + "\n")


def render_table(batches: list[SampleBatch]) -> str:
    """TARGET METRIC LABELS VALUE, one row per sample, grouped by target. TARGET is the
    instance; the target's other labels (cluster, role...) are left to `--format json`."""
    from monitor.query.values import format_value  # numpy: only when printing

    rows = []
    for batch in batches:
        target = dict(batch.target_labels).get("instance", "")
        for name, labels, value in zip(batch.names, batch.labels, batch.values, strict=True):
            rows.append((target, name, label_text(dict(labels)), format_value(value)))
    return aligned(("TARGET", "METRIC", "LABELS", "VALUE"), rows)
