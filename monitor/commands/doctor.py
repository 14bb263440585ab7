"""`cachewatch doctor [-c FILE] [URL…] [--duration D] [--format json|table]`: findings with
their evidence (values and the PromQL behind them) and the fix, for every target.

With the targets' recent history in the store (`-c`/`--store`, e.g. beside a running
`serve`), the rules are evaluated over it at once. Otherwise the targets are polled live
into a throwaway store for `--duration` (default 15s at 1s; the namespace sampler runs too),
then diagnosed. Exit 1 while a critical finding stands, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from monitor.commands.common import add_config_options, duration_arg, fail, resolve_config
from monitor.commands.exitcodes import EXIT_OK, EXIT_PROBLEM
from monitor.config import Config, ConfigError, config_from_urls
from monitor.doctor.model import Finding, Severity
from monitor.doctor.rules import RULES
from monitor.model import now_ms

__all__ = ["add_parser", "run"]

_DEFAULT_DURATION_S = 15.0
_DEFAULT_INTERVAL_S = 1.0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="findings with evidence and fixes; exit 1 while a critical one stands",
        description="Diagnose every target: each finding has a severity, the evidence (values "
        "and the PromQL that produced them), why it matters and the fix (never run by "
        "cachewatch). Uses the store's history when --store/-c has it, else polls the "
        "targets live for --duration.",
    )
    add_config_options(parser)
    parser.add_argument(
        "--duration",
        type=duration_arg,
        default=_DEFAULT_DURATION_S,
        metavar="D",
        help=f"how long to poll live when the store has no history (default "
        f"{_DEFAULT_DURATION_S:g}s; rates need a few polls)",
    )
    parser.add_argument(
        "--live", action="store_true", help="poll live even if the store has history"
    )
    parser.add_argument("--format", choices=("json", "table"), default="table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.duration <= 0:
        return fail("--duration must be positive")
    try:
        config = resolve_config(args, need_targets=not (args.store or args.config))
    except ConfigError as exc:
        return fail(str(exc))
    from monitor.doctor.live import StoreHasNoHistory, diagnose_live, diagnose_store

    result = None
    if not args.live and (args.store or args.config) and not args.urls:
        try:
            result = diagnose_store(config)
        except StoreHasNoHistory as exc:
            if not config.targets:
                return fail(str(exc), EXIT_PROBLEM)
            _note(f"{exc}; polling live")
    if result is None:
        if not config.targets:
            return fail("no targets: give URLs or a config file with [[targets]]")
        with tempfile.TemporaryDirectory(prefix="cachewatch-doctor-") as tmp:
            live = _live_config(config, Path(tmp) / "store", args.interval)
            result = diagnose_live(live, args.duration, _note)
    if result is None:
        return EXIT_PROBLEM
    findings, targets = result
    if args.format == "json":
        print(json.dumps(_json(findings, targets)))
    else:
        from monitor.doctor.text import render_findings

        print(render_findings(findings, targets, len(RULES)))
    return EXIT_PROBLEM if any(f.severity is Severity.CRITICAL for f in findings) else EXIT_OK


def _json(findings: list[Finding], targets: list[str]) -> dict[str, object]:
    return {
        "at": now_ms() / 1000,
        "targets": targets,
        "rules": len(RULES),
        "findings": [f.as_json() for f in findings],
    }


def _live_config(base: Config, store_path: Path, interval_s: float | None) -> Config:
    live = config_from_urls(
        [], base, interval_s=interval_s or _DEFAULT_INTERVAL_S, store_path=str(store_path)
    )
    return replace(live, store=replace(live.store, backend="embedded"))


def _note(message: str) -> None:
    print(f"cachewatch: {message}", file=sys.stderr)
