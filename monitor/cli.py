"""The `cachewatch` command line. Each subcommand lives in `monitor/commands/<name>.py`."""

from __future__ import annotations

import argparse
import importlib
import sys

from monitor.commands.common import fail, setup_logging
from monitor.store.embedded import StoreLockedError

__all__ = ["main", "build_parser"]

#: subcommand modules, in the order `--help` lists them
COMMANDS = (
    "check",
    "poll",
    "tui",
    "serve",
    "export",
    "query",
    "hotkeys",
    "evictions",
    "rules",
    "alerts",
    "demo",
    "store",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cachewatch",
        description="Observability and diagnostics for Redis, Valkey and memcached fleets.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"monitor.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        return int(args.run(args))
    except StoreLockedError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
