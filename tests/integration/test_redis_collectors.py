"""Every Redis collector against real redis-server / valkey-server processes and a cluster."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import Any

from collectors.base import Capabilities, CollectContext, Unsupported
from collectors.redis_cluster_info import ClusterInfoCollector
from collectors.redis_config import ConfigCollector
from collectors.redis_conn import RedisConnection
from collectors.redis_info import InfoCollector
from collectors.redis_latency import LatencyHistogramCollector, LatencyLatestCollector
from collectors.redis_probe import probe
from collectors.redis_slowlog import SlowlogCollector
from monitor.model import SampleBatch
from monitor.targets import parse_target_url
from tests.servers import LocalCluster, LocalRedis

ALL = (
    InfoCollector,
    LatencyLatestCollector,
    LatencyHistogramCollector,
    SlowlogCollector,
    ConfigCollector,
    ClusterInfoCollector,
)
Sample = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Poller:
    """One connection and one instance of every collector, as the scheduler would hold them."""

    def __init__(self, conn: RedisConnection, caps: Capabilities, options: dict[str, Any]):
        self.conn = conn
        self.ctx = CollectContext(
            target=conn.target, capabilities=caps, log=logging.getLogger("test"), options=options
        )
        self.collectors = [cls() for cls in ALL]
        self.unsupported: dict[str, str] = {}

    async def poll(self) -> Sample:
        out = SampleBatch(ts_ms=int(time.time() * 1000), target_labels=())
        for collector in self.collectors:
            if collector.name in self.unsupported:
                continue
            try:
                await collector.collect(self.conn, self.ctx, out)
            except Unsupported as exc:
                self.unsupported[collector.name] = str(exc)
        return dict(zip(zip(out.names, out.labels, strict=True), out.values, strict=True))


def run(url: str, body: Callable[[Poller], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        conn = await RedisConnection.open(parse_target_url(url))
        try:
            await body(Poller(conn, await probe(conn), options))
        finally:
            await conn.close()

    asyncio.run(main())


def cli(server: LocalRedis, *args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-p", str(server.port), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout


def test_every_collector_on_real_server(any_redis: LocalRedis) -> None:
    cli(any_redis, "config", "set", "slowlog-log-slower-than", "0")
    sets = 50

    async def body(poller: Poller) -> None:
        first = await poller.poll()
        for i in range(sets):
            await poller.conn.execute("SET", f"session:{i}", "secret-token-value")
        poller.ctx.events.clear()
        second = await poller.poll()
        set_calls = second[("redis_commands_total", (("cmd", "set"),))]
        assert set_calls - first.get(("redis_commands_total", (("cmd", "set"),)), 0) >= sets
        assert second[("redis_db_keys", (("db", "db0"),))] >= sets
        assert second[("redis_config_maxclients", ())] > 0
        assert second[("redis_commands_latencies_usec_count", (("cmd", "set"),))] >= sets
        assert second[("redis_slowlog_length", ())] > 0
        commands = [e.data["command"] for e in poller.ctx.events if e.kind == "slowlog"]
        assert commands.count("set") >= sets
        assert not any("secret" in str(e.data) for e in poller.ctx.events)
        ids = [e.data["id"] for e in poller.ctx.events]
        assert ids == sorted(set(ids))
        assert poller.unsupported == {}
        assert ("redis_cluster_state", ()) not in second

    run(any_redis.url, body)


def test_slowlog_args_option_keeps_truncated_values(redis_server: LocalRedis) -> None:
    cli(redis_server, "config", "set", "slowlog-log-slower-than", "0")

    async def body(poller: Poller) -> None:
        await poller.poll()
        await poller.conn.execute("SET", "k", "x" * 100)
        await poller.poll()
        (event,) = [e for e in poller.ctx.events if str(e.data["command"]).startswith("set k")]
        assert event.data["command"] == "set k " + "x" * 8 + "…"

    run(redis_server.url, body, slowlog_args=True, slowlog_arg_max_len=8)


def test_replica_shows_in_primary_replication_series(redis_server: LocalRedis) -> None:
    replica = LocalRedis(extra=["--replicaof", "127.0.0.1", str(redis_server.port)]).start()
    try:
        deadline = time.monotonic() + 15
        while "state=online" not in cli(redis_server, "info", "replication"):
            assert time.monotonic() < deadline, "replica never came online"
            time.sleep(0.05)

        async def body(poller: Poller) -> None:
            got = await poller.poll()
            labels = (
                ("slave_ip", "127.0.0.1"),
                ("slave_port", str(replica.port)),
                ("slave_state", "online"),
            )
            assert ("redis_connected_slave_offset_bytes", labels) in got
            assert ("redis_connected_slave_lag_seconds", labels) in got
            assert poller.ctx.capabilities.facts["replicas"] == f"127.0.0.1:{replica.port}/online"

        run(redis_server.url, body)
    finally:
        replica.stop()


def test_acl_denied_latency_and_slowlog_only_skip_those(redis_server: LocalRedis) -> None:
    cli(
        redis_server,
        "acl",
        "setuser",
        "limited",
        "on",
        ">pw",
        "~*",
        "+@all",
        "-latency",
        "-slowlog",
    )

    async def body(poller: Poller) -> None:
        got = await poller.poll()
        assert set(poller.unsupported) == {
            "redis_latency_latest",
            "redis_latency_histogram",
            "redis_slowlog",
        }
        for reason in poller.unsupported.values():
            assert "\n" not in reason
        assert "refused by ACL" in poller.unsupported["redis_slowlog"]
        assert ("redis_connected_clients", ()) in got
        assert ("redis_config_maxmemory", ()) in got
        errors_before = cli(redis_server, "info", "errorstats")
        await poller.poll()
        assert cli(redis_server, "info", "errorstats") == errors_before

    run(f"redis://limited:pw@127.0.0.1:{redis_server.port}", body)


def test_renamed_config_is_skipped_without_sending_it() -> None:
    server = LocalRedis(extra=["--rename-command", "CONFIG", '""']).start()
    try:

        async def body(poller: Poller) -> None:
            got = await poller.poll()
            assert "redis_config" in poller.unsupported
            assert ("redis_connected_clients", ()) in got
            assert "errorstat" not in cli(server, "info", "errorstats")

        run(server.url, body)
    finally:
        server.stop()


def test_cluster_info_on_real_cluster(redis_cluster: LocalCluster) -> None:
    async def body(poller: Poller) -> None:
        assert poller.ctx.capabilities.cluster_enabled
        got = await poller.poll()
        assert got[("redis_cluster_state", ())] == 1
        assert got[("redis_cluster_slots_assigned", ())] == 16384
        assert got[("redis_cluster_known_nodes", ())] == 6
        assert got[("redis_cluster_size", ())] == 3
        assert got[("redis_cluster_enabled", ())] == 1
        assert "redis_cluster_info" not in poller.unsupported

    run(redis_cluster.seed_url, body)
