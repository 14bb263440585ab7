"""`latest_at` (every selected series' sample per step, found in one search) gives what
searching each series alone gives, cell for cell."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.query.latest import latest_at
from monitor.store.api import SeriesData

T0 = 1_700_000_000_000


def _alone(found: list[SeriesData], t: np.ndarray) -> tuple[np.ndarray, ...]:
    idx = np.array([np.searchsorted(s.ts, t, side="right") - 1 for s in found])
    clipped = np.maximum(idx, 0)
    ts = np.array([s.ts[c] for s, c in zip(found, clipped, strict=True)])
    values = np.array([s.values[c] for s, c in zip(found, clipped, strict=True)])
    return idx, ts, values


def _series(rng: np.random.Generator, count: int, shuffled: bool) -> list[SeriesData]:
    found = []
    for i in range(count):
        size = int(rng.integers(1, 40))
        ts = np.sort(T0 + rng.integers(-600_000, 600_000, size))  # repeats, too
        if shuffled and i == count // 2:
            ts = ts[::-1].copy()  # out of order: the one-by-one search, as before
        found.append(SeriesData({"i": str(i)}, ts, rng.standard_normal(size)))
    return found


@pytest.mark.parametrize("shuffled", [False, True])
@pytest.mark.parametrize(
    "steps",
    [
        np.array([T0]),
        np.array([T0 - 700_000, T0 + 700_000]),  # before every sample, after every sample
        T0 + np.arange(-650_000, 650_001, 15_000),
        np.full(4, T0 + 1234),  # an `@` modifier: every step the same time
    ],
)
def test_one_search_equals_a_search_per_series(steps: np.ndarray, shuffled: bool) -> None:
    found = _series(np.random.default_rng(len(steps)), 60, shuffled)
    for got, want in zip(latest_at(found, steps), _alone(found, steps), strict=True):
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.view(np.uint64), want.view(np.uint64))
