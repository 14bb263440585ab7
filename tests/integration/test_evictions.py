"""Eviction trends from real servers driven into eviction: a Redis with 4 MB of maxmemory
and a memcached with 4 MB, polled every 0.5 s into a real store."""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pymemcache.client.base
import pytest
import redis

from monitor.commands import evictions as command
from monitor.config import config_from_urls
from monitor.evictions import Trend, eviction_summary
from monitor.query import Engine
from monitor.runtime import Runtime
from tests.servers import LocalCluster, LocalMemcached, LocalRedis, free_port

#: short windows so a few seconds of history cover them; 1h shows how a lacking one reads
WINDOWS = (("3s", 3.0), ("6s", 6.0), ("1h", 3600.0))


@pytest.fixture
def small_redis() -> Iterator[LocalRedis]:
    server = LocalRedis(extra=["--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru"]).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def small_memcached() -> Iterator[LocalMemcached]:
    server = LocalMemcached(memory_mb=4).start()
    try:
        yield server
    finally:
        server.stop()


class Writer:
    """Writes in a thread, `batch(tick)` keys every 50 ms, until stopped."""

    def __init__(self, write: Callable[[int, int], None], batch: Callable[[int], int]) -> None:
        self.write, self.batch = write, batch
        self.keys = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        tick = 0
        while not self._stop.is_set():
            tick += 1
            count = self.batch(tick)
            self.write(self.keys, count)
            self.keys += count
            self._stop.wait(0.05)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _runtime(url: str, store: Path) -> Runtime:
    runtime = Runtime(config_from_urls([url], interval_s=0.5, store_path=str(store)))
    runtime.start_background()
    return runtime


def _wait_for(condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_redis_evicting_faster_and_faster(small_redis: LocalRedis, tmp_path: Path) -> None:
    client = redis.Redis(host="127.0.0.1", port=small_redis.port)

    def write(first: int, count: int) -> None:
        pipe = client.pipeline(transaction=False)
        for key in range(first, first + count):
            pipe.set(f"k{key}", b"v" * 1000)
            pipe.get(f"k{max(0, key - 500)}")  # half a megabyte back: mostly still there
            pipe.get(f"never{key}")  # a miss
        pipe.execute()

    runtime = _runtime(small_redis.url, tmp_path / "store")
    try:
        engine = Engine(runtime.store)
        with Writer(write, batch=lambda tick: 5 * tick):  # an ever faster write load
            _wait_for(lambda: client.info("stats")["evicted_keys"] > 0)
            time.sleep(6.5)
        summary = eviction_summary(engine, small_redis.address, windows=WINDOWS)
    finally:
        runtime.stop_background()
        client.close()
        client.connection_pool.disconnect()
    assert summary.kind == "redis"
    short, longer, hour = summary.windows
    assert short.status == longer.status == "complete"
    assert short.evictions_per_s is not None and short.evictions_per_s > 0
    assert longer.evictions_per_s is not None and longer.evictions_per_s > 0
    assert short.hit_ratio is not None and 0 < short.hit_ratio < 1
    assert hour.status == "no data" and summary.lacking == ("1h",)
    assert summary.trend.trend is Trend.RISING
    (memory,) = summary.memory
    assert memory.policy == "allkeys-lru"
    assert memory.max_bytes == 4 << 20
    assert memory.full

    # the same history, read back by the command from the store it was written to
    args = _command_args(small_redis.url, "--store", str(tmp_path / "store"), "--format", "json")
    assert args.run(args) == 0


def _command_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    return parser.parse_args(["evictions", *argv])


def test_memcached_evicting_then_quiet_per_slab(
    small_memcached: LocalMemcached, tmp_path: Path
) -> None:
    client = pymemcache.client.base.Client(("127.0.0.1", small_memcached.port))

    def write(first: int, count: int) -> None:
        # two slab classes: small values and 3 kB ones; never read, so every eviction is
        # of an item nobody fetched
        client.set_many(
            {f"k{key}": b"v" * (100 if key % 2 else 3000) for key in range(first, first + count)},
            noreply=False,
        )

    def evicted_per_slab() -> dict[bytes, int]:
        items = observer.stats("items")
        return {k: int(v) for k, v in items.items() if k.endswith(b":evicted") and int(v) > 0}

    def slab_evictions() -> int:
        return len(evicted_per_slab())

    observer = pymemcache.client.base.Client(("127.0.0.1", small_memcached.port))

    runtime = _runtime(small_memcached.url, tmp_path / "store")
    try:
        engine = Engine(runtime.store)
        with Writer(write, batch=lambda tick: 400):
            _wait_for(lambda: slab_evictions() == 2)
            # at least 3 s more, until both slabs evicted again: on a loaded machine the
            # small-value slab can go quiet first, and its trend would have nothing to fall from
            before, since = evicted_per_slab(), time.monotonic()

            def evicted_again() -> bool:
                now = evicted_per_slab()
                return all(count > before.get(slab, 0) for slab, count in now.items())

            _wait_for(lambda: time.monotonic() - since >= 3 and evicted_again())
        time.sleep(3.5)  # quiet: the eviction rate falls to nothing
        summary = eviction_summary(engine, small_memcached.address, windows=WINDOWS)
        # one window over the whole history: the shares of everything written
        history = eviction_summary(engine, small_memcached.address, windows=(("8s", 8.0),))
    finally:
        runtime.stop_background()
        client.close()
        observer.close()
    assert summary.kind == "memcached"
    longer = summary.window("6s")
    assert longer.status == "complete"
    assert summary.trend.trend is Trend.FALLING
    evicting = [s for s in summary.slabs if s.trend.points and s.trend.trend is Trend.FALLING]
    assert len(evicting) == 2
    # nothing was ever read: every eviction was of a never-fetched item
    (window,) = history.windows
    assert window.evictions_per_s is not None and window.evictions_per_s > 0
    assert window.unfetched_eviction_share == pytest.approx(1.0)
    assert window.wasted_write_share is not None and 0 < window.wasted_write_share <= 1
    slabs = [s for s in history.slabs if (s.evictions_per_s["8s"] or 0) > 0]
    assert len(slabs) == 2
    assert all(s.unfetched_eviction_share == pytest.approx(1.0) for s in slabs)
    assert sum(s.memory_share or 0 for s in history.slabs) == pytest.approx(1.0)
    (memory,) = history.memory
    assert memory.max_bytes == 4 << 20 and memory.policy == "lru" and memory.full


def test_command_polls_live_when_no_store_has_history(
    small_redis: LocalRedis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _command_args(
        small_redis.url,
        "--duration", "2s", "--interval", "0.5s", "--format", "json",
        "--store", str(tmp_path / "empty"),
    )  # fmt: skip
    assert args.run(args) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert summary["kind"] == "redis"
    assert summary["scope"] == {"label": "instance", "value": small_redis.address}
    assert summary["lacking"] == ["1m", "15m", "1h"]
    assert summary["memory"][0]["policy"] == "allkeys-lru"
    assert f"no store at {tmp_path / 'empty'}; polling live" in err
    assert f"polling {small_redis.address} every 0.5s for 2s" in err


def test_command_on_a_cluster_seed_summarises_the_cluster(
    redis_cluster: LocalCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _command_args(redis_cluster.seed_url, "--duration", "3s", "--interval", "1s")
    assert args.run(args) == 0
    out = capsys.readouterr().out
    seed = redis_cluster.seed_url.removeprefix("redis://")
    assert out.startswith(f"evictions of cluster {seed} (redis)")
    nodes = out.split("nodes (evictions/s)\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(nodes) == 1 + len(redis_cluster.nodes)  # header + every node, replicas too
    assert "no limit" in out  # the cluster's nodes have no maxmemory


def test_command_on_a_target_that_does_not_answer(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    args = _command_args(
        f"redis://cw:s3cret@127.0.0.1:{port}", "--duration", "10s", "--interval", "0.5s"
    )
    assert args.run(args) == 1
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port} is not answering" in err
    assert "s3cret" not in err
