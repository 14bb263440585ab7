"""Garbled replies never escape a Redis parser as anything but `ReplyFormatError`.

Policy (see each parser's module docstring): a reply of the wrong top-level shape raises
`ReplyFormatError` naming the command; lines or entries inside a reply that do not fit are
skipped one by one.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.redis_cluster_info import parse_cluster_info
from collectors.redis_config import parse_config_get
from collectors.redis_info import parse_info
from collectors.redis_latency import parse_latency_histogram, parse_latency_latest
from collectors.redis_probe import parse_probe
from collectors.redis_reply import ReplyFormatError
from collectors.redis_slowlog import parse_slowlog, slowlog_event_data
from tests.unit.redis_replies import batch, reply

scalars = st.one_of(st.binary(max_size=20), st.integers(), st.none(), st.floats())
resp = st.recursive(scalars, lambda inner: st.lists(inner, max_size=6), max_leaves=40)

info_words = st.sampled_from(
    [
        "# Server",
        "# Replication",
        "# Keyspace",
        "# Commandstats",
        "# Latencystats",
        "# Errorstats",
        "uptime_in_seconds",
        "server_time_usec",
        "slave0",
        "db0",
        "cmdstat_get",
        "latency_percentiles_usec_get",
        "errorstat_ERR",
        "master_host",
        "master_link_status",
        ":",
        ",",
        "=",
        "keys=",
        "calls=",
        "p99=",
        "offset=",
        "lag=",
        "1",
        "-1",
        "nan",
        "ok",
        "x",
    ]
)
info_text = st.lists(
    st.one_of(st.lists(info_words, max_size=6).map("".join), st.text(max_size=30)), max_size=40
).map("\r\n".join)


def survives(parse: Any, *args: Any) -> None:
    with contextlib.suppress(ReplyFormatError):
        parse(*args)


@settings(max_examples=300, deadline=None)
@given(info_text)
def test_info_text(text: str) -> None:
    out = batch()
    parse_info(text.encode("utf-8", "surrogatepass"), out)
    assert len(out.names) == len(out.labels) == len(out.values)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_info_bytes(data: bytes) -> None:
    parse_info(data, batch())


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_info_truncated_real_reply(data: st.DataObject) -> None:
    raw = reply("valkey8_primary_info_all")
    cut = data.draw(st.integers(0, len(raw)))
    parse_info(raw[:cut] + data.draw(st.binary(max_size=30)), batch())


@settings(max_examples=300, deadline=None)
@given(resp)
def test_structured_parsers(value: Any) -> None:
    survives(parse_latency_latest, value, batch())
    survives(parse_latency_histogram, value, batch(), None)
    survives(parse_config_get, value, batch())
    survives(parse_cluster_info, value, batch())
    survives(parse_info, value, batch())
    try:
        entries = parse_slowlog(value)
    except ReplyFormatError:
        return
    for entry in entries:
        slowlog_event_data(entry, keep_args=True, arg_max_len=3)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(),
            st.binary(max_size=8),
            st.lists(st.one_of(st.integers(), st.binary(max_size=8)), max_size=8),
        ),
        max_size=12,
    )
)
def test_histogram_like_maps(value: list[Any]) -> None:
    survives(parse_latency_histogram, value, batch(), {"get": (1.0, 2.0)})


@settings(max_examples=200, deadline=None)
@given(resp, resp, resp)
def test_probe(server: Any, cluster: Any, commands: Any) -> None:
    with contextlib.suppress(ReplyFormatError):
        parse_probe(server, cluster, commands)
