"""`cachewatch alerts list|silence|silences|expire`: alerts and silences from the state
directory the running engine writes (`--state-dir`, default the user's data directory)."""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path
from typing import Any

from alerts.service import default_state_dir
from alerts.silences import SilenceError, SilenceStore, parse_matcher
from alerts.state import AlertState, StateFile
from monitor.commands.common import duration_arg, fail
from monitor.durations import format_duration
from monitor.model import now_ms


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("alerts", help="list alerts, manage silences")
    actions = parser.add_subparsers(dest="alerts_action", required=True, metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help_text)
        sub.add_argument(
            "--state-dir",
            type=Path,
            default=None,
            help="alert state directory (default: the user's data directory)",
        )
        sub.add_argument("--format", choices=("table", "json"), default="table")
        sub.set_defaults(run=run)
        return sub

    action("list", "pending and firing alerts, and what silences them")
    silence = action("silence", "silence alerts matching label matchers")
    silence.add_argument(
        "matchers",
        nargs="+",
        metavar="MATCHER",
        help='e.g. alertname=RedisDown instance=~"10\\.0\\..*"',
    )
    silence.add_argument(
        "--duration", type=duration_arg, default=3600.0, metavar="D", help="how long (default 1h)"
    )
    silence.add_argument("--comment", required=True, help="why (shown with the silence)")
    silence.add_argument("--author", default=None, help="who (default: the login name)")
    action("silences", "active silences").add_argument(
        "--all", action="store_true", help="include expired ones"
    )
    action("expire", "end a silence now").add_argument("id", help="silence id (or prefix)")


def run(args: argparse.Namespace) -> int:
    state_dir = args.state_dir or default_state_dir()
    silences = SilenceStore(state_dir)
    try:
        if args.alerts_action == "list":
            return _list(state_dir, silences, args.format)
        if args.alerts_action == "silence":
            created = silences.add(
                [parse_matcher(m) for m in args.matchers],
                round(args.duration * 1000),
                args.comment,
                args.author or getpass.getuser(),
            )
            print(created.id)
            return 0
        if args.alerts_action == "expire":
            ended = silences.expire(args.id)
            print(f"expired {ended.id}")
            return 0
        return _silences(silences, args.all, args.format)
    except SilenceError as exc:
        return fail(str(exc))


def _list(state_dir: Path, silences: SilenceStore, fmt: str) -> int:
    table, _ = StateFile(state_dir / "alerts.json").load()
    now = now_ms()
    rows: list[dict[str, Any]] = []
    for rules in table.values():
        for rule, alerts in rules.items():
            for alert in alerts.values():
                if alert.state is AlertState.INACTIVE:
                    continue
                labels = dict(alert.labels)
                rows.append(
                    {
                        "alertname": rule,
                        "state": alert.state.value,
                        "labels": labels,
                        "annotations": dict(alert.annotations),
                        "active_at_ms": alert.active_at_ms,
                        "value": alert.value,
                        "silenced_by": silences.silenced_by(labels, now),
                    }
                )
    rows.sort(key=lambda r: (r["state"] != "firing", r["alertname"], r["active_at_ms"]))
    if fmt == "json":
        for row in rows:
            print(json.dumps(row, default=str))
        return 0
    if not rows:
        print("no pending or firing alerts")
    for row in rows:
        shown = ",".join(f"{k}={v}" for k, v in sorted(row["labels"].items()) if k != "alertname")
        since = format_duration(max(0, now - row["active_at_ms"]) / 1000)
        muted = " (silenced)" if row["silenced_by"] else ""
        print(f"{row['state']:8} {row['alertname']:32} {since:>8}  {shown}{muted}")
    return 0


def _silences(silences: SilenceStore, include_expired: bool, fmt: str) -> int:
    now = now_ms()
    for silence in silences.list_silences(include_expired=include_expired):
        if fmt == "json":
            print(json.dumps(silence.to_json()))
            continue
        left = format_duration(max(0, silence.ends_at_ms - now) / 1000)
        state = "active" if silence.active(now) else "expired"
        print(
            f"{silence.id}  {state:7} {left:>8}  {silence.describe_matchers()}  "
            f"{silence.created_by}: {silence.comment}"
        )
    return 0
