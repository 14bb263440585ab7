"""`cachewatch query EXPR [--at T | --range D --step D] [--format json|table]`: PromQL over
the embedded store. json prints Prometheus's HTTP API `data` object; table prints aligned
columns (one row per sample)."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from datetime import UTC, datetime
from typing import Any

from monitor.commands.common import (
    NoStoreError,
    add_config_options,
    duration_arg,
    fail,
    open_existing_store,
    resolve_config,
)
from monitor.commands.query_hints import empty_result_hints
from monitor.commands.query_serve import ask_running_serve
from monitor.commands.tables import aligned, label_text
from monitor.config import Config, ConfigError
from monitor.query.errors import QueryError

__all__ = ["add_parser", "run", "parse_time", "time_arg"]

log = logging.getLogger("cachewatch.query")

#: a range query without --step gets about this many points
_DEFAULT_POINTS = 250


def parse_time(text: str) -> int:
    """Milliseconds since the epoch from unix seconds (`1700000000.5`) or RFC 3339
    (`2026-11-27T15:00:00Z`; without an offset, UTC)."""
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise ValueError(f"invalid time {text!r}: not a finite number")
        return round(seconds * 1000)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"invalid time {text!r} (expected unix seconds or RFC 3339, e.g. 2026-11-27T15:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def time_arg(text: str) -> int:
    """`parse_time` for argparse: a bad time is a usage error naming the text."""
    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("query", help="evaluate a PromQL expression over the store")
    parser.add_argument(
        "expr", metavar="EXPR", help='PromQL, e.g. "rate(redis_commands_total[1m])"'
    )
    parser.add_argument(
        "--at",
        type=time_arg,
        metavar="T",
        help="evaluation time, unix seconds or RFC 3339 (default: now); "
        "with --range, the end of the range",
    )
    parser.add_argument(
        "--range",
        dest="range_s",
        type=duration_arg,
        metavar="D",
        help="run a range query over the last D (e.g. 1h) instead of an instant query",
    )
    parser.add_argument(
        "--step",
        type=duration_arg,
        metavar="D",
        help=f"resolution of a range query (default: D/{_DEFAULT_POINTS}, at least 1s)",
    )
    parser.add_argument("--format", choices=("json", "table"), default="table")
    parser.add_argument(
        "--no-serve",
        action="store_true",
        help="read the store files even when a running serve writes the store "
        "(by default it is asked: the same answer, without reading the store first)",
    )
    add_config_options(parser, urls=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.step is not None and args.range_s is None:
        return fail("--step needs --range")
    try:
        config = resolve_config(args)
    except ConfigError as exc:
        return fail(str(exc))
    end_ms = args.at if args.at is not None else round(time.time() * 1000)
    range_ms = None if args.range_s is None else round(args.range_s * 1000)
    step_ms = 0
    if range_ms is not None:
        step_ms = (
            round(args.step * 1000)
            if args.step is not None
            else max(1000, range_ms // _DEFAULT_POINTS)
        )
    if not args.no_serve:
        try:
            answer = ask_running_serve(config, args.expr, end_ms, range_ms, step_ms)
        except QueryError as exc:
            return fail(f"{exc.error_type}: {exc.message}", code=2)
        if answer is not None and not _is_empty(answer):  # empty: the store gives hints
            _print(answer, args.format)
            return 0
    # here, not at the top: asking a serve needs no engine (nor numpy)
    from monitor.commands.query_scope import evaluate, reads_of
    from monitor.query import Engine

    try:
        # only what the expression reads is loaded: opening a whole store of 1,000 targets
        # read-only costs seconds (docs/STORE.md, one writer, many readers)
        store = open_existing_store(config, reads_of(args.expr, end_ms, range_ms, step_ms))
    except NoStoreError as exc:
        return fail(str(exc))
    try:
        result = evaluate(Engine(store), args.expr, end_ms, range_ms, step_ms).to_api()
        hints = [] if not _is_empty(result) else _hints(store, config, args.expr, end_ms, args)
    except QueryError as exc:
        return fail(
            f"{exc.error_type}: {exc.message}", code=2 if exc.error_type == "bad_data" else 1
        )
    finally:
        store.close()
    _print(result, args.format)
    for hint in hints:
        print(f"cachewatch: {hint}", file=sys.stderr)
    return 0


def _print(data: dict[str, Any], form: str) -> None:
    """`data`: Prometheus's `data` object (`QueryResult.to_api`, or a serve's answer)."""
    print(json.dumps(data) if form == "json" else render_table(data))


def _is_empty(data: dict[str, Any]) -> bool:
    return data["resultType"] in ("vector", "matrix") and not data["result"]


def _hints(
    store: Any, config: Config, expr: str, end_ms: int, args: argparse.Namespace
) -> list[str]:
    start_ms = end_ms - round((args.range_s or 0) * 1000)
    where = config.store.url if config.store.backend == "prometheus" else str(config.store.path)
    try:
        return empty_result_hints(store, expr, start_ms, end_ms, str(where))
    except Exception as exc:  # a hint must never turn an answer into an error
        log.debug("no hint for an empty result: %s", exc)
        return []


def _series_name(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    rest = label_text({k: v for k, v in labels.items() if k != "__name__"})
    return f"{name}{{{rest}}}" if rest or not name else name


def _time_text(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def render_table(data: dict[str, Any]) -> str:
    """Aligned columns: SERIES VALUE for a vector, SERIES TIME VALUE for a matrix. From the
    API's `data` object, whose values are already formatted as Prometheus formats them."""
    rows: list[tuple[str, ...]]
    kind, result = data["resultType"], data["result"]
    if kind == "vector":
        header: tuple[str, ...] = ("SERIES", "VALUE")
        rows = [(_series_name(item["metric"]), item["value"][1]) for item in result]
    elif kind == "matrix":
        header = ("SERIES", "TIME", "VALUE")
        rows = [
            (_series_name(item["metric"]), _time_text(round(float(t) * 1000)), value)
            for item in result
            for t, value in item["values"]
        ]
    elif kind == "scalar":
        header = ("TIME", "SCALAR")
        rows = [(_time_text(round(float(result[0]) * 1000)), result[1])]
    else:
        header = ("TIME", "STRING")
        rows = [(_time_text(round(float(result[0]) * 1000)), result[1] or "")]
    return aligned(header, rows)
