"""memcached reply parsers over replies captured from a real memcached 1.6.18."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from collectors.base import Capabilities, CollectContext, Unsupported
from collectors.memcached_conn import (
    ErrorReply,
    MetadumpEntry,
    ProtocolError,
    parse_metadump_line,
    parse_stats_reply,
    parse_watch_line,
)
from collectors.memcached_conns import add_conn_stats
from collectors.memcached_items import MemcachedItemsCollector, add_item_stats
from collectors.memcached_settings import MemcachedSettingsCollector, add_settings
from collectors.memcached_slabs import MemcachedSlabsCollector, add_slab_stats
from collectors.memcached_stats import MemcachedStatsCollector, add_general_stats
from collectors.redis_conn import CommandError
from monitor.model import Labels, MetricType, SampleBatch
from monitor.targets import Target, TargetKind

REPLIES = Path(__file__).parent / "replies"


def pairs_of(name: str) -> list[tuple[str, str]]:
    return parse_stats_reply("stats", (REPLIES / f"memcached_1.6_{name}.txt").read_bytes())


def samples(batch: SampleBatch) -> dict[tuple[str, Labels], float]:
    result: dict[tuple[str, Labels], float] = {}
    for name, labels, value in zip(batch.names, batch.labels, batch.values, strict=True):
        assert (name, labels) not in result, f"duplicate series {name}{labels}"
        result[(name, labels)] = value
    return result


def batch() -> SampleBatch:
    return SampleBatch(ts_ms=0, target_labels=(("instance", "x"),))


def cmd(command: str, status: str) -> Labels:
    return (("command", command), ("status", status))


def test_stats_reply_pairs_keep_order_and_values_with_dots():
    pairs = pairs_of("stats")
    assert pairs[0][0] == "pid"
    assert dict(pairs)["version"] == "1.6.18"
    assert dict(pairs)["libevent"] == "2.1.12-stable"


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"STAT a 1\r\n", "without END"),
        (b"STAT a 1\r\nEND\r\nSTAT b 2\r\n", "data after END"),
        (b"VALUE x 0 1\r\nEND\r\n", "expected 'STAT key value'"),
        (b"STAT\r\nEND\r\n", "line 1"),
    ],
)
def test_malformed_stats_reply_is_a_protocol_error_naming_the_command(reply, message):
    with pytest.raises(ProtocolError, match=message) as info:
        parse_stats_reply("stats items", reply)
    assert "'stats items'" in str(info.value)


def test_error_reply_raises_command_error_naming_the_command():
    with pytest.raises(CommandError, match=r"'stats bogus': ERROR"):
        parse_stats_reply("stats bogus", (REPLIES / "memcached_1.6_stats_unknown.txt").read_bytes())
    with pytest.raises(CommandError, match="SERVER_ERROR out of memory"):
        parse_stats_reply("stats", b"SERVER_ERROR out of memory\r\n")


def test_general_stats_match_memcached_exporter_names_and_derived_set_count():
    out = batch()
    add_general_stats(pairs_of("stats"), out)
    got = samples(out)
    stats = dict(pairs_of("stats"))
    assert got[("memcached_version", (("version", "1.6.18"),))] == 1
    assert got[("memcached_current_items", ())] == float(stats["curr_items"])
    assert got[("memcached_limit_bytes", ())] == 64 * 1024 * 1024
    assert got[("memcached_read_bytes_total", ())] == float(stats["bytes_read"])
    assert got[("memcached_process_system_cpu_seconds_total", ())] == float(stats["rusage_system"])
    # the captured workload: 135 gets (101 hits), one cas miss, one cas with a bad token
    assert got[("memcached_commands_total", cmd("get", "hit"))] == 101
    assert got[("memcached_commands_total", cmd("get", "miss"))] == 34
    assert got[("memcached_commands_total", cmd("cas", "miss"))] == 1
    assert got[("memcached_commands_total", cmd("cas", "badval"))] == 1
    assert got[("memcached_commands_total", cmd("incr", "miss"))] == 1
    assert got[("memcached_commands_total", cmd("set", "hit"))] == float(stats["cmd_set"]) - 2
    assert got[("memcached_commands_total", cmd("flush", "hit"))] == 0
    assert got[("cachewatch_memcached_items_evicted_unfetched_total", ())] == 0
    assert got[("cachewatch_memcached_listen_disabled_seconds_total", ())] == 0
    assert ("memcached_max_connections", ()) not in got  # from stats settings, as the exporter
    for name in out.names:
        assert out.metadata[name] == MemcachedStatsCollector.metrics[name]


def test_evicting_server_reports_evictions_in_stats_and_per_slab():
    out = batch()
    add_general_stats(pairs_of("stats_evicting"), out)
    evicted = samples(out)[("memcached_items_evicted_total", ())]
    assert evicted > 0
    out = batch()
    add_item_stats(pairs_of("stats_items_evicting"), out)
    got = samples(out)
    per_slab = {
        labels: value
        for (name, labels), value in got.items()
        if name == "memcached_slab_items_evicted_total"
    }
    assert sum(per_slab.values()) == evicted
    assert got[("memcached_slab_items_evicted_unfetched_total", (("slab", "12"),))] == 4230


def test_items_per_slab_with_lru_hits_labelled():
    out = batch()
    add_item_stats(pairs_of("stats_items"), out)
    got = samples(out)
    assert got[("memcached_slab_current_items", (("slab", "1"),))] >= 1
    assert ("memcached_slab_lru_hits_total", (("lru", "hot"), ("slab", "1"))) in got
    assert ("memcached_slab_mem_requested_bytes", (("slab", "1"),)) in got
    assert (
        MemcachedItemsCollector.metrics["memcached_slab_mem_requested_bytes"][0] is MetricType.GAUGE
    )
    slabs = {dict(labels)["slab"] for name, labels in got if name == "memcached_slab_current_items"}
    assert len(slabs) > 5


def test_slabs_per_slab_layout_and_commands():
    out = batch()
    add_slab_stats(pairs_of("stats_slabs"), out)
    got = samples(out)
    fields = dict(pairs_of("stats_slabs"))
    one = (("slab", "1"),)
    assert got[("memcached_slab_chunk_size_bytes", one)] == 96
    assert got[("memcached_slab_chunks_used", one)] == float(fields["1:used_chunks"])
    set_one = (("command", "set"), ("slab", "1"), ("status", "hit"))
    expected = (
        float(fields["1:cmd_set"]) - float(fields["1:cas_hits"]) - float(fields["1:cas_badval"])
    )
    assert got[("memcached_slab_commands_total", set_one)] == expected
    assert got[("cachewatch_memcached_active_slabs", ())] == float(fields["active_slabs"])
    assert set(out.metadata) <= set(MemcachedSlabsCollector.metrics)


def test_settings_flags_numbers_and_info():
    out = batch()
    add_settings(pairs_of("stats_settings"), out)
    got = samples(out)
    assert got[("memcached_max_connections", ())] == 1024
    assert got[("memcached_lru_crawler_enabled", ())] == 1
    assert got[("memcached_lru_crawler_hot_max_factor", ())] == 0.2
    assert got[("cachewatch_memcached_slab_automove_mode", ())] == 1
    assert got[("cachewatch_memcached_evictions_enabled", ())] == 1
    assert got[("cachewatch_memcached_dump_enabled", ())] == 1
    info = [labels for name, labels in got if name == "cachewatch_memcached_settings_info"]
    assert info == [
        (
            ("binding_protocol", "auto-negotiate"),
            ("hash_algorithm", "murmur3"),
            ("listen_interface", "127.0.0.1"),
            ("tls_min_version", "tlsv1.2"),
        )
    ]
    assert (
        MemcachedSettingsCollector.metrics["cachewatch_memcached_settings_info"][0]
        is MetricType.INFO
    )


def test_crawler_settings_only_while_crawler_is_on():
    pairs = [(k, "no" if k == "lru_crawler" else v) for k, v in pairs_of("stats_settings")]
    out = batch()
    add_settings(pairs, out)
    got = samples(out)
    assert got[("memcached_lru_crawler_enabled", ())] == 0
    assert ("memcached_lru_crawler_sleep", ()) not in got


def test_conns_are_summarised_by_state_and_transport():
    out = batch()
    add_conn_stats(pairs_of("stats_conns"), out)
    got = samples(out)
    assert got[("cachewatch_memcached_connections_by_state", (("state", "listening"),))] == 1
    assert got[("cachewatch_memcached_connections_by_state", (("state", "new_cmd"),))] == 3
    assert (
        got[("cachewatch_memcached_client_connections_by_transport", (("transport", "tcp"),))] == 4
    )
    assert got[("cachewatch_memcached_client_idle_seconds_max", ())] == 0
    assert all(("fd", v) not in labels for labels in out.labels for v in ("22", "23"))


def test_bad_values_are_skipped_not_guessed():
    out = batch()
    add_general_stats(
        [
            ("curr_items", "nan"),
            ("bytes", "12 "),
            ("evictions", "1e3"),
            ("total_items", "9" * 400),
            ("reclaimed", "7"),
        ],
        out,
    )
    assert samples(out) == {("memcached_items_reclaimed_total", ()): 7}


def test_watch_lines_decode_keys():
    lines = (REPLIES / "memcached_1.6_watch.txt").read_bytes().splitlines()
    fields = [parse_watch_line(line) for line in lines]
    gets = [f["key"] for f in fields if f["type"] == "item_get"]
    assert gets[:3] == ["key:3", "key:999", "a%b"]
    assert fields[0]["status"] == "found"
    stores = [f for f in fields if f["type"] == "item_store"]
    assert stores[0]["key"] == "a%b" and stores[0]["cmd"] == "set"


def test_metadump_lines():
    lines = (REPLIES / "memcached_1.6_metadump.txt").read_bytes().splitlines()
    entries = [parse_metadump_line(line) for line in lines[:-1]]
    assert lines[-1] == b"END"
    assert entries[2] == MetadumpEntry(
        key="a%b",
        expires_at=None,
        last_access=entries[2].last_access,
        fetched=False,
        slab=1,
        size=63,
    )
    assert entries[0].fetched
    with pytest.raises(ProtocolError, match="metadump line"):
        parse_metadump_line(b"key=x exp=soon la=1 cas=1 fetch=no cls=1 size=2")


def test_unix_socket_clients_count_under_their_listeners_transport():
    out = batch()
    add_conn_stats(pairs_of("stats_conns_unix"), out)
    got = samples(out)
    assert (
        got[("cachewatch_memcached_client_connections_by_transport", (("transport", "unix"),))] == 1
    )
    assert got[("cachewatch_memcached_connections_by_state", (("state", "parse_cmd"),))] == 1


class RefusingConnection:
    """A connection seam whose server answers every `stats` with one fixed error line."""

    def __init__(self, line: bytes) -> None:
        self.line = line

    async def stats(self, arg: str = "") -> list[tuple[str, str]]:
        return parse_stats_reply(f"stats {arg}".strip(), self.line + b"\r\n")


@pytest.mark.parametrize("collector", [MemcachedSettingsCollector, MemcachedItemsCollector])
def test_a_refused_stats_group_switches_only_that_collector_off(collector):
    ctx = CollectContext(
        Target(kind=TargetKind.MEMCACHED, host="h", port=1),
        Capabilities(),
        logging.getLogger("test"),
    )
    with pytest.raises(Unsupported, match="ERROR"):
        asyncio.run(collector().collect(RefusingConnection(b"ERROR"), ctx, batch()))
    with pytest.raises(ErrorReply, match="SERVER_ERROR out of memory"):
        asyncio.run(
            collector().collect(RefusingConnection(b"SERVER_ERROR out of memory"), ctx, batch())
        )
