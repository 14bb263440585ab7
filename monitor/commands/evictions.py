"""`cachewatch evictions [URL] [--duration D] [--format json|table]`: eviction trends of one
target, or of its whole cluster when the URL names a Redis Cluster node; without a URL, of
every target (and cluster) with recent history in the store (`--store` or the config's).

Rates need history. When a store is named (`--store`, or `-c FILE`) and already holds recent
samples of the target, the summary comes from it at once. Otherwise the target is polled
live, into a throwaway store, for `--duration` (default 30s at 1s), and the summary reports
the windows that history covers and says which lack data.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from monitor.commands.common import add_config_options, duration_arg, fail, resolve_config
from monitor.commands.live_wait import wait_polling
from monitor.commands.query import time_arg
from monitor.config import Config, ConfigError, config_from_urls
from monitor.evictions import (
    EvictionSummary,
    Scope,
    eviction_summary,
    scope_of_instance,
)
from monitor.evictions.table import render_summary
from monitor.model import now_ms
from monitor.query.errors import QueryError
from monitor.targets import TargetError, parse_target_url

__all__ = ["add_parser", "run"]

_DEFAULT_DURATION_S = 30.0
_DEFAULT_INTERVAL_S = 1.0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "evictions",
        help="eviction trends of one target or cluster",
        description="Evictions/s over 1m, 15m and 1h with the trend (rising, steady, "
        "falling), expirations, the hit ratio, memory against the limit with the time to "
        "full, and for memcached the wasted writes and each slab class. Uses the store's "
        "history when --store/-c has it, else polls the target live for --duration.",
    )
    parser.add_argument(
        "url",
        metavar="URL",
        nargs="?",
        help="redis://, rediss://, unix:// or memcached:// (without: every target in the store)",
    )
    parser.add_argument(
        "--duration",
        type=duration_arg,
        default=_DEFAULT_DURATION_S,
        metavar="D",
        help=f"how long to poll live when the store has no history (default "
        f"{_DEFAULT_DURATION_S:g}s; 1h covers every window)",
    )
    parser.add_argument(
        "--live", action="store_true", help="poll live even if the store has history"
    )
    parser.add_argument(
        "--at",
        type=time_arg,
        metavar="T",
        help="summarise the store's history up to T (unix seconds or RFC 3339; default: now)",
    )
    parser.add_argument("--format", choices=("json", "table"), default="table")
    add_config_options(parser, urls=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.duration <= 0:
        return fail("--duration must be positive")
    if args.url is None:
        if args.live or not (args.store or args.config):
            return fail("give a URL to poll, or --store/-c to summarise every target in a store")
        try:
            return _every_target(resolve_config(args), args.format)
        except ConfigError as exc:
            return fail(str(exc))
    try:
        target = parse_target_url(args.url)
        config = resolve_config(args)
    except TargetError as exc:
        return fail(str(exc))
    except ConfigError as exc:
        return fail(str(exc))
    if target.sentinel is not None:
        # a Sentinel holds no keys: name the node whose evictions you want
        return fail(f"{target.url}: evictions reads one server; give a data node's redis:// URL")
    summary = None
    if not args.live and (args.store or args.config):
        summary = _from_store(config, target.instance, args.at)
    if summary is None and args.at is not None:
        return fail("--at reads the store's history: give --store or -c with it")
    if summary is None:
        try:
            summary = _poll_live(config, args.url, target.instance, args.duration, args.interval)
        except (OSError, ConnectionError, TimeoutError) as exc:
            return fail(f"{target.url}: {exc}", 1)
    if summary is None:
        return 1
    if args.format == "json":
        print(json.dumps(summary.as_json()))
    else:
        print(render_summary(summary))
    return 0 if summary.kind is not None else 1


def _every_target(config: Config, fmt: str) -> int:
    """A summary per target (per cluster for discovered nodes) with recent history in the
    store; exit 1 when there is none."""
    path = config.store.path
    if config.store.backend != "prometheus" and not path.exists():
        return fail(f"no store at {path} (collect first, or pass --store)")
    from monitor.runtime import open_store

    store = open_store(config, read_only=True)
    try:
        from monitor.query import Engine

        engine = Engine(store)
        up = engine.instant('{__name__=~"redis_up|memcached_up"}', now_ms())
        instances = sorted({labels.get("instance", "") for labels, _ in up.samples} - {""})
        scopes = list(dict.fromkeys(scope_of_instance(engine, i) for i in instances))
        summaries = [s for s in (eviction_summary(engine, scope) for scope in scopes) if s.kind]
    except QueryError as exc:
        return fail(f"store at {path}: {exc}", 1)
    finally:
        store.close()
    if not summaries:
        _note(f"the store at {path} has no recent history of any target")
        return 1
    if fmt == "json":
        print(json.dumps([summary.as_json() for summary in summaries]))
    else:
        print("\n\n".join(render_summary(summary) for summary in summaries))
    return 0


def _note(message: str) -> None:
    print(f"cachewatch: {message}", file=sys.stderr)


def _from_store(config: Config, instance: str, at_ms: int | None) -> EvictionSummary | None:
    """The summary from the configured store, or None (with a note) if it has no recent
    history of the target."""
    path = config.store.path
    if not path.exists():
        _note(f"no store at {path}; polling live")
        return None
    from monitor.runtime import open_store

    store = open_store(config, read_only=True)
    try:
        from monitor.query import Engine

        engine = Engine(store)
        summary = eviction_summary(engine, scope_of_instance(engine, instance, at_ms), at_ms)
    except QueryError as exc:
        _note(f"store at {path}: {exc}; polling live")
        return None
    finally:
        store.close()
    if summary.kind is None:
        _note(f"the store at {path} has no recent history of {instance}; polling live")
        return None
    return summary


def _live_config(base: Config, url: str, store_path: Path, interval_s: float | None) -> Config:
    return config_from_urls(
        [url],
        replace(base, targets=()),
        interval_s=interval_s or _DEFAULT_INTERVAL_S,
        store_path=str(store_path),
    )


def _poll_live(
    base: Config, url: str, instance: str, duration_s: float, interval_s: float | None
) -> EvictionSummary | None:
    from monitor.runtime import Runtime

    with tempfile.TemporaryDirectory(prefix="cachewatch-evictions-") as tmp:
        config = _live_config(base, url, Path(tmp) / "store", interval_s)
        runtime = Runtime(config)
        runtime.start_background()
        try:
            if not wait_polling(runtime, instance, duration_s, config.global_.interval_s, _note):
                return None
            from monitor.query import Engine

            engine = Engine(runtime.store)
            scope = _live_scope(runtime, instance)
            return eviction_summary(engine, scope)
        finally:
            runtime.stop_background()


def _live_scope(runtime: Any, instance: str) -> Scope:
    """A discovered cluster gives every node a `cluster` label: summarise the cluster."""
    clusters = {dict(s.target.labels).get("cluster", "") for s in runtime.statuses()} - {""}
    return Scope.cluster(sorted(clusters)[0]) if clusters else Scope.instance(instance)
