"""`cachewatch check -c FILE`: validate a config; exit 2 with every problem listed."""

from __future__ import annotations

import argparse

from monitor.commands.common import fail
from monitor.config import ConfigError, load_config


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("check", help="validate a config file")
    parser.add_argument("-c", "--config", metavar="FILE", required=True)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return fail(f"{len(exc.problems)} problem(s) in the config:\n{exc}")
    print(f"{args.config}: ok, {len(config.targets)} target(s)")
    return 0
