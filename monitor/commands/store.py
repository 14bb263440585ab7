"""`cachewatch store stats [--format json|table]`: what the embedded store holds."""

from __future__ import annotations

import argparse
import json

from monitor.commands.common import (
    NoStoreError,
    add_config_options,
    fail,
    open_existing_store,
    resolve_config,
)
from monitor.config import ConfigError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("store", help="inspect the embedded store")
    actions = parser.add_subparsers(dest="store_action", required=True)
    stats = actions.add_parser("stats", help="series, samples, bytes on disk, bytes per sample")
    add_config_options(stats, urls=False)
    stats.add_argument("--format", choices=("json", "table"), default="table")
    stats.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = resolve_config(args)
    except ConfigError as exc:
        return fail(str(exc))
    try:
        store = open_existing_store(config)
    except NoStoreError as exc:
        return fail(str(exc))
    try:
        stats = store.stats()
    finally:
        store.close()
    data = {
        "series": stats.series,
        "samples": stats.samples,
        "bytes_on_disk": stats.bytes_on_disk,
        "bytes_per_sample": round(stats.bytes_per_sample, 4),
    }
    if args.format == "json":
        print(json.dumps(data))
    else:
        width = max(len(k) for k in data)
        for key, value in data.items():
            print(f"{key:<{width}}  {value}")
    return 0
