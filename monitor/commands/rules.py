"""`cachewatch rules check FILE…`: validate alert rule files as `promtool check rules` does.

Exit 0 when every file is valid, 1 when any has problems (promtool's convention), each
problem printed as `file:line:column: message`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alerts.rules import AlertingRule, RuleGroup, RuleProblem, check_rule_files


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("rules", help="alert and recording rule files")
    actions = parser.add_subparsers(dest="rules_action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate rule files (like promtool check rules)")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(run=run)


def _report(path: Path, groups: list[RuleGroup], problems: list[RuleProblem]) -> None:
    print(f"Checking {path}")
    if problems:
        print(f"  FAILED: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return
    rules = [r for g in groups for r in g.rules]
    alerts = sum(isinstance(r, AlertingRule) for r in rules)
    print(
        f"  SUCCESS: {len(rules)} rules found ({alerts} alerting, {len(rules) - alerts} recording)"
    )


def run(args: argparse.Namespace) -> int:
    problems = check_rule_files(args.files, report=_report)
    return 1 if problems else 0
