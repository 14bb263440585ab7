"""Which numbers need attention: the thresholds behind every colour in the TUI and the web.

A view maps a `Level` to its own colours; it never picks a threshold itself. Where the
default rule pack alerts on the same number, the WARN threshold here is the rule's own
(`tests/unit/test_levels.py` reads the pack and checks), so a colour and an alert never
disagree about what is wrong.
"""

from __future__ import annotations

import enum

__all__ = [
    "Level",
    "MEMORY_WARN",
    "MEMORY_BAD",
    "HIT_RATIO_WARN",
    "HIT_RATIO_BAD",
    "P99_WARN_MS",
    "P99_BAD_MS",
    "LAG_WARN_S",
    "LAG_BAD_S",
    "EVICTIONS_WARN_PER_S",
    "memory_level",
    "hit_ratio_level",
    "p99_level",
    "lag_level",
    "evictions_level",
]


class Level(enum.Enum):
    OK = "ok"
    WARN = "warn"
    BAD = "bad"


#: used / limit; RedisMemoryNearMaxmemory fires above MEMORY_WARN
MEMORY_WARN = 0.9
MEMORY_BAD = 0.95
#: the application's hits / lookups; RedisHitRatioLow fires below HIT_RATIO_WARN
HIT_RATIO_WARN = 0.8
HIT_RATIO_BAD = 0.5
#: the application's p99; RedisCommandLatencyP99High fires above P99_WARN_MS (per command)
P99_WARN_MS = 10.0
P99_BAD_MS = 50.0
#: replication lag in seconds; RedisReplicaLagging fires above LAG_WARN_S
LAG_WARN_S = 10.0
LAG_BAD_S = 30.0
#: evicted keys per second; RedisEvictingKeys / MemcachedEvicting fire above this
EVICTIONS_WARN_PER_S = 1.0


def memory_level(fraction: float | None) -> Level:
    if fraction is None:
        return Level.OK
    if fraction >= MEMORY_BAD:
        return Level.BAD
    return Level.WARN if fraction > MEMORY_WARN else Level.OK


def hit_ratio_level(ratio: float | None) -> Level:
    if ratio is None:
        return Level.OK
    if ratio < HIT_RATIO_BAD:
        return Level.BAD
    return Level.WARN if ratio < HIT_RATIO_WARN else Level.OK


def p99_level(p99_ms: float | None) -> Level:
    if p99_ms is None:
        return Level.OK
    return Level.BAD if p99_ms >= P99_BAD_MS else Level.WARN if p99_ms > P99_WARN_MS else Level.OK


def lag_level(lag_s: float | None, link_up: bool | None) -> Level:
    if link_up is False:
        return Level.BAD
    if lag_s is None:
        return Level.OK
    return Level.BAD if lag_s >= LAG_BAD_S else Level.WARN if lag_s > LAG_WARN_S else Level.OK


def evictions_level(per_s: float | None) -> Level:
    return Level.WARN if per_s is not None and per_s > EVICTIONS_WARN_PER_S else Level.OK
