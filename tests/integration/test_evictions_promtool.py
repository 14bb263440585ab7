"""The eviction recording rules pass promtool, and promtool computes the figures the
summary's unit tests expect from the same synthetic history."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).parents[2] / "alerts" / "rules" / "evictions_recording.yml"

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")

PROMTOOL_TEST = """\
rule_files:
  - {rules}
evaluation_interval: 30s
tests:
  - interval: 1m
    input_series:
      - series: 'redis_evicted_keys_total{{instance="r1:6379"}}'
        values: '0+600x30'
      - series: 'redis_evicted_keys_total{{instance="n1:7000", cluster="c1"}}'
        values: '0+60x30'
      - series: 'redis_evicted_keys_total{{instance="n2:7001", cluster="c1"}}'
        values: '0+120x30'
      - series: 'redis_keyspace_hits_total{{instance="r1:6379"}}'
        values: '0+5400x30'
      - series: 'redis_keyspace_misses_total{{instance="r1:6379"}}'
        values: '0+600x30'
      - series: 'redis_memory_used_bytes{{instance="r1:6379"}}'
        values: '0+30000x30'
      - series: 'redis_memory_max_bytes{{instance="r1:6379"}}'
        values: '1000000+0x30'
      - series: 'memcached_items_evicted_total{{instance="m1:11211"}}'
        values: '0+600x30'
      - series: 'cachewatch_memcached_items_evicted_unfetched_total{{instance="m1:11211"}}'
        values: '0+240x30'
      - series: 'cachewatch_memcached_items_expired_unfetched_total{{instance="m1:11211"}}'
        values: '0+60x30'
      - series: 'memcached_items_total{{instance="m1:11211"}}'
        values: '0+3000x30'
      - series: 'memcached_slab_items_evicted_total{{instance="m1:11211", slab="1"}}'
        values: '0+360x30'
      - series: 'memcached_slab_items_evicted_unfetched_total{{instance="m1:11211", slab="1"}}'
        values: '0+180x30'
    promql_expr_test:
      - expr: instance:redis_evicted_keys:rate15m
        eval_time: 20m
        exp_samples:
          - labels: 'instance:redis_evicted_keys:rate15m{{instance="r1:6379"}}'
            value: 10
          - labels: 'instance:redis_evicted_keys:rate15m{{cluster="c1", instance="n1:7000"}}'
            value: 1
          - labels: 'instance:redis_evicted_keys:rate15m{{cluster="c1", instance="n2:7001"}}'
            value: 2
      - expr: cluster:redis_evicted_keys:rate1m
        eval_time: 20m
        exp_samples:
          - labels: 'cluster:redis_evicted_keys:rate1m{{cluster="c1"}}'
            value: 3
      - expr: instance:redis_keyspace_hit_ratio:rate1m
        eval_time: 20m
        exp_samples:
          - labels: 'instance:redis_keyspace_hit_ratio:rate1m{{instance="r1:6379"}}'
            value: 0.9
      - expr: instance:redis_memory_seconds_to_full:predict_linear15m
        eval_time: 20m
        exp_samples:
          - labels: 'instance:redis_memory_seconds_to_full:predict_linear15m{{instance="r1:6379"}}'
            value: 800
      - expr: instance:memcached_evictions_unfetched_share:ratio_rate15m
        eval_time: 20m
        exp_samples:
          - labels: >-
              instance:memcached_evictions_unfetched_share:ratio_rate15m{{
              instance="m1:11211"}}
            value: 0.4
      - expr: instance:memcached_writes_wasted_share:ratio_rate15m
        eval_time: 20m
        exp_samples:
          - labels: 'instance:memcached_writes_wasted_share:ratio_rate15m{{instance="m1:11211"}}'
            value: 0.1
      - expr: instance_slab:memcached_slab_evictions_unfetched_share:ratio_rate15m
        eval_time: 20m
        exp_samples:
          - labels: >-
              instance_slab:memcached_slab_evictions_unfetched_share:ratio_rate15m{{
              instance="m1:11211", slab="1"}}
            value: 0.5
"""


def test_recording_rules_pass_promtool_check() -> None:
    checked = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 33 rules found" in checked.stdout


def test_promtool_computes_the_expected_figures(tmp_path: Path) -> None:
    test_file = tmp_path / "evictions_test.yml"
    test_file.write_text(PROMTOOL_TEST.format(rules=RULES))
    tested = subprocess.run(
        ["promtool", "test", "rules", test_file.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
