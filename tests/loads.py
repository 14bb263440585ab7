"""Application loads for tests: a thread that writes, reads or fills a real server until
told to stop (every load is bounded by its `stop` event; tests always set it)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from pymemcache.client.base import Client as MemcacheClient

__all__ = ["AppCounts", "paced_gets", "fill_redis", "fill_memcached", "run_loads"]


@dataclass
class AppCounts:
    """What an application measured itself."""

    gets: int = 0
    hits: int = 0
    started: float = 0.0
    stopped: float = 0.0


def paced_gets(port: int, per_s: float, stop: threading.Event, counts: AppCounts) -> None:
    """`per_s` GETs a second over `key:0..1999`, of which the caller made 0..999 exist (a
    ~50 % hit ratio), counting its own hits."""
    client = redis.Redis(port=port)
    chooser = random.Random(11)
    counts.started = time.monotonic()
    batch = max(1, round(per_s / 20))
    sent = 0
    while not stop.is_set():
        due = counts.started + sent / per_s
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(min(pause, 0.05))
            continue
        pipe = client.pipeline(transaction=False)
        for _ in range(batch):
            pipe.get(f"key:{chooser.randrange(2000)}")
        replies = pipe.execute()
        counts.gets += len(replies)
        counts.hits += sum(1 for r in replies if r is not None)
        sent += batch
    counts.stopped = time.monotonic()
    client.close()


def fill_redis(port: int, stop: threading.Event) -> None:
    """Writes that keep an LRU cache at maxmemory and evicting, and GETs that mostly miss."""
    client = redis.Redis(port=port)
    chooser = random.Random(5)
    value = "x" * 1000
    n = 0
    while not stop.is_set():
        pipe = client.pipeline(transaction=False)
        for _ in range(100):
            n += 1
            pipe.set(f"page:{n}", value)
            pipe.get(f"page:{chooser.randrange(n * 20)}")
        pipe.execute()
        time.sleep(0.01)
    client.close()


def fill_memcached(port: int, stop: threading.Event) -> None:
    """Sets of 2 KB items, faster than a small memcached can keep them, and a few GETs."""
    client = MemcacheClient(("127.0.0.1", port), default_noreply=False)
    chooser = random.Random(6)
    value = b"y" * 2000
    n = 0
    while not stop.is_set():
        for _ in range(100):
            n += 1
            client.set(f"item:{n}", value)
        client.get_many([f"item:{chooser.randrange(1, n + 1)}" for _ in range(20)])
        time.sleep(0.005)
    client.close()


Load = tuple[Callable[..., None], tuple[object, ...]]


def run_loads(*loads: Load) -> tuple[threading.Event, list[threading.Thread]]:
    """Start `(function, args)` loads, each given the shared stop event as last argument."""
    stop = threading.Event()
    threads = [threading.Thread(target=fn, args=(*args, stop), daemon=True) for fn, args in loads]
    for thread in threads:
        thread.start()
    return stop, threads


def zipf_keys(count: int) -> list[str]:
    """Key names whose rank they do not reveal, over two patterns (`user:{id}:profile` for
    even ranks, `session:{hex}` for odd), hottest first."""
    return [
        f"user:{100_000 + 37 * rank}:profile" if rank % 2 == 0 else f"session:{rank * 7919:016x}"
        for rank in range(count)
    ]


def zipf_load(port: int, keys: list[str], stop: threading.Event, exponent: float = 1.0) -> None:
    """GETs (and 15 % SETs) of `keys` by Zipf(`exponent`) rank, pipelined, until stopped."""
    client = redis.Redis(port=port)
    chooser = random.Random(21)
    weights = [1 / (rank + 1) ** exponent for rank in range(len(keys))]
    while not stop.is_set():
        pipe = client.pipeline(transaction=False)
        for key in chooser.choices(keys, weights, k=200):
            if chooser.random() < 0.15:
                pipe.set(key, "w")
            else:
                pipe.get(key)
        pipe.execute()
    client.close()


def fill_keys(port: int, keys: list[str]) -> None:
    client = redis.Redis(port=port)
    for start in range(0, len(keys), 5000):
        client.mset({key: "v" for key in keys[start : start + 5000]})
    client.close()
