"""The memcached connection and collectors against a real memcached."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from pymemcache.client.base import Client

from collectors.base import Capabilities, CollectContext
from collectors.memcached_conn import MemcachedConnection, parse_watch_line
from collectors.memcached_conns import MemcachedConnsCollector
from collectors.memcached_items import MemcachedItemsCollector
from collectors.memcached_settings import MemcachedSettingsCollector
from collectors.memcached_slabs import MemcachedSlabsCollector
from collectors.memcached_stats import MemcachedStatsCollector
from collectors.redis_conn import CommandError, ConnectionLost
from monitor.model import Labels, SampleBatch
from monitor.targets import Target, TargetError, TargetKind, parse_target_url
from tests.servers import LocalMemcached

T = TypeVar("T")
COLLECTORS = [
    MemcachedStatsCollector,
    MemcachedSettingsCollector,
    MemcachedSlabsCollector,
    MemcachedItemsCollector,
    MemcachedConnsCollector,
]


def run(make: Callable[[], Awaitable[T]]) -> T:
    """Run one coroutine; the outer bound only keeps a broken test from hanging the suite."""

    async def bounded() -> T:
        async with asyncio.timeout(30):
            return await make()

    return asyncio.run(bounded())


def client(server: LocalMemcached) -> Client:
    # replies awaited: with noreply, a poll on another connection can overtake the writes
    return Client(("127.0.0.1", server.port), connect_timeout=5, timeout=5, default_noreply=False)


async def poll(target: Target, *collectors: type) -> dict[tuple[str, Labels], float]:
    conn = await MemcachedConnection.open(target)
    try:
        out = SampleBatch(ts_ms=0, target_labels=target.series_labels())
        ctx = CollectContext(target, Capabilities(server="memcached"), logging.getLogger("test"))
        for collector in collectors:
            await collector().collect(conn, ctx, out)
    finally:
        await conn.close()
    result: dict[tuple[str, Labels], float] = {}
    for name, labels, value in zip(out.names, out.labels, out.values, strict=True):
        assert (name, labels) not in result, f"two collectors emit {name}{labels}"
        assert name in out.metadata
        result[(name, labels)] = value
    return result


def command(name: str, status: str) -> tuple[str, Labels]:
    return ("memcached_commands_total", (("command", name), ("status", status)))


def test_command_counters_count_what_a_client_did(memcached_server):
    target = parse_target_url(memcached_server.url)
    before = run(lambda: poll(target, MemcachedStatsCollector))
    mc = client(memcached_server)
    for i in range(40):
        mc.set(f"k{i}", b"v" * i)
    for i in range(50):
        mc.get(f"k{i}")  # 40 hits, 10 misses
    mc.delete("k0")
    mc.delete("missing")
    mc.close()
    after = run(lambda: poll(target, MemcachedStatsCollector))

    def delta(key: tuple[str, Labels]) -> float:
        return after[key] - before.get(key, 0.0)

    assert delta(command("set", "hit")) == 40
    assert delta(command("get", "hit")) == 40
    assert delta(command("get", "miss")) == 10
    assert delta(command("delete", "hit")) == 1
    assert delta(command("delete", "miss")) == 1
    assert after[("memcached_current_items", ())] == 39


def test_all_collectors_together_give_distinct_described_series(memcached_server):
    mc = client(memcached_server)
    mc.set("a", b"1")
    mc.close()
    got = run(lambda: poll(parse_target_url(memcached_server.url), *COLLECTORS))
    assert got[("memcached_max_connections", ())] == 1024
    assert got[("memcached_limit_bytes", ())] == 64 * 1024 * 1024
    assert got[("memcached_slab_current_items", (("slab", "1"),))] == 1
    assert got[("cachewatch_memcached_connections_by_state", (("state", "listening"),))] >= 1
    versions = [dict(labels)["version"] for name, labels in got if name == "memcached_version"]
    assert len(versions) == 1 and versions[0][0].isdigit()


def test_small_memcached_evicts_and_shows_it_per_slab():
    server = LocalMemcached(memory_mb=4).start()
    try:
        mc = client(server)
        value = b"x" * 2000
        for i in range(8000):  # ~16 MB into 4 MB
            mc.set(f"key:{i}", value, noreply=True)
        mc.version()  # waits until every noreply set was processed
        mc.close()
        got = run(
            lambda: poll(
                parse_target_url(server.url), MemcachedStatsCollector, MemcachedItemsCollector
            )
        )
    finally:
        server.stop()
    evicted = got[("memcached_items_evicted_total", ())]
    per_slab = {
        dict(labels)["slab"]: value
        for (name, labels), value in got.items()
        if name == "memcached_slab_items_evicted_total" and value > 0
    }
    assert evicted > 1000
    assert sum(per_slab.values()) == evicted
    assert len(per_slab) == 1  # every value has the same size, so one slab class
    slab = next(iter(per_slab))
    assert got[("memcached_slab_items_evicted_unfetched_total", (("slab", slab),))] == evicted


def test_watch_fetchers_yields_the_keys_fetched_during_the_burst(memcached_server):
    target = parse_target_url(memcached_server.url)
    wanted = {"hot:1", "hot:2", "cold:%1"}

    async def consume() -> list[str]:
        conn = await MemcachedConnection.open(target)
        seen: list[str] = []
        async with contextlib.aclosing(conn.watch("fetchers", duration_s=10)) as lines:
            async for line in lines:
                fields = parse_watch_line(line)
                if fields.get("type") == "item_get":
                    seen.append(fields["key"])
                if wanted <= set(seen):
                    break
        return seen

    def fetch() -> None:
        mc = client(memcached_server)
        mc.set("hot:1", b"x")
        for key in ("hot:1", "hot:1", "hot:2", "cold:%1"):
            mc.get(key)
        mc.close()

    async def scenario() -> list[str]:
        watcher = asyncio.create_task(consume())
        probe = await MemcachedConnection.open(target)
        try:
            for _ in range(1000):
                if dict(await probe.stats()).get("log_watchers") == "1":
                    break
                await asyncio.sleep(0.01)
        finally:
            await probe.close()
        await asyncio.to_thread(fetch)
        return await watcher

    seen = run(scenario)
    # memcached logs a store's own lookup as a fetch too, hence at least (not exactly) two
    assert seen.count("hot:1") >= 2
    assert seen.count("hot:2") == 1


def test_watch_ends_at_its_deadline_on_a_quiet_server(memcached_server):
    async def scenario() -> list[bytes]:
        conn = await MemcachedConnection.open(parse_target_url(memcached_server.url))
        lines = [line async for line in conn.watch("evictions", duration_s=0.2)]
        with pytest.raises(ConnectionLost):
            await conn.stats()
        return lines

    assert run(scenario) == []


def test_paused_memcached_times_out_instead_of_hanging():
    server = LocalMemcached(memory_mb=8).start()
    try:
        target = parse_target_url(server.url, timeout_s=0.3)

        async def scenario() -> None:
            conn = await MemcachedConnection.open(target)
            assert await conn.version()
            server.pause()
            try:
                with pytest.raises(ConnectionLost, match=r"no reply to 'stats' within 0.3s"):
                    await conn.stats()
            finally:
                server.resume()
                await conn.close()

        run(scenario)
    finally:
        server.stop()


def test_unknown_stats_group_is_a_command_error_and_the_connection_stays_usable(memcached_server):
    async def scenario() -> list[tuple[str, str]]:
        conn = await MemcachedConnection.open(parse_target_url(memcached_server.url))
        try:
            with pytest.raises(CommandError, match=r"'stats nonsense'"):
                await conn.stats("nonsense")
            return await conn.stats()
        finally:
            await conn.close()

    assert dict(run(scenario))["version"]


def test_metadump_is_bounded_and_a_full_dump_leaves_the_connection_usable(memcached_server):
    mc = client(memcached_server)
    for i in range(30):
        mc.set(f"dump:{i}", b"v")
    mc.close()

    async def scenario() -> tuple[int, set[str]]:
        target = parse_target_url(memcached_server.url)
        conn = await MemcachedConnection.open(target)
        cut = [entry async for entry in conn.metadump(limit=5)]
        with pytest.raises(ConnectionLost):
            await conn.stats()
        # the server's crawler may still be finishing the dump we cut short: a new dump
        # gets BUSY (an error) or a partial answer until it has; try for a few seconds
        keys: set[str] = set()
        for _ in range(50):
            conn = await MemcachedConnection.open(target)
            try:
                with contextlib.suppress(CommandError):
                    keys = {entry.key async for entry in conn.metadump(limit=1000)}
                assert await conn.version()
            finally:
                await conn.close()
            if len(keys) == 30:
                break
            await asyncio.sleep(0.1)
        return len(cut), keys

    cut, keys = run(scenario)
    assert cut == 5
    assert keys == {f"dump:{i}" for i in range(30)}


def test_password_is_refused_at_connect_without_showing_it():
    target = parse_target_url("memcached://user:hunter2@127.0.0.1:1")
    with pytest.raises(TargetError, match="authentication is not supported") as info:
        run(lambda: MemcachedConnection.open(target))
    assert "hunter2" not in str(info.value)


def test_unix_socket_target():
    # memcached runs as nobody, so the socket's directory must be reachable for it
    workdir = Path(tempfile.mkdtemp(prefix="cachewatch-memcached-"))
    workdir.chmod(0o777)
    path = workdir / "memcached.sock"
    proc = subprocess.Popen(
        ["memcached", "-s", str(path), "-a", "0777", "-m", "8", "-u", "nobody"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not path.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        target = Target(kind=TargetKind.MEMCACHED, unix_path=str(path))
        got = run(lambda: poll(target, MemcachedStatsCollector, MemcachedConnsCollector))
    finally:
        proc.kill()
        proc.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)
    assert ("memcached_uptime_seconds", ()) in got
    assert (
        got[("cachewatch_memcached_client_connections_by_transport", (("transport", "unix"),))] >= 1
    )


def test_slab_memory_allocated_is_reported(memcached_server: LocalMemcached) -> None:
    from collectors.memcached_slabs import add_slab_stats

    writer = client(memcached_server)
    writer.set("k", b"v" * 1000)
    writer.close()

    async def main() -> SampleBatch:
        conn = await MemcachedConnection.open(parse_target_url(memcached_server.url))
        try:
            out = SampleBatch(ts_ms=0, target_labels=())
            add_slab_stats(await conn.stats("slabs"), out)
            return out
        finally:
            await conn.close()

    batch = asyncio.run(main())
    # one slab page was allocated for the item
    assert batch.values[batch.names.index("memcached_malloced_bytes")] >= 1024 * 1024
