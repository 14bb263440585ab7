"""Options and config resolution shared by every command that polls or reads."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from monitor.config import Config, ConfigError, config_from_urls, load_config
from monitor.config_search import SEARCH_HELP, find_config
from monitor.durations import parse_duration
from monitor.readernode import is_reader
from monitor.sharding import Shard, ShardError, parse_shard
from monitor.targets import TargetError

if TYPE_CHECKING:
    from monitor.store.scope import ReadScope

__all__ = [
    "add_config_options",
    "apply_config_search",
    "resolve_config",
    "duration_arg",
    "fail",
    "shard_arg",
]


def duration_arg(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def shard_arg(text: str) -> Shard:
    try:
        return parse_shard(text)
    except ShardError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_config_options(parser: argparse.ArgumentParser, urls: bool = True) -> None:
    parser.add_argument("-c", "--config", metavar="FILE", help=SEARCH_HELP)
    if urls:
        parser.add_argument(
            "urls",
            nargs="*",
            metavar="URL",
            help="targets: redis://[user:pass@]host:port[/db], rediss://, unix:///path, "
            "memcached://host:port (a cluster node discovers the whole cluster), "
            "redis+sentinel://host:26379[,host:port...][/master] (the Sentinels, primaries "
            "and replicas of a Sentinel set)",
        )
    parser.add_argument(
        "--interval",
        type=duration_arg,
        metavar="D",
        help="poll interval, e.g. 1s (default from the config, else 10s)",
    )
    parser.add_argument(
        "--store",
        metavar="PATH",
        help="where the embedded store lives (default from the config, "
        "else the user's data directory)",
    )
    parser.add_argument(
        "--shard",
        type=shard_arg,
        metavar="I/N",
        help="poll only the targets whose hash falls in shard I of N",
    )


def apply_config_search(args: argparse.Namespace) -> None:
    """Fill in `args.config` from the search path (monitor/config_search.py) for commands
    that take `-c`. Target URLs on the command line (or `tui --attach`) make the run ad hoc:
    then only -c and $CACHEWATCH_CONFIG count, and `--attach` takes neither."""
    if not hasattr(args, "config"):
        return
    if getattr(args, "attach", None):
        return
    args.config = find_config(args.config, ad_hoc=bool(getattr(args, "urls", None)))


def resolve_config(
    args: argparse.Namespace, need_targets: bool = False, reader_ok: bool = False
) -> Config:
    """Config from -c FILE plus URLs and overrides; raises ConfigError with clear messages.
    `reader_ok`: no targets is fine when history comes from Prometheus (a reader node,
    `monitor/readernode.py`)."""
    base = load_config(args.config) if getattr(args, "config", None) else Config()
    try:
        config = config_from_urls(
            list(getattr(args, "urls", None) or []),
            base,
            interval_s=getattr(args, "interval", None),
            store_path=getattr(args, "store", None),
        )
    except TargetError as exc:
        raise ConfigError([str(exc)]) from None
    shard = getattr(args, "shard", None)
    if shard is not None:
        # the fleet applies it per discovered node: every instance discovers whole clusters
        config = replace(config, shard=shard)
    if need_targets and not config.targets and not (reader_ok and is_reader(config)):
        raise ConfigError(["no targets: give URLs or a config file with [[targets]]"])
    return config


class NoStoreError(Exception):
    """The configured store does not exist (nothing has been collected there yet)."""


def open_existing_store(config: Config, scope: ReadScope | None = None) -> Any:
    """Open the configured store read-only for reading commands (`query`, `store stats`),
    so they work beside a running `serve` or `poll`. The local store must already exist,
    unless history comes from Prometheus (`backend = "prometheus"`). With a `scope`, only
    what its reads need is loaded (`monitor.store.scope`)."""
    from monitor.runtime import open_store

    if config.store.backend != "prometheus" and not config.store.path.exists():
        raise NoStoreError(f"no store at {config.store.path} (collect first, or pass --store)")
    return open_store(config, read_only=True, scope=scope)


def fail(message: str, code: int = 2) -> int:
    print(f"cachewatch: {message}", file=sys.stderr)
    return code


def setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def serve_until_signalled(
    server: Any,
    runtime: Any,
    reload: Callable[[], object] | None = None,
    ready_line: str = "",
) -> int:
    """Block until SIGINT or SIGTERM, then stop the HTTP server and the engine (in that
    order: no request reads a runtime that is already stopping). Both signals are handled
    explicitly, so a process started in the background (where the shell makes it ignore
    SIGINT) stops on either. With `reload`, SIGHUP calls it (here, in the main thread).
    `ready_line` is printed once the handlers are in place: a supervisor that signals as
    soon as it reads it gets a clean stop, not the default action's exit 143."""
    stopping = threading.Event()
    wake = threading.Event()
    reload_requested = threading.Event()

    def stop(*_: object) -> None:
        stopping.set()
        wake.set()

    def hang_up(*_: object) -> None:
        reload_requested.set()
        wake.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    if reload is not None:
        signal.signal(signal.SIGHUP, hang_up)
    if ready_line:
        print(ready_line, flush=True)
    try:
        while not stopping.is_set():
            wake.wait()
            wake.clear()
            if reload is not None and reload_requested.is_set() and not stopping.is_set():
                reload_requested.clear()
                reload()
    finally:
        server.stop()
        runtime.stop_background()
    return 0
