"""A realistic cache workload for the demo: API-response caching and session traffic.

Runs in its own process (so it never competes with the collectors for the GIL), against:
- a standalone Redis with a small maxmemory and an LFU policy: read-through API-response
  cache with Zipf-distributed keys, values of 0.5-4 KB and TTLs, so it evicts;
- a Redis Cluster: sessions as hashes (`HSET` + `EXPIRE`, `HGETALL`, occasional `DEL`);
- a memcached with little memory: the same read-through pattern, evicting per slab.

Key names are random-looking (hashes), so nothing about a key's rank shows in its name.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import random
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as EventType

import numpy as np

__all__ = ["WorkloadSpec", "start_workload", "zipf_keys"]


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    redis_url: str | None = None
    cluster_seed: tuple[str, int] | None = None
    memcached: tuple[str, int] | None = None
    ops_per_second: int = 2500
    key_space: int = 20_000
    zipf_s: float = 1.1
    seed: int = 7


def zipf_keys(
    prefix: str, count: int, key_space: int, s: float, rng: np.random.Generator
) -> list[str]:
    """`count` keys drawn from a Zipf(s) law over `key_space` keys with hashed names."""
    ranks = np.arange(1, key_space + 1, dtype=np.float64)
    weights = ranks**-s
    weights /= weights.sum()
    picks = rng.choice(key_space, size=count, p=weights)
    # a fixed random permutation hides rank behind the hashed name
    permutation = np.random.default_rng(12345).permutation(key_space)
    return [
        f"{prefix}:{hashlib.blake2b(str(permutation[i]).encode(), digest_size=6).hexdigest()}"
        for i in picks
    ]


def _run(spec: WorkloadSpec, stop: EventType) -> None:
    from monitor.localservers import die_with_parent

    die_with_parent()
    import redis
    from pymemcache.client.base import Client as MemcacheClient
    from redis.cluster import RedisCluster

    rng = np.random.default_rng(spec.seed)
    prng = random.Random(spec.seed)
    standalone = redis.Redis.from_url(spec.redis_url) if spec.redis_url else None
    cluster = (
        RedisCluster(host=spec.cluster_seed[0], port=spec.cluster_seed[1])
        if spec.cluster_seed
        else None
    )
    memcache = (
        MemcacheClient(spec.memcached, connect_timeout=2, timeout=2) if spec.memcached else None
    )
    payloads = [prng.randbytes(size) for size in (512, 1024, 2048, 4096)]
    batch = 100
    interval = batch / max(spec.ops_per_second, 1)
    while not stop.is_set():
        started = time.monotonic()
        try:
            if standalone is not None:
                keys = zipf_keys("api", batch // 2, spec.key_space, spec.zipf_s, rng)
                pipe = standalone.pipeline(transaction=False)
                for key in keys:
                    pipe.get(key)
                for key, value in zip(keys, pipe.execute(), strict=True):
                    if value is None:
                        standalone.set(key, prng.choice(payloads), ex=prng.randint(60, 600))
            if cluster is not None:
                for key in zipf_keys("session", batch // 4, spec.key_space // 4, 0.9, rng):
                    if prng.random() < 0.7:
                        if not cluster.hgetall(key):
                            cluster.hset(
                                key,
                                mapping={"user": key[-6:], "cart": "3", "seen": str(time.time())},
                            )
                            cluster.expire(key, prng.randint(300, 1800))
                    elif prng.random() < 0.9:
                        cluster.hset(key, "seen", str(time.time()))
                    else:
                        cluster.delete(key)
            if memcache is not None:
                for key in zipf_keys("frag", batch // 4, spec.key_space, spec.zipf_s, rng):
                    if memcache.get(key) is None:
                        memcache.set(key, prng.choice(payloads), expire=prng.randint(60, 900))
        except Exception:
            # a server restarting under the demo: back off and carry on
            time.sleep(0.5)
        spent = time.monotonic() - started
        if spent < interval:
            time.sleep(interval - spent)


def start_workload(spec: WorkloadSpec) -> tuple[BaseProcess, EventType]:
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    process = context.Process(
        target=_run, args=(spec, stop), name="cachewatch-demo-workload", daemon=True
    )
    process.start()
    return process, stop
