"""Two targets with the same labels (a redis and a memcached server on one address) are two
targets to the store: neither's series go stale because of the other's polls, and a series
both write (`cachewatch_poll_duration_seconds`) keeps every sample of both."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from monitor.model import STALE_NAN_BITS, Matcher, SampleBatch
from monitor.store import EmbeddedStore

T0 = 1_700_000_000_000
LABELS = (("instance", "10.0.0.5:6379"),)


def poll(ts: int, kind: str, value: float) -> SampleBatch:
    batch = SampleBatch(ts, LABELS, source="" if kind == "redis" else kind)
    batch.add(f"{kind}_up", 1.0)
    batch.add("cachewatch_poll_duration_seconds", value)
    return batch


def test_two_targets_on_one_address_stay_apart(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path / "s")
    try:
        for i in range(10):
            store.append(poll(T0 + i * 1000, "redis", 0.001))
            store.append(poll(T0 + i * 1000 + 500, "memcached", 0.002))
        for name in ("redis_up", "memcached_up"):
            (series,) = store.select([Matcher("__name__", "=", name)], T0, T0 + 20_000)
            bits = series.values.view(np.uint64)
            assert series.ts.size == 10 and not (bits == STALE_NAN_BITS).any()
        (shared,) = store.select(
            [Matcher("__name__", "=", "cachewatch_poll_duration_seconds")], T0, T0 + 20_000
        )
        assert shared.ts.size == 20
        store.mark_stale(LABELS, T0 + 30_000, "memcached")  # ends the memcached one only
        (redis_up,) = store.select([Matcher("__name__", "=", "redis_up")], T0, T0 + 40_000)
        assert redis_up.ts.size == 10
    finally:
        store.close()
    reopened = EmbeddedStore.open(tmp_path / "s")  # the WAL keeps them apart too
    try:
        (memcached_up,) = reopened.select(
            [Matcher("__name__", "=", "memcached_up")], T0, T0 + 40_000
        )
        assert memcached_up.ts.size == 11  # ten polls and the stale marker
    finally:
        reopened.close()
