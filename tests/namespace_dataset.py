"""A realistic keyspace for the namespace sampler's accuracy test and bench: six key
patterns of different sizes, types and TTLs, and the exact truth to compare with (key count
and `MEMORY USAGE` summed over every key, per pattern; keys per TTL bucket)."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass

import redis

__all__ = ["Truth", "populate", "PATTERNS"]

#: pattern -> (share of the keys, TTL seconds or None, type)
PATTERNS: dict[str, tuple[float, int | None, str]] = {
    "user:{id}:profile": (0.35, None, "string"),
    "session:{id}": (0.25, 1800, "string"),
    "cache:api:v2:item:{id}": (0.20, 12 * 3600, "string"),
    "rate:{id}": (0.10, 2 * 86400, "string"),
    "feed:{id}": (0.07, None, "list"),
    "cart:{id}:items": (0.03, 3600 * 6, "hash"),
}


@dataclass(frozen=True, slots=True)
class Truth:
    keys: dict[str, int]
    memory: dict[str, int]
    ttl: dict[str, Counter[str]]


def _key(pattern: str, rng: random.Random) -> str:
    if pattern.startswith("session"):
        return pattern.replace("{id}", uuid.UUID(int=rng.getrandbits(128)).hex)
    return pattern.replace("{id}", str(rng.randrange(10**12)))


def _bucket(ttl: int | None) -> str:
    if ttl is None:
        return "none"
    return "under_1h" if ttl < 3600 else "under_1d" if ttl < 86400 else "longer"


def populate(port: int, total: int, seed: int = 7) -> Truth:
    rng = random.Random(seed)
    conn = redis.Redis(port=port, socket_timeout=60)
    keys_of: dict[str, list[str]] = {}
    pipe = conn.pipeline(transaction=False)
    for pattern, (share, ttl, kind) in PATTERNS.items():
        names = list({_key(pattern, rng) for _ in range(int(total * share))})
        keys_of[pattern] = names
        for i, name in enumerate(names):
            size = int(rng.lognormvariate(5.0, 0.6))  # ~150 bytes, long tail
            if kind == "string":
                pipe.set(name, "v" * size, ex=ttl)
            elif kind == "list":
                pipe.rpush(name, *("e" * (size // 8 + 1) for _ in range(12)))
            else:
                pipe.hset(name, mapping={f"sku{j}": "q" * (size // 10 + 1) for j in range(6)})
                if ttl:
                    pipe.expire(name, ttl)
            if i % 5000 == 4999:
                pipe.execute()
        pipe.execute()
    memory: dict[str, int] = {}
    for pattern, names in keys_of.items():
        total_bytes = 0
        for start in range(0, len(names), 5000):
            usage = conn.pipeline(transaction=False)
            for name in names[start : start + 5000]:
                usage.memory_usage(name, samples=0)
            total_bytes += sum(int(u or 0) for u in usage.execute())
        memory[pattern] = total_bytes
    conn.close()
    return Truth(
        keys={p: len(n) for p, n in keys_of.items()},
        memory=memory,
        ttl={p: Counter({_bucket(PATTERNS[p][1]): len(n)}) for p, n in keys_of.items()},
    )
