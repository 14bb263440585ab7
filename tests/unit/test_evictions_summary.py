"""The eviction summary's figures over synthetic history with known answers."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from monitor.evictions import Scope, Trend, eviction_summary
from monitor.evictions.table import render_summary
from monitor.query import Engine, MemoryReader

NOW = 1_800_000_000_000
STEP_S = 10
HOUR_S = 3600


def _times(history_s: int) -> np.ndarray:
    return np.arange(NOW - history_s * 1000, NOW + 1, STEP_S * 1000, dtype=np.int64)


def _add(
    reader: MemoryReader,
    name: str,
    per_s: float | Callable[[np.ndarray], np.ndarray],
    history_s: int = HOUR_S,
    counter: bool = True,
    labels: dict[str, str] | None = None,
) -> None:
    """A counter growing at `per_s` (or a gauge of value `per_s`) over `history_s`."""
    ts = _times(history_s)
    seconds = (ts - ts[0]) / 1000
    if callable(per_s):
        values = per_s(seconds)
    elif counter:
        values = per_s * seconds
    else:
        values = np.full(len(ts), float(per_s))
    reader.add_series({"__name__": name, **(labels or {})}, ts, values)


def _redis(reader: MemoryReader, instance: str, history_s: int = HOUR_S, **extra: str) -> None:
    labels = {"instance": instance, **extra}
    _add(reader, "redis_evicted_keys_total", 20, history_s, labels=labels)
    _add(reader, "redis_expired_keys_total", 5, history_s, labels=labels)
    _add(reader, "redis_keyspace_hits_total", 90, history_s, labels=labels)
    _add(reader, "redis_keyspace_misses_total", 10, history_s, labels=labels)
    # 1000 B/s of growth, 500 kB below the 1 MB limit now: full in 500 s
    _add(
        reader,
        "redis_memory_used_bytes",
        lambda s: 500_000 - 1000 * (s[-1] - s),
        history_s,
        labels=labels,
    )
    _add(reader, "redis_memory_max_bytes", 1_000_000, history_s, counter=False, labels=labels)
    _add(
        reader,
        "redis_instance_info",
        1,
        history_s,
        counter=False,
        labels={**labels, "maxmemory_policy": "allkeys-lru", "role": "master"},
    )


def test_redis_rates_hit_ratio_memory_and_time_to_full() -> None:
    reader = MemoryReader()
    _redis(reader, "r1:6379")
    summary = eviction_summary(Engine(reader), "r1:6379", NOW)
    assert summary.kind == "redis"
    assert summary.scope == Scope.instance("r1:6379")
    assert summary.lacking == ()
    for window in summary.windows:
        assert window.status == "complete"
        assert window.evictions_per_s == pytest.approx(20)
        assert window.expirations_per_s == pytest.approx(5)
        assert window.hit_ratio == pytest.approx(0.9)
        assert window.unfetched_eviction_share is None  # memcached only
    assert summary.trend.trend is Trend.STEADY
    assert summary.hit_ratio_correlation is None  # both flat: r is undefined
    (memory,) = summary.memory
    assert memory.instance == "r1:6379"
    assert memory.used_bytes == pytest.approx(500_000)
    assert memory.used_ratio == pytest.approx(0.5)
    assert memory.policy == "allkeys-lru"
    assert memory.seconds_to_full == pytest.approx(500)
    assert not memory.full
    json.dumps(summary.as_json())


def test_a_rising_eviction_rate_is_rising_in_every_view() -> None:
    reader = MemoryReader()

    # no evictions for half an hour, then a rate growing by 0.02/s every second: 36/s now
    def evicted(s: np.ndarray) -> np.ndarray:
        return 0.01 * np.clip(s - 1800, 0, None) ** 2

    _add(reader, "redis_evicted_keys_total", evicted, labels={"instance": "r1:6379"})
    summary = eviction_summary(Engine(reader), "r1:6379", NOW)
    rates = [w.evictions_per_s for w in summary.windows]
    assert rates == [
        pytest.approx(35.4, rel=0.02),
        pytest.approx(27, rel=0.02),
        pytest.approx(9, rel=0.02),
    ]
    assert summary.trend.trend is Trend.RISING


def test_short_history_reports_partial_windows_and_names_the_lacking() -> None:
    reader = MemoryReader()
    _redis(reader, "r1:6379", history_s=30)
    summary = eviction_summary(Engine(reader), "r1:6379", NOW)
    one_minute, quarter, hour = summary.windows
    assert one_minute.status == "partial"
    assert one_minute.covered_s == pytest.approx(30)
    assert one_minute.evictions_per_s == pytest.approx(20, rel=0.05)
    assert quarter.status == hour.status == "no data"
    assert quarter.evictions_per_s is None
    assert summary.lacking == ("15m", "1h")
    assert any("15m, 1h: lacks data" in note for note in summary.notes)
    text = render_summary(summary)
    assert "partial (30s)" in text
    assert "note: 15m, 1h: lacks data" in text


def test_no_history_gives_an_empty_summary() -> None:
    summary = eviction_summary(Engine(MemoryReader()), "nowhere:1", NOW)
    assert summary.kind is None
    assert summary.lacking == ("1m", "15m", "1h")
    assert summary.trend.trend is Trend.UNKNOWN


def test_a_cluster_sums_its_nodes_and_lists_them() -> None:
    reader = MemoryReader()
    _redis(reader, "n1:7000", cluster="c1")
    _redis(reader, "n2:7001", cluster="c1")
    _redis(reader, "other:6379")
    summary = eviction_summary(Engine(reader), Scope.cluster("c1"), NOW)
    assert summary.window("1m").evictions_per_s == pytest.approx(40)
    assert summary.window("1m").hit_ratio == pytest.approx(0.9)
    assert [n.instance for n in summary.nodes] == ["n1:7000", "n2:7001"]
    assert summary.nodes[0].evictions_per_s["15m"] == pytest.approx(20)
    assert [m.instance for m in summary.memory] == ["n1:7000", "n2:7001"]
    assert "nodes (evictions/s)" in render_summary(summary)


def _memcached(reader: MemoryReader, instance: str = "m1:11211") -> None:
    labels = {"instance": instance}
    _add(reader, "memcached_items_evicted_total", 10, labels=labels)
    _add(reader, "cachewatch_memcached_items_evicted_unfetched_total", 4, labels=labels)
    _add(reader, "cachewatch_memcached_items_expired_unfetched_total", 1, labels=labels)
    _add(reader, "memcached_items_reclaimed_total", 2, labels=labels)
    _add(reader, "memcached_lru_crawler_reclaimed_total", 3, labels=labels)
    _add(reader, "memcached_items_total", 50, labels=labels)
    _add(
        reader, "memcached_commands_total", 75, labels={**labels, "command": "get", "status": "hit"}
    )
    _add(
        reader,
        "memcached_commands_total",
        25,
        labels={**labels, "command": "get", "status": "miss"},
    )
    _add(reader, "memcached_limit_bytes", 4 << 20, counter=False, labels=labels)
    _add(reader, "cachewatch_memcached_evictions_enabled", 1, counter=False, labels=labels)
    _add(reader, "cachewatch_memcached_slabs_moved_total", 0.5, labels=labels)
    _add(reader, "cachewatch_memcached_slab_automove_mode", 1, counter=False, labels=labels)
    for slab, evicted, unfetched, pages, chunk in (("1", 6, 3, 3, 96), ("12", 4, 1, 1, 4096)):
        slab_labels = {**labels, "slab": slab}
        _add(reader, "memcached_slab_items_evicted_total", evicted, labels=slab_labels)
        _add(reader, "memcached_slab_items_evicted_unfetched_total", unfetched, labels=slab_labels)
        _add(reader, "memcached_slab_current_pages", pages, counter=False, labels=slab_labels)
        _add(reader, "memcached_slab_chunk_size_bytes", chunk, counter=False, labels=slab_labels)
        chunks = pages * (1 << 20) // chunk
        _add(reader, "memcached_slab_current_chunks", chunks, counter=False, labels=slab_labels)
        _add(reader, "memcached_slab_current_items", chunks - 1, counter=False, labels=slab_labels)


def test_memcached_shares_slabs_and_slab_activity() -> None:
    reader = MemoryReader()
    _memcached(reader)
    summary = eviction_summary(Engine(reader), "m1:11211", NOW)
    assert summary.kind == "memcached"
    window = summary.window("15m")
    assert window.evictions_per_s == pytest.approx(10)
    assert window.expirations_per_s == pytest.approx(5)  # reclaimed + crawler reclaimed
    assert window.evicted_unfetched_per_s == pytest.approx(4)
    assert window.expired_unfetched_per_s == pytest.approx(1)
    assert window.reclaimed_per_s == pytest.approx(2)
    assert window.unfetched_eviction_share == pytest.approx(0.4)
    assert window.wasted_write_share == pytest.approx((4 + 1) / 50)
    assert window.hit_ratio == pytest.approx(0.75)
    assert window.slabs_moved_per_s == pytest.approx(0.5)
    assert [s.slab for s in summary.slabs] == ["1", "12"]  # numeric order
    small, large = summary.slabs
    assert small.evictions_per_s == {"1m": pytest.approx(6), "15m": pytest.approx(6),
                                     "1h": pytest.approx(6)}  # fmt: skip
    assert small.unfetched_eviction_share == pytest.approx(0.5)
    assert large.unfetched_eviction_share == pytest.approx(0.25)
    assert small.memory_share == pytest.approx(0.75)
    assert large.memory_bytes == pytest.approx(1 << 20)
    assert small.trend.trend is Trend.STEADY
    (memory,) = summary.memory
    assert memory.used_bytes == pytest.approx(4 << 20)
    assert memory.full
    assert memory.policy == "lru"
    assert summary.slab_activity is not None
    assert summary.slab_activity.moved_per_s == pytest.approx(0.5)
    assert summary.slab_activity.automove_mode == 1
    text = render_summary(summary)
    assert "slab classes" in text and "automove background" in text


def test_custom_windows() -> None:
    reader = MemoryReader()
    _redis(reader, "r1:6379", history_s=120)
    summary = eviction_summary(
        Engine(reader), "r1:6379", NOW, windows=(("30s", 30.0), ("2m", 120.0))
    )
    assert [w.window for w in summary.windows] == ["30s", "2m"]
    assert all(w.status == "complete" for w in summary.windows)
    with pytest.raises(ValueError):
        eviction_summary(Engine(reader), "r1:6379", NOW, windows=())
