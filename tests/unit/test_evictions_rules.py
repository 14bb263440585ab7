"""The recording rules file says exactly what the summary's templates say."""

from __future__ import annotations

from pathlib import Path

from alerts.rules import RecordingRule, load_rule_files
from monitor.evictions import Scope, render, window_text
from monitor.evictions import expressions as x
from monitor.evictions.recording import GROUPS, RECORDED

RULES = Path(__file__).parents[2] / "alerts" / "rules" / "evictions_recording.yml"


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_the_rule_file_is_the_rendered_templates() -> None:
    groups = load_rule_files([str(RULES)])
    assert [g.name for g in groups] == list(GROUPS)
    in_file = [
        (g.name, r.record, _squash(r.expr))
        for g in groups
        for r in g.rules
        if isinstance(r, RecordingRule)
    ]
    assert in_file == [(r.group, r.record, _squash(r.expr)) for r in RECORDED]
    assert all(g.interval_ms == 30_000 for g in groups)


def test_record_names_are_unique_and_follow_the_convention() -> None:
    names = [r.record for r in RECORDED]
    assert len(names) == len(set(names))
    assert all(n.split(":")[0] in {"instance", "cluster", "instance_slab"} for n in names)


def test_render_fills_holes_and_tidies_empty_selectors() -> None:
    assert (
        render(x.REDIS_EVICTIONS_RATE, "instance", 'instance="a:1"', "15m")
        == 'sum by (instance) (rate(redis_evicted_keys_total{instance="a:1"}[15m]))'
    )
    assert render(x.REDIS_EVICTIONS_RATE, "cluster") == (
        "sum by (cluster) (rate(redis_evicted_keys_total[1m]))"
    )
    hits = render(x.MEMCACHED_HIT_RATIO, "instance", window="5m")
    assert 'memcached_commands_total{command="get", status="hit"}[5m]' in hits
    assert "{}" not in hits and ", }" not in hits


def test_scope_quotes_label_values() -> None:
    assert Scope.instance("/tmp/redis.sock").matchers == 'instance="/tmp/redis.sock"'
    assert Scope.cluster('we"ird\\').matchers == 'cluster="we\\"ird\\\\"'
    assert str(Scope.cluster("c1")) == "cluster c1"


def test_window_text() -> None:
    assert [window_text(s) for s in (60, 900, 3600, 30, 29.5, 90)] == [
        "1m", "15m", "1h", "30s", "29500ms", "90s",
    ]  # fmt: skip
