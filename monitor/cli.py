"""The `cachewatch` command line. Each subcommand lives in `monitor/commands/<name>.py`."""

from __future__ import annotations

import argparse
import importlib
import sys

from monitor.commands.common import apply_config_search, fail, setup_logging
from monitor.commands.exitcodes import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_MISSING,
    EXIT_OK,
    EXIT_USAGE,
)
from monitor.commands.extras import MissingExtraError
from monitor.store.lock import StoreLockedError

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
    "doctor",
    "rules",
    "alerts",
    "demo",
    "store",
)


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's wrapping, except for the exit-code table, which is laid out by hand."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text == EXIT_CODES_HELP:
            return text
        return super()._fill_text(text, width, indent)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cachewatch",
        description="Observability and diagnostics for Redis, Valkey and memcached fleets.",
        epilog=EXIT_CODES_HELP,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"monitor.commands.{name}").add_parser(subparsers)
    for command in subparsers.choices.values():
        command.epilog = EXIT_CODES_HELP
        command.formatter_class = _HelpFormatter
    return parser


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version("cachewatch")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    apply_config_search(args)
    try:
        return int(args.run(args))
    except StoreLockedError as exc:
        return fail(str(exc), EXIT_USAGE)
    except MissingExtraError as exc:
        return fail(str(exc), EXIT_MISSING)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
