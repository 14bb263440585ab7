"""Rule files: precise errors with file, line and column; the default pack loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.rules import (
    AlertingRule,
    RecordingRule,
    default_rule_files,
    load_rule_files,
    parse_rule_file,
)
from monitor.commands import rules as rules_command


def problems_of(text: str) -> list[str]:
    return [f"{p.pos.line}:{p.pos.column}: {p.message}" for p in parse_rule_file(text, "f.yml")[1]]


def test_valid_file_loads_rules_with_defaults() -> None:
    groups, problems = parse_rule_file(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 1m\n"
        "    keep_firing_for: 30s\n  - record: job:up:sum\n    expr: sum(up)\n",
        "f.yml",
        15_000,
    )
    assert problems == []
    alert, record = groups[0].rules
    assert isinstance(alert, AlertingRule) and alert.for_ms == 60_000
    assert alert.keep_firing_for_ms == 30_000 and groups[0].interval_ms == 15_000
    assert isinstance(record, RecordingRule) and record.record == "job:up:sum"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: rate(x[5m]) +\n",
            "5:11: could not parse expression: invalid promql query",
        ),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: nofunc(x)\n",
            "5:11: could not parse expression: unknown function with name 'nofunc'",
        ),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n"
            "    expr: |\n      sum(x)\n      + rate(y)\n",
            "7:9: could not parse expression: expected type matrix in call to function 'rate'",
        ),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n"
            "      summary: 'x {{ if $value }}y{{ end }}'\n",
            "7:22: annotation 'summary': template: unsupported template action 'if'",
        ),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    for: 5x\n",
            "6:10: for: invalid duration '5x'",
        ),
        (
            "groups:\n- name: g\n  rules:\n  - record: a-b\n    expr: up\n",
            "4:13: invalid recording rule name 'a-b'",
        ),
        (
            "groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n    for: 1m\n",
            "6:5: invalid field 'for' in recording rule",
        ),
        (
            "groups:\n- name: g\n  limit: 5\n  rules: []\n",
            "3:3: group field 'limit' is not supported by cachewatch",
        ),
        (
            "groups:\n- name: g\n  rules: []\n- name: g\n  rules: []\n",
            "4:9: group name 'g' is repeated in the same file",
        ),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    alert: B\n    expr: up\n",
            "5:5: duplicate key 'alert' in rule",
        ),
        ("groups:\n- name: g\n  rules:\n  - alert: A\n", "4:5: field 'expr' must be set"),
        ("groups:\n- name: g\n  rules:\n  - alert: A\n   expr: up\n", "5:4: YAML:"),
        ("groupz: []\n", "1:1: unknown field 'groupz'"),
    ],
)
def test_problems_name_the_place(text: str, expected: str) -> None:
    found = problems_of(text)
    assert any(p.startswith(expected) for p in found), found


def test_default_pack_loads_and_every_alert_says_what_to_check() -> None:
    groups = load_rule_files([str(p) for p in default_rule_files()])
    alerts = [r for g in groups for r in g.rules if isinstance(r, AlertingRule)]
    assert len(alerts) >= 20
    for rule in alerts:
        annotations = dict(rule.annotations)
        assert {"summary", "description"} <= annotations.keys(), rule.name
        assert "Check" in annotations["description"].source, rule.name
        assert dict(rule.labels)["severity"].source in {"critical", "warning", "info"}


def test_cli_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up ==\n")
    args = type("Args", (), {"files": [str(p) for p in default_rule_files()]})()
    assert rules_command.run(args) == 0
    args.files = [str(bad)]
    assert rules_command.run(args) == 1
    assert f"{bad}:5:" in capsys.readouterr().err


def test_constructs_the_engine_lacks_are_named_at_load_time() -> None:
    found = problems_of(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum(x) + limitk(2, x)\n"
    )
    assert found == [
        "5:20: could not parse expression: aggregation limitk is not supported by cachewatch"
    ]
