"""The colours of the views and the default rule pack agree: where the pack alerts on a
number the views colour, the view's threshold is the rule's, and the pack's traffic figures
are the read model's definitions (cachewatch's own commands taken out)."""

from __future__ import annotations

import re

import pytest

from alerts.rules import RecordingRule, default_rule_files, load_rule_files
from monitor.readmodel import definitions as d
from monitor.readmodel import levels
from monitor.readmodel.levels import (
    Level,
    evictions_level,
    hit_ratio_level,
    lag_level,
    memory_level,
    p99_level,
)

RULES = {
    rule.name: rule
    for group in load_rule_files([str(p) for p in default_rule_files()])
    for rule in group.rules
}


def _expr(name: str) -> str:
    return " ".join(RULES[name].expr.split())


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize(
    ("rule", "comparison"),
    [
        ("RedisMemoryNearMaxmemory", f"> {levels.MEMORY_WARN:g}"),
        ("RedisHitRatioLow", f"< {levels.HIT_RATIO_WARN:g}"),
        ("RedisCommandLatencyP99High", f"> {levels.P99_WARN_MS / 1000:g}"),
        ("RedisReplicaLagging", f"> {levels.LAG_WARN_S:g}"),
        ("RedisEvictingKeys", f"> {levels.EVICTIONS_WARN_PER_S:g}"),
        ("MemcachedEvicting", f"> {levels.EVICTIONS_WARN_PER_S:g}"),
    ],
)
def test_view_thresholds_are_the_packs(rule: str, comparison: str) -> None:
    assert comparison in _expr(rule)


def test_pack_hit_ratio_is_the_read_models() -> None:
    assert isinstance(RULES["instance:redis_keyspace_hit_ratio:rate5m"], RecordingRule)
    assert _squash(_expr("instance:redis_keyspace_hit_ratio:rate5m")) == _squash(
        d.render(d.REDIS_HIT_RATIO, "instance", "", "5m")
    )
    lookups = (
        f"({d.render(d.APP_HITS, 'instance', '', '5m')}) + "
        f"({d.render(d.APP_MISSES, 'instance', '', '5m')})"
    )
    assert _squash(_expr("instance:redis_keyspace_lookups:rate5m")) == _squash(lookups)


def test_pack_latency_leaves_out_the_read_models_monitoring_commands() -> None:
    assert f'cmd!~"{d.MONITORING_CMD_REGEX}"' in _squash(_expr("RedisCommandLatencyP99High"))


def test_monitoring_command_regex_matches_what_the_latency_merge_leaves_out() -> None:
    pattern = re.compile(d.MONITORING_CMD_REGEX.replace("\\\\", "\\"))
    for cmd in ("info", "latency|histogram", "config|get", "object|freq", "cluster", "hello"):
        assert pattern.fullmatch(cmd) and d.is_monitoring_command(cmd)
    for cmd in ("get", "set", "scan", "type", "ping", "information", "clusterx"):
        assert not pattern.fullmatch(cmd) and not d.is_monitoring_command(cmd)


def test_levels_mark_only_what_needs_attention() -> None:
    assert hit_ratio_level(None) is Level.OK and hit_ratio_level(0.95) is Level.OK
    assert hit_ratio_level(0.7) is Level.WARN and hit_ratio_level(0.3) is Level.BAD
    assert memory_level(0.5) is Level.OK and memory_level(0.9) is Level.OK
    assert memory_level(0.92) is Level.WARN and memory_level(0.99) is Level.BAD
    assert p99_level(1) is Level.OK and p99_level(10) is Level.OK
    assert p99_level(20) is Level.WARN and p99_level(80) is Level.BAD
    assert lag_level(None, False) is Level.BAD and lag_level(1, True) is Level.OK
    assert lag_level(10, True) is Level.OK and lag_level(11, True) is Level.WARN
    assert evictions_level(0) is Level.OK and evictions_level(0.5) is Level.OK
    assert evictions_level(2) is Level.WARN
