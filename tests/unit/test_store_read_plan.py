"""A read of many series (planned once: blocks, decoded segment timestamps shared) returns
exactly what reading each series on its own returns, across raw blocks, rollup blocks, the
encoded and open head, series that end and start, and stale markers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monitor.model import Matcher, SampleBatch
from monitor.store import EmbeddedStore, RollupTier, StoreConfig
from monitor.store.api import ReadBudget, SampleLimitError

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 600_000
SMALL = StoreConfig(
    chunk_duration_ms=60_000,
    block_duration_ms=120_000,
    raw_compact_to_ms=240_000,
    raw_retention_ms=300_000,
    tiers=(RollupTier("10s", 10_000, 1_200_000, 240_000),),
)
END = T0 + 900_000


def _fill(path: Path) -> EmbeddedStore:
    store = EmbeddedStore.open(path, SMALL)
    rng = np.random.default_rng(3)
    for step in range(450):  # 15 minutes at 2 s: raw blocks, rollups, the head
        ts = T0 + step * 2000
        for target in range(6):
            batch = SampleBatch(ts, (("instance", f"10.0.0.{target}:6379"),))
            batch.add("ops_total", float(step * (target + 1) * 10 + rng.integers(0, 5)))
            for cmd in ("get", "set", "del"):
                if cmd == "del" and target % 2 and 100 < step < 300:
                    continue  # a series that stops for a while (stale, then back)
                batch.add("cmd_total", float(step * 3), (("cmd", cmd),))
            batch.add("mem_bytes", float(rng.integers(1000, 2000)))
            store.append(batch)
        store.maintain(ts)
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    opened = _fill(tmp_path_factory.mktemp("plan") / "store")
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("matchers", "start", "end"),
    [
        ([Matcher("__name__", "=~", ".+_total")], T0, END),  # from the rollup tier on
        ([Matcher("__name__", "=", "cmd_total")], END - 400_000, END),  # raw blocks + head
        ([Matcher("__name__", "=", "cmd_total")], END - 60_000, END),  # head only
        ([Matcher("instance", "=~", ".+")], END - 250_000, END - 100_000),
        ([Matcher("__name__", "=", "mem_bytes")], T0 + 300_000, T0 + 420_000),
    ],
)
def test_a_read_of_many_series_equals_each_series_read_alone(
    store: EmbeddedStore, matchers: list[Matcher], start: int, end: int
) -> None:
    together = store.select(matchers, start, end)
    assert len(together) >= 6
    assert sum(s.ts.size for s in together) > 0
    for series in together:
        exact = [Matcher(k, "=", v) for k, v in series.labels.items()]
        (alone,) = store.select(exact, start, end)
        assert alone.labels == series.labels
        np.testing.assert_array_equal(alone.ts, series.ts)
        # bitwise: stale markers are NaNs with a payload
        np.testing.assert_array_equal(alone.values.view(np.uint64), series.values.view(np.uint64))


def test_a_planned_read_charges_its_budget_as_before(store: EmbeddedStore) -> None:
    matchers = [Matcher("__name__", "=", "cmd_total")]
    budget = ReadBudget(10**9, float("inf"))
    read = store.select(matchers, END - 400_000, END, budget)
    assert budget.used == sum(s.ts.size for s in read)
    tight = ReadBudget(sum(s.ts.size for s in read) - 1, float("inf"))
    with pytest.raises(SampleLimitError):
        store.select(matchers, END - 400_000, END, tight)
