"""`/api/v1/rules` and `/api/v1/alerts` have Prometheus's shape: the same rule file run by
Debian's Prometheus (2.42) and by cachewatch's alert engine answers with the same keys and
value types, so clients written against Prometheus read cachewatch's unchanged."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from alerts.engine import RuleEngine
from alerts.promapi import EngineRulesSource, go_scientific
from alerts.querier import EngineQuerier
from alerts.rules import load_rule_files
from monitor.query import MemoryReader
from tests.servers import free_port, have_binary
from tests.waiting import wait_for

PROMETHEUS = "/usr/bin/prometheus"
pytestmark = pytest.mark.skipif(not have_binary(PROMETHEUS), reason="prometheus not installed")

RULES = """
groups:
  - name: shapes
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1) > 0
        labels: {severity: page}
        annotations: {summary: "always {{ $value }}"}
      - alert: Waiting
        expr: vector(2) > 0
        for: 1h
      - alert: Never
        expr: vector(0) > 1
      - record: job:up:sum
        expr: sum(up)
"""


def shape(value: Any) -> Any:
    """Keys and value types, recursively; a list by the shape of its first element."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def by_type(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """Rule shapes by rule type and, for alerting rules, by state."""
    out: dict[str, Any] = {}
    for group in groups:
        for rule in group["rules"]:
            out[rule["type"] + ":" + rule.get("state", "")] = shape(rule)
    return out


def test_rules_and_alerts_have_prometheus_shape(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    (tmp_path / "prometheus.yml").write_text(
        f"global:\n  evaluation_interval: 1s\nrule_files: ['{rules}']\n"
    )
    port = free_port()
    prometheus = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def evaluated() -> bool:
            try:
                groups = get(f"{url}/api/v1/rules")["data"]["groups"]
            except OSError:
                return False
            states = {r.get("state") for g in groups for r in g["rules"]}
            return {"firing", "pending"} <= states

        wait_for(evaluated, 60, "Prometheus to evaluate the rules")
        theirs_rules = get(f"{url}/api/v1/rules")
        theirs_alerts = get(f"{url}/api/v1/alerts")
    finally:
        prometheus.terminate()
        prometheus.wait(10)

    engine = RuleEngine(load_rule_files([str(rules)]), EngineQuerier.over(MemoryReader()))
    now = int(time.time() * 1000)
    engine.evaluate_due(now)
    engine.evaluate_due(now + 1000)
    source = EngineRulesSource(engine)
    ours_rules = {"status": "success", "data": source.rules(None)}
    ours_alerts = {"status": "success", "data": source.alerts()}

    assert by_type(ours_rules["data"]["groups"]) == by_type(theirs_rules["data"]["groups"])
    ours_group = {k: v for k, v in shape(ours_rules)["data"]["groups"][0].items() if k != "rules"}
    theirs_group = {
        k: v for k, v in shape(theirs_rules)["data"]["groups"][0].items() if k != "rules"
    }
    assert ours_group == theirs_group
    assert shape(ours_alerts) == shape(theirs_alerts)
    # and the same values where they do not depend on timing
    firing = [a for a in theirs_alerts["data"]["alerts"] if a["state"] == "firing"]
    ours_firing = [a for a in ours_alerts["data"]["alerts"] if a["state"] == "firing"]
    assert [(a["labels"], a["annotations"], a["value"]) for a in ours_firing] == [
        (a["labels"], a["annotations"], a["value"]) for a in firing
    ]
    assert go_scientific(1234.5) == "1.2345e+03"
