"""Hot keys against real servers: LFU sampling, MONITOR bursts, fallbacks and the CLI."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from collectors.hotkeys import HotKeyDetector, HotKeyOptions, Method
from collectors.hotkeys.keyspecs import CommandTable
from collectors.hotkeys.monitor_burst import BurstResult, run_monitor_burst
from collectors.hotkeys.monitor_lines import MonitorCommand
from collectors.hotkeys.topk import SpaceSaving
from monitor.commands import hotkeys as hotkeys_command
from monitor.targets import parse_target_url
from tests.servers import LocalRedis

LFU = ["--maxmemory", "50mb", "--maxmemory-policy", "allkeys-lfu"]


@pytest.fixture
def lfu_redis() -> Iterator[LocalRedis]:
    server = LocalRedis(extra=LFU).start()
    try:
        yield server
    finally:
        server.stop()


class Zipf:
    """Random key names (they do not reveal their rank) with Zipf(1.1) access weights."""

    def __init__(self, keys: int, seed: int) -> None:
        rng = random.Random(seed)
        self.keys = [f"k:{rng.getrandbits(48):012x}" for _ in range(keys)]
        self.weights = [1 / (rank + 1) ** 1.1 for rank in range(keys)]
        self._rng = rng

    def top(self, n: int) -> set[str]:
        return set(self.keys[:n])

    def draw(self, n: int) -> list[str]:
        return self._rng.choices(self.keys, self.weights, k=n)

    def fill(self, client: redis.Redis) -> None:
        pipe = client.pipeline(transaction=False)
        for key in self.keys:
            pipe.set(key, "v")
        pipe.execute()

    def run(self, client: redis.Redis, operations: int) -> None:
        pipe = client.pipeline(transaction=False)
        for index, key in enumerate(self.draw(operations)):
            pipe.get(key) if index % 10 else pipe.set(key, "w")
        pipe.execute()


class Background:
    """Zipf load from a thread until stopped (MONITOR only sees commands while it runs)."""

    def __init__(self, zipf: Zipf, port: int) -> None:
        self._stop = threading.Event()
        self._client = redis.Redis(port=port)
        self._zipf = zipf
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._zipf.run(self._client, 200)

    def __enter__(self) -> Background:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._client.close()


def _steps(detector: HotKeyDetector, count: int) -> None:
    """`count` steps, then close (all inside one event loop, which owns the connection)."""

    async def run() -> None:
        try:
            for _ in range(count):
                await detector.step()
        finally:
            await detector.close()

    asyncio.run(run())


def test_lfu_sampling_finds_the_zipf_top_keys(lfu_redis: LocalRedis) -> None:
    zipf = Zipf(500, seed=1)
    client = redis.Redis(port=lfu_redis.port)
    zipf.fill(client)
    zipf.run(client, 30_000)
    detector = HotKeyDetector(parse_target_url(lfu_redis.url), HotKeyOptions(top=10))

    async def scenario() -> None:
        try:
            await detector.step()
            # load between every two readings: a rate read off ~8 counter steps of one
            # interval alone misses a top key a few times in a hundred (geometric waits)
            zipf.run(client, 30_000)
            # the sampler ignores readings of a key taken < 0.5 s apart (too noisy)
            await asyncio.sleep(0.6)
            await detector.step()
            zipf.run(client, 30_000)
            await asyncio.sleep(0.6)
            await detector.step()
        finally:
            await detector.close()

    asyncio.run(scenario())
    report = detector.report()
    assert report.methods == (Method.LFU,)
    found = {entry.key for entry in report.hot}
    assert zipf.top(3) <= found
    assert all(e.ops_per_sec is not None and e.error is not None for e in report.hot)
    assert report.big and report.big[0].type == "string" and report.big[0].bytes > 0


def test_monitor_bursts_find_hot_keys_with_reads_and_writes(redis_server: LocalRedis) -> None:
    zipf = Zipf(300, seed=2)
    client = redis.Redis(port=redis_server.port)
    zipf.fill(client)
    options = HotKeyOptions(monitor=True, burst_s=0.3, burst_every_s=0.0, window_s=30.0)
    detector = HotKeyDetector(parse_target_url(redis_server.url), options)
    with Background(zipf, redis_server.port):
        _steps(detector, 3)
    report = detector.report()
    assert report.methods == (Method.MONITOR,)
    top = report.hot[0]
    assert top.key in zipf.top(2)
    assert top.reads_per_sec is not None and top.writes_per_sec is not None
    assert top.reads_per_sec > top.writes_per_sec > 0
    assert top.error is not None and top.ops_per_sec is not None and top.ops_per_sec > 0


def test_monitor_burst_is_cut_at_its_deadline_while_the_reader_stalls(
    redis_server: LocalRedis,
) -> None:
    observer = redis.Redis(port=redis_server.port)
    seen: list[tuple[bool, float]] = []

    def monitor_clients() -> int:
        return sum("O" in c["flags"] for c in observer.client_list())

    async def stall_the_loop() -> None:
        # Once the burst's MONITOR is attached, block the event loop (so nobody reads its
        # stream) and watch the server from outside: its MONITOR client must disappear at
        # the deadline anyway, cut by the watchdog thread.
        limit = time.monotonic() + 10
        while not monitor_clients() and time.monotonic() < limit:  # noqa: ASYNC110 (the server's state)
            await asyncio.sleep(0.005)
        attached = time.monotonic()
        while monitor_clients() and time.monotonic() < limit:
            time.sleep(0.01)  # noqa: ASYNC251 (blocking the loop is the point)
        seen.append((monitor_clients() == 0, time.monotonic() - attached))

    zipf = Zipf(50, seed=3)
    summary: SpaceSaving[bytes] = SpaceSaving(100)
    target = parse_target_url(redis_server.url)

    async def run() -> BurstResult:
        burst = asyncio.ensure_future(
            run_monitor_burst(target, 0.2, CommandTable.builtin(), summary)
        )
        await stall_the_loop()
        return await burst

    with Background(zipf, redis_server.port):
        result = asyncio.run(run())
    ((gone, after_s),) = seen
    assert gone and after_s < 2.0  # the deadline (0.2 s) plus the server noticing
    assert result.cut_by_deadline
    assert result.duration_s <= 0.2 + 1e-3
    assert monitor_clients() == 0


def test_a_burst_reads_the_whole_stream_and_parses_it_afterwards(redis_server: LocalRedis) -> None:
    """The reader keeps up: every command the load ran while attached is in the burst (a
    parsing reader caught ~10k lines a second and missed most of a busy server's)."""
    client = redis.Redis(port=redis_server.port)
    seen: list[MonitorCommand] = []
    target = parse_target_url(redis_server.url)

    async def run() -> BurstResult:
        summary: SpaceSaving[bytes] = SpaceSaving(100)
        burst = asyncio.ensure_future(
            run_monitor_burst(target, 3.0, CommandTable.builtin(), summary, on_command=seen.append)
        )
        while not any("O" in c["flags"] for c in client.client_list()):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        pipe = client.pipeline(transaction=False)
        for i in range(2000):
            pipe.get(f"k:{i}")
        await asyncio.to_thread(pipe.execute)
        return await burst

    result = asyncio.run(run())
    gets = [c for c in seen if c.argv[0].lower() == b"get"]
    assert len(gets) == 2000 and result.keyed == 2000
    assert result.commands >= 2000


def test_without_lfu_or_monitor_the_detector_says_why(redis_server: LocalRedis) -> None:
    detector = HotKeyDetector(parse_target_url(redis_server.url))
    _steps(detector, 1)
    report = detector.report()
    assert report.methods == (Method.NONE,)
    assert any("maxmemory-policy is 'noeviction'" in note for note in report.notes)
    assert any("background MONITOR bursts are off" in note for note in report.notes)


def test_refused_object_freq_falls_back_to_monitor(lfu_redis: LocalRedis) -> None:
    admin = redis.Redis(port=lfu_redis.port)
    admin.execute_command("ACL", "SETUSER", "nofreq", "on", ">pw", "~*", "+@all", "-object")
    target = parse_target_url(f"redis://nofreq:pw@127.0.0.1:{lfu_redis.port}")
    options = HotKeyOptions(monitor=True, burst_s=0.2, burst_every_s=0.0)
    zipf = Zipf(100, seed=4)
    zipf.fill(admin)
    detector = HotKeyDetector(target, options)
    with Background(zipf, lfu_redis.port):
        _steps(detector, 2)
    report = detector.report()
    assert report.methods == (Method.MONITOR,)
    assert any(note.startswith("lfu dropped") and "OBJECT" in note for note in report.notes)
    assert report.hot and report.hot[0].key in zipf.top(3)


def test_saturated_lfu_counters_hand_over_to_monitor_bursts_when_enabled() -> None:
    # lfu-log-factor 0: every access raises the counter, so ~250 reads saturate a key, as
    # ~311k do at the default factor on a long-running busy server.
    server = LocalRedis(extra=[*LFU, "--lfu-log-factor", "0"]).start()
    try:
        client = redis.Redis(port=server.port)
        zipf = Zipf(100, seed=6)
        zipf.fill(client)
        zipf.run(client, 60_000)  # the top ~40 keys end at 255
        target = parse_target_url(server.url)
        options = HotKeyOptions(window_s=2.0, monitor=True, burst_s=0.2, max_loss=0.2)
        detector = HotKeyDetector(target, options)

        async def until_lfu_hands_over() -> None:
            deadline = time.monotonic() + 15
            while detector.method is not Method.MONITOR and time.monotonic() < deadline:
                await detector.step()
                await asyncio.sleep(0.25)

        async def run() -> None:
            try:
                await until_lfu_hands_over()
                assert detector.method is Method.MONITOR
                with Background(zipf, server.port):
                    for _ in range(8):
                        await detector.step()
                        await asyncio.sleep(0.25)
            finally:
                await detector.close()

        asyncio.run(run())
        report = detector.report()
        assert report.methods == (Method.MONITOR,)
        assert any(
            note.startswith("lfu dropped") and "MONITOR bursts take over" in note
            for note in report.notes
        )
        assert report.hot and report.hot[0].key in zipf.top(3)
    finally:
        server.stop()


def test_monitor_refused_by_acl_is_reported(redis_server: LocalRedis) -> None:
    admin = redis.Redis(port=redis_server.port)
    admin.execute_command("ACL", "SETUSER", "nomon", "on", ">pw", "~*", "+@all", "-monitor")
    target = parse_target_url(f"redis://nomon:pw@127.0.0.1:{redis_server.port}")
    detector = HotKeyDetector(target, HotKeyOptions(monitor=True, burst_every_s=0.0))
    _steps(detector, 1)
    report = detector.report()
    assert report.methods == (Method.NONE,)
    assert any("MONITOR refused" in note and "NOPERM" in note for note in report.notes)


def test_cli_json_output(lfu_redis: LocalRedis, capsys: pytest.CaptureFixture[str]) -> None:
    zipf = Zipf(200, seed=5)
    zipf.fill(redis.Redis(port=lfu_redis.port))
    parser = argparse.ArgumentParser()
    hotkeys_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["hotkeys", lfu_redis.url, "--duration", "2s", "--top", "5", "--format", "json"]
    )
    with Background(zipf, lfu_redis.port):  # LFU sees accesses made while it samples
        assert args.run(args) == 0
    result = json.loads(capsys.readouterr().out)
    rows = result["keys"]
    assert len(rows) == 5
    assert result["methods"] == ["lfu"] and result["samples"][0]["commands"] > 0
    assert result["patterns"] and result["patterns"][0]["pattern"] == "k:{id}"
    assert {"key", "ops_per_sec", "error", "method", "instance"} <= rows[0].keys()
    assert rows[0]["method"] == "lfu" and rows[0]["instance"] == lfu_redis.address
    assert zipf.keys[0] in {row["key"] for row in rows}


def test_cli_rejects_a_bad_url(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    hotkeys_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["hotkeys", "ftp://x", "--duration", "1s"])
    assert args.run(args) == 2
    assert "unknown scheme" in capsys.readouterr().err
