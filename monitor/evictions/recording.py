"""The recording rules of `alerts/rules/evictions_recording.yml`, derived from the templates in
`expressions`: a test renders these and compares them with the file, so the file, the summary
and the UIs can't drift apart. Dashboards and alerts read the recorded names."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.evictions import expressions as x

__all__ = ["Recorded", "RECORDED", "GROUPS"]

#: instance-level rules keep the cluster label (absent on standalone targets) for dashboards
_INSTANCE_BY = "cluster, instance"
_IN_A_CLUSTER = 'cluster!=""'


@dataclass(frozen=True, slots=True)
class Recorded:
    group: str
    record: str
    template: str
    by: str
    matchers: str
    window: str

    @property
    def expr(self) -> str:
        return x.render(self.template, self.by, self.matchers, self.window)


def _family(
    group: str, level: str, name: str, template: str, windows: tuple[str, ...], op: str = "rate"
) -> list[Recorded]:
    by = {"instance": _INSTANCE_BY, "cluster": "cluster", "instance_slab": _INSTANCE_BY}[level]
    matchers = _IN_A_CLUSTER if level == "cluster" else ""
    return [Recorded(group, f"{level}:{name}:{op}{w}", template, by, matchers, w) for w in windows]


_TRENDS = ("1m", "15m", "1h")
_REDIS = "evictions-redis-recording"
_MEMCACHED = "evictions-memcached-recording"

RECORDED: tuple[Recorded, ...] = (
    *_family(_REDIS, "instance", "redis_evicted_keys", x.REDIS_EVICTIONS_RATE, _TRENDS),
    *_family(_REDIS, "cluster", "redis_evicted_keys", x.REDIS_EVICTIONS_RATE, _TRENDS),
    *_family(_REDIS, "instance", "redis_expired_keys", x.REDIS_EXPIRATIONS_RATE, _TRENDS),
    *_family(_REDIS, "cluster", "redis_expired_keys", x.REDIS_EXPIRATIONS_RATE, _TRENDS),
    *_family(_REDIS, "instance", "redis_keyspace_hit_ratio", x.REDIS_HIT_RATIO, ("1m",)),
    *_family(
        _REDIS,
        "instance",
        "redis_memory_seconds_to_full",
        x.REDIS_MEMORY_SECONDS_TO_FULL,
        ("15m",),
        "predict_linear",
    ),
    *_family(
        _MEMCACHED, "instance", "memcached_items_evicted", x.MEMCACHED_EVICTIONS_RATE, _TRENDS
    ),
    *_family(
        _MEMCACHED, "instance", "memcached_items_expired", x.MEMCACHED_EXPIRATIONS_RATE, _TRENDS
    ),
    *_family(
        _MEMCACHED,
        "instance",
        "memcached_items_evicted_unfetched",
        x.MEMCACHED_EVICTED_UNFETCHED_RATE,
        ("1m", "15m"),
    ),
    *_family(
        _MEMCACHED,
        "instance",
        "memcached_items_expired_unfetched",
        x.MEMCACHED_EXPIRED_UNFETCHED_RATE,
        ("1m", "15m"),
    ),
    *_family(
        _MEMCACHED, "instance", "memcached_items_reclaimed", x.MEMCACHED_RECLAIMED_RATE, ("15m",)
    ),
    *_family(
        _MEMCACHED,
        "instance",
        "memcached_evictions_unfetched_share",
        x.MEMCACHED_UNFETCHED_EVICTION_SHARE,
        ("15m",),
        "ratio_rate",
    ),
    *_family(
        _MEMCACHED,
        "instance",
        "memcached_writes_wasted_share",
        x.MEMCACHED_WASTED_WRITE_SHARE,
        ("15m",),
        "ratio_rate",
    ),
    *_family(_MEMCACHED, "instance", "memcached_get_hit_ratio", x.MEMCACHED_HIT_RATIO, ("1m",)),
    *_family(
        _MEMCACHED,
        "instance",
        "memcached_memory_seconds_to_full",
        x.MEMCACHED_MEMORY_SECONDS_TO_FULL,
        ("15m",),
        "predict_linear",
    ),
    *_family(
        _MEMCACHED, "instance", "memcached_slabs_moved", x.MEMCACHED_SLABS_MOVED_RATE, ("15m",)
    ),
    *_family(
        _MEMCACHED,
        "instance_slab",
        "memcached_slab_items_evicted",
        x.MEMCACHED_SLAB_EVICTIONS_RATE,
        ("1m", "15m"),
    ),
    *_family(
        _MEMCACHED,
        "instance_slab",
        "memcached_slab_evictions_unfetched_share",
        x.MEMCACHED_SLAB_UNFETCHED_EVICTION_SHARE,
        ("15m",),
        "ratio_rate",
    ),
)

#: group names in file order
GROUPS: tuple[str, ...] = (_REDIS, _MEMCACHED)
