"""`cachewatch check [-c FILE]`: validate a config; exit 2 with every problem listed.

Beyond what loading checks (every key known, values of the right type, secrets readable),
it runs each section owner's parser in full (monitor/sections.py): receivers and routes,
rule files (and globs that match nothing), the web and exporter listen addresses, hot keys.
"""

from __future__ import annotations

import argparse

from monitor.commands.common import fail
from monitor.commands.exitcodes import EXIT_OK, EXIT_USAGE
from monitor.config import ConfigError, config_dir, load_config
from monitor.config_search import SEARCH_HELP, search_path
from monitor.sections import SECTION_OWNERS, SectionContext, section_problems


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check", help="validate a config file", description="Validate a config. " + SEARCH_HELP
    )
    parser.add_argument("-c", "--config", metavar="FILE", help="config file (TOML)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.config:
        searched = ", ".join(str(p) for p in search_path())
        return fail(f"no config file found: give -c FILE or set CACHEWATCH_CONFIG ({searched})")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return _report(args.config, exc.problems)
    context = SectionContext(config_dir(config.source), config.source)
    problems = [
        f"{config.source}: {problem}"
        for name in SECTION_OWNERS
        for problem in section_problems(name, getattr(config, name), context)
    ]
    if problems:
        return _report(args.config, problems)
    print(f"{args.config}: ok, {len(config.targets)} target(s)")
    return EXIT_OK


def _report(path: str, problems: list[str]) -> int:
    return fail(f"{len(problems)} problem(s) in {path}:\n" + "\n".join(problems), EXIT_USAGE)
