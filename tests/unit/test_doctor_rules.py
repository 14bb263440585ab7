"""The doctor's rule table, thresholds, version table and parsers, without servers (each
rule's behaviour against real servers is in tests/integration/test_doctor_rules_*.py)."""

from __future__ import annotations

import re

import promql_parser
import pytest

from alerts.rules import default_rule_files, load_rule_files
from collectors.redis_clients import parse_client_list, summarise, top_with_other
from collectors.redis_config import parse_output_buffer_limits
from monitor.doctor import thresholds as t
from monitor.doctor.engine import fill
from monitor.doctor.rules import RULES
from monitor.doctor.settings import parse_doctor_settings
from monitor.doctor.versions import defects_of
from monitor.model import SampleBatch
from monitor.readmodel import definitions as d
from monitor.sections import SettingsError

PACK = {
    rule.name: " ".join(rule.expr.split())
    for group in load_rule_files([str(p) for p in default_rule_files()])
    for rule in group.rules
}


def test_there_are_at_least_25_rules_across_both_kinds_each_complete() -> None:
    assert len(RULES) >= 25
    assert {r.kind for r in RULES.values()} == {"redis", "memcached"}
    for rule in RULES.values():
        assert re.fullmatch(r"(redis|memcached)-[a-z0-9-]+", rule.id), rule.id
        assert rule.title and rule.why and rule.fix and rule.evidence, rule.id
        for template in (rule.condition, *(e.expr for e in rule.evidence)):
            for matchers in ("", 'instance="10.0.0.5:6379"'):
                promql_parser.parse(fill(template, matchers))  # parses, holes all filled
                assert "$" not in fill(template, matchers).replace("$1", "")


@pytest.mark.parametrize(
    ("alert", "text"),
    [
        ("RedisConnectionsNearMaxclients", f"> {t.CLIENTS_NEAR_MAX:g}"),
        ("MemcachedConnectionsNearMax", f"> {t.CLIENTS_NEAR_MAX:g}"),
        ("RedisMemoryFragmented", f"> {t.FRAGMENTATION_RATIO:g}"),
        ("RedisMemoryFragmented", "100 * 1024 * 1024"),
        ("RedisMemoryFullSoon", "4 * 3600"),
        ("RedisMemoryFullSoon", f"> {t.FILL_FOR_TIME_TO_FULL:g}"),
        ("MemcachedEvictedUnfetchedHigh", f"> {t.UNFETCHED_SHARE:g}"),
    ],
)
def test_thresholds_are_the_packs(alert: str, text: str) -> None:
    assert text in PACK[alert]
    assert t.FRAGMENTATION_BYTES == 100 * 1024 * 1024 and t.TIME_TO_FULL_S == 4 * 3600


def test_rules_render_the_read_models_definitions() -> None:
    used = fill(d.REDIS_MEMORY_USED, "")
    assert used in fill(RULES["redis-no-maxmemory"].condition, "")
    hit_ratio = d.render(d.REDIS_HIT_RATIO, "instance", "", "5m")
    assert hit_ratio in fill(RULES["redis-evicting-hit-ratio-low"].condition, "")
    mc_ratio = d.render(d.MEMCACHED_HIT_RATIO, "instance", "", "5m")
    assert mc_ratio in fill(RULES["memcached-evicting-hit-ratio-low"].condition, "")


@pytest.mark.parametrize(
    ("server", "version", "affected"),
    [
        ("redis", "7.0.15", True),  # the 7.0 line never got the 2025 Lua fixes
        ("redis", "7.2.10", True),
        ("redis", "7.2.11", False),
        ("redis", "7.4.6", False),
        ("redis", "8.4.0", False),  # newer than every fixed line
        ("valkey", "8.0.1", True),
        ("valkey", "8.0.6", False),
        ("valkey", "8.1.3", True),
        ("valkey", "7.2.5", False),  # a line the table does not judge
        ("redis", "not-a-version", False),
    ],
)
def test_known_defects_by_release_line(server: str, version: str, affected: bool) -> None:
    assert bool(defects_of(server, version)) is affected


def test_output_buffer_limits_per_class() -> None:
    batch = SampleBatch(0, ())
    parse_output_buffer_limits("normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60", batch)
    got = {dict(labels)["class"] + "/" + dict(labels)["limit"]: v
           for labels, v in zip(batch.labels, batch.values, strict=True)}  # fmt: skip
    assert got["replica/hard"] == 256e6 and got["pubsub/soft"] == 8e6 and got["normal/hard"] == 0
    empty = SampleBatch(0, ())
    parse_output_buffer_limits("normal 0 0", empty)
    assert not empty.names


#: two lines of a real redis-server 7.0 CLIENT LIST
CLIENT_LIST = (
    "id=3 addr=127.0.0.1:34442 laddr=127.0.0.1:16999 fd=8 name=app1 age=12 idle=0 flags=N "
    "db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=10 multi-mem=0 "
    "rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22298 events=r cmd=client|list user=default "
    "redir=-1 resp=2\n"
    "id=9 addr=127.0.0.2:50110 laddr=127.0.0.1:16999 fd=9 name= age=400 idle=400 flags=P "
    "db=0 sub=1 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 "
    "rbp=0 obl=0 oll=3 omem=4096 tot-mem=25000 events=r cmd=subscribe user=reader "
    "redir=-1 resp=2\n"
)


def test_a_client_list_summarised() -> None:
    summary = summarise(parse_client_list(CLIENT_LIST), idle_after_s=300)
    assert summary.listed == 2 and summary.idle == 1 and summary.pubsub == 1
    assert summary.by_name == {"app1": 1, "(unnamed)": 1}
    assert summary.by_address == {"127.0.0.1": 1, "127.0.0.2": 1}
    assert summary.by_user == {"default": 1, "reader": 1}
    assert summary.buffer_max_bytes["pubsub"] == 4096 and summary.buffer_bytes["normal"] == 0


def test_top_with_other_keeps_no_name_outside_the_top() -> None:
    from collections import Counter

    ranked = top_with_other(Counter({"a": 5, "b": 4, "c": 3, "d": 1, "other": 1}), 2)
    assert ranked == [("a", 5), ("b", 4), ("other", 5)]


def test_doctor_settings_name_what_is_wrong() -> None:
    with pytest.raises(SettingsError) as bad:
        parse_doctor_settings(
            {"interval": "soon", "namespaces_top": 0, "namespaces_floor": 500,
             "namespaces_budget": 100, "enabled": "yes"}
        )  # fmt: skip
    text = str(bad.value)
    for key in ("doctor.interval", "doctor.namespaces_top", "doctor.namespaces_floor",
                "doctor.enabled"):  # fmt: skip
        assert key in text
    assert parse_doctor_settings({}).interval_s == 30.0
