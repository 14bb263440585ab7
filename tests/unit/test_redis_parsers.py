"""Redis/Valkey parsers on replies captured from real Redis 7.0 and Valkey 8.0."""

from __future__ import annotations

import pytest

from collectors.redis_cluster_info import ClusterInfoCollector, parse_cluster_info
from collectors.redis_config import parse_config_get
from collectors.redis_info import InfoCollector, parse_commandstats, parse_info
from collectors.redis_latency import (
    go_float_label,
    parse_latency_histogram,
    parse_latency_latest,
)
from collectors.redis_probe import parse_probe, parse_version
from collectors.redis_reply import ReplyFormatError, refusal_reason
from collectors.redis_slowlog import parse_slowlog, slowlog_event_data
from tests.unit.redis_replies import SERVERS, batch, reply, samples


@pytest.mark.parametrize("server", SERVERS)
def test_info_primary_has_redis_exporter_names(server: str) -> None:
    out = batch()
    summary = parse_info(reply(f"{server}_primary_info_all"), out)
    got = samples(out)
    names = set(out.names)
    for name in (
        "redis_connected_clients",
        "redis_commands_processed_total",
        "redis_evicted_keys_total",
        "redis_memory_max_bytes",
        "redis_uptime_in_seconds",
        "redis_start_time_seconds",
        "redis_cpu_user_seconds_total",
        "redis_db_keys_expiring",
        "redis_latest_fork_seconds",
    ):
        assert name in names, name
    assert got[("redis_db_keys", (("db", "db0"),))] >= 1
    assert got[("redis_commands_total", (("cmd", "set"),))] >= 20000
    assert got[("redis_commands_duration_seconds_total", (("cmd", "set"),))] > 0
    assert got[("redis_errors_total", (("err", "ERR"),))] >= 1
    assert ("redis_latency_percentiles_usec", (("cmd", "set"), ("quantile", "99"))) in got
    replica = (
        ("slave_ip", "127.0.0.1"),
        ("slave_port", str(int(summary.identity["tcp_port"]) + 2)),
        ("slave_state", "online"),
    )
    assert ("redis_connected_slave_offset_bytes", replica) in got
    assert summary.role == "master"
    assert [r.port for r in summary.replicas] == [replica[1][1]]
    assert summary.server == ("valkey" if server == "valkey8" else "redis")
    # every static name the parser produced is in the collector's catalog
    assert {n for n in names if n not in out.metadata} <= set(InfoCollector.metrics)


@pytest.mark.parametrize("server", SERVERS)
def test_info_instance_info_labels(server: str) -> None:
    out = batch()
    parse_info(reply(f"{server}_primary_info_all"), out)
    (labels,) = [
        dict(lbl)
        for n, lbl in zip(out.names, out.labels, strict=True)
        if n == "redis_instance_info"
    ]
    assert labels["role"] == "master"
    assert labels["redis_mode"] == "standalone"
    assert labels["maxmemory_policy"] == "noeviction"
    assert set(labels) >= {
        "redis_version",
        "redis_build_id",
        "os",
        "tcp_port",
        "run_id",
        "process_id",
        "master_replid",
    }
    assert ("valkey_version" in labels) == (server == "valkey8")


@pytest.mark.parametrize("server", SERVERS)
def test_info_replica_reports_master_link(server: str) -> None:
    out = batch()
    summary = parse_info(reply(f"{server}_replica_info_all"), out)
    got = samples(out)
    master = (("master_host", "127.0.0.1"), ("master_port", summary.master_port))
    assert summary.role == "slave"
    assert got[("redis_master_link_up", master)] == 1
    assert ("redis_slave_repl_offset", master) in got
    assert got[("redis_slave_info", (*master, ("read_only", "1")))] == 1


def test_info_start_time_uses_server_clock() -> None:
    out = batch()
    parse_info(b"# Server\r\nuptime_in_seconds:100\r\nserver_time_usec:5000000123\r\n", out)
    assert samples(out)[("redis_start_time_seconds", ())] == 4900


def test_info_status_words_and_scales() -> None:
    out = batch()
    parse_info(
        b"# Persistence\r\nrdb_last_bgsave_status:err\r\naof_last_write_status:ok\r\n"
        b"# Stats\r\nlatest_fork_usec:2500\r\n",
        out,
    )
    got = samples(out)
    assert got[("redis_rdb_last_bgsave_status", ())] == 0
    assert got[("redis_aof_last_write_status", ())] == 1
    assert got[("redis_latest_fork_seconds", ())] == pytest.approx(0.0025)


def test_info_unknown_numeric_field_gets_described_cachewatch_name() -> None:
    out = batch()
    parse_info(b"# Stats\r\nbrand_new_counter:7\r\nbrand_new_text:hello\r\n", out)
    assert samples(out) == {("cachewatch_redis_brand_new_counter", ()): 7}
    assert "cachewatch_redis_brand_new_counter" in out.metadata


def test_info_skips_garbled_lines_and_keeps_the_rest() -> None:
    out = batch()
    parse_info(
        b"# Clients\r\nconnected_clients:abc\r\nno colon here\r\n:\r\n"
        b"blocked_clients:3\r\n# Keyspace\r\ndb0:keys=x,expires=1\r\n"
        b"db1:keys=2,expires=1,avg_ttl=1500\r\n",
        out,
    )
    got = samples(out)
    assert got[("redis_blocked_clients", ())] == 3
    assert ("redis_connected_clients", ()) not in got
    assert ("redis_db_keys", (("db", "db0"),)) not in got
    assert got[("redis_db_avg_ttl_seconds", (("db", "db1"),))] == 1.5


def test_info_rejects_non_string_reply() -> None:
    with pytest.raises(ReplyFormatError, match="INFO"):
        parse_info([b"x"], batch())


def test_commandstats_totals() -> None:
    stats = parse_commandstats("cmdstat_get:calls=5,usec=10,usec_per_call=2.00\r\nother:1\r\n")
    assert stats == {"get": (5.0, 10.0)}


@pytest.mark.parametrize("server", SERVERS)
def test_latency_latest(server: str) -> None:
    out = batch()
    assert parse_latency_latest(reply(f"{server}_latency_latest"), out) == 1
    got = samples(out)
    assert got[("redis_latency_spike_duration_seconds", (("event_name", "command"),))] == 0.02
    assert got[("redis_latency_spike_last", (("event_name", "command"),))] > 1.7e9


@pytest.mark.parametrize("server", SERVERS)
def test_latency_histogram_is_cumulative_with_inf_bucket(server: str) -> None:
    out = batch()
    parse_latency_histogram(reply(f"{server}_latency_histogram"), out, {"set": (20002, 5000)})
    got = samples(out)
    buckets = sorted(
        (float(dict(lbl)["le"]), v)
        for (n, lbl), v in got.items()
        if n == "redis_commands_latencies_usec_bucket" and dict(lbl)["cmd"] == "set"
    )
    counts = [v for _, v in buckets]
    assert counts == sorted(counts)
    assert buckets[-1][0] == float("inf")
    assert got[("redis_commands_latencies_usec_count", (("cmd", "set"),))] == counts[-1]
    assert got[("redis_commands_latencies_usec_sum", (("cmd", "set"),))] == 5000


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (1, "1"),
        (132, "132"),
        (999999, "999999"),
        (1048576, "1.048576e+06"),
        (1e6, "1e+06"),
        (0.5, "0.5"),
        (2.5e-5, "2.5e-05"),
    ],
)
def test_le_labels_match_go_formatting(value: float, label: str) -> None:
    assert go_float_label(float(value)) == label


@pytest.mark.parametrize("server", SERVERS)
def test_slowlog_entries_and_redaction(server: str) -> None:
    entries = parse_slowlog(reply(f"{server}_slowlog_get"))
    assert [e.id for e in entries] == sorted((e.id for e in entries), reverse=True)
    named = next(e for e in entries if e.client_name == "myapp")
    assert named.args[:2] == ("client", "setname")
    setter = next(e for e in entries if e.args[:1] == ("set",))
    data = slowlog_event_data(setter)
    assert data["command"] == "set"
    assert set(data) == {
        "id",
        "command",
        "duration_us",
        "client_addr",
        "client_name",
        "origin",
        "ts",
    }
    assert data["origin"] == "application"
    assert named.origin == "application"
    kept = slowlog_event_data(setter, keep_args=True, arg_max_len=1)
    assert kept["command"] == "set " + " ".join(
        a[:1] + ("…" if len(a) > 1 else "") for a in setter.args[1:]
    )


@pytest.mark.parametrize("server", SERVERS)
def test_config_get(server: str) -> None:
    out = batch()
    settings = parse_config_get(reply(f"{server}_config_get"), out)
    got = samples(out)
    assert settings["maxmemory-policy"] == "noeviction"
    assert got[("redis_config_maxclients", ())] == 10000
    assert got[("redis_config_maxmemory", ())] == 0
    assert got[("cachewatch_redis_config_latency_monitor_threshold_seconds", ())] == 0.001
    assert got[("cachewatch_redis_config_info", (("maxmemory_policy", "noeviction"),))] == 1


CLUSTER_INFO = (
    b"cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n"
    b"cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:6\r\n"
    b"cluster_size:3\r\ncluster_current_epoch:6\r\ncluster_my_epoch:1\r\n"
    b"cluster_stats_messages_sent:120\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n"
)


def test_cluster_info() -> None:
    out = batch()
    parse_cluster_info(CLUSTER_INFO, out)
    got = samples(out)
    assert got[("redis_cluster_state", ())] == 1
    assert got[("redis_cluster_slots_ok", ())] == 16384
    assert got[("redis_cluster_messages_sent_total", ())] == 120
    assert set(out.names) <= set(ClusterInfoCollector.metrics)


@pytest.mark.parametrize("server", SERVERS)
def test_probe(server: str) -> None:
    info = reply(f"{server}_primary_info_all")
    caps = parse_probe(info, info, reply(f"{server}_command_info"))
    assert caps.server == ("valkey" if server == "valkey8" else "redis")
    assert caps.version[0] == (8 if server == "valkey8" else 7)
    assert caps.allows("latency histogram") and caps.allows("config get")
    assert not caps.cluster_enabled


def test_probe_marks_renamed_command_refused() -> None:
    info = reply("redis7_primary_info_all")
    commands = reply("redis7_command_info")
    commands[2] = None  # what COMMAND INFO says for `rename-command CONFIG ""`
    caps = parse_probe(info, info, commands)
    assert not caps.allows("config get")
    assert caps.allows("slowlog get")


def test_version_and_refusals() -> None:
    assert parse_version("7.0.15") == (7, 0, 15)
    assert parse_version("8.1.0-rc1") == (8, 1)
    assert refusal_reason("NOPERM User u has no permissions to run the 'slowlog' command")
    assert refusal_reason("ERR unknown command 'CONFIG', with args beginning with: 'GET'")
    assert refusal_reason("LOADING Redis is loading the dataset in memory") is None
