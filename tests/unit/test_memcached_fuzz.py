"""Garbled memcached replies: parse functions raise only their documented errors, and the
collectors' parsers skip bad fields without ever raising."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.memcached_conn import (
    ProtocolError,
    parse_metadump_line,
    parse_stats_reply,
    parse_watch_line,
)
from collectors.memcached_conns import add_conn_stats
from collectors.memcached_items import add_item_stats
from collectors.memcached_settings import add_settings
from collectors.memcached_slabs import add_slab_stats
from collectors.memcached_stats import add_general_stats
from collectors.redis_conn import CommandError
from monitor.model import SampleBatch

REPLIES = Path(__file__).parent / "replies"
CAPTURED = [
    (REPLIES / f"memcached_1.6_{name}.txt").read_bytes()
    for name in ("stats", "stats_settings", "stats_slabs", "stats_items", "stats_conns")
]
PARSERS = [add_general_stats, add_settings, add_slab_stats, add_item_stats, add_conn_stats]


def garble(data: bytes, edits: list[tuple[int, bytes]]) -> bytes:
    for position, text in edits:
        at = position % (len(data) + 1)
        data = data[:at] + text + data[at + len(text) :]
    return data


edits = st.lists(st.tuples(st.integers(0, 20000), st.binary(min_size=1, max_size=8)), max_size=6)
keys = st.sampled_from(
    [
        "curr_items",
        "cmd_set",
        "cas_hits",
        "1:cmd_set",
        "items:1:number",
        "items:x:age",
        "3:state",
        "3:addr",
        "lru_crawler",
        "maxconns",
        "version",
        "get_hits",
        "active_slabs",
        "inter",
        "12:cas_badval",
        ":",
        "items::",
    ]
) | st.text(max_size=12)
values = st.sampled_from(
    ["1", "-1", "0.5", "yes", "nan", "inf", "", "conn_read", "tcp:1"]
) | st.text(max_size=12)


@settings(max_examples=300, deadline=None)
@given(which=st.integers(0, len(CAPTURED) - 1), changes=edits)
def test_garbled_reply_gives_pairs_or_a_clear_error(which, changes):
    data = garble(CAPTURED[which], changes)
    try:
        pairs = parse_stats_reply("stats", data)
    except (ProtocolError, CommandError) as exc:
        assert "'stats'" in str(exc)
        return
    out = SampleBatch(ts_ms=0, target_labels=())
    PARSERS[which](pairs, out)
    assert all(not math.isnan(v) and not math.isinf(v) for v in out.values)


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(keys, values), max_size=30))
def test_every_collector_parser_skips_bad_fields(pairs):
    for parse in PARSERS:
        out = SampleBatch(ts_ms=0, target_labels=())
        parse(pairs, out)
        assert len(out.names) == len(out.labels) == len(out.values)
        assert all(isinstance(v, float | int) and math.isfinite(v) for v in out.values)
        assert set(out.names) <= set(out.metadata)


@settings(max_examples=300, deadline=None)
@given(line=st.binary(max_size=200))
def test_log_line_parsers_never_crash(line):
    assert isinstance(parse_watch_line(line), dict)
    try:
        entry = parse_metadump_line(line)
    except ProtocolError as exc:
        assert "metadump line" in str(exc)
    else:
        assert entry.size == int(parse_watch_line(line)["size"])
