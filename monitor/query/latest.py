"""The latest sample at or before each step, for every series a selector read, at once.

An instant vector selector at 1,000 targets reads tens of thousands of series (every
latency bucket of the fleet); finding each one's sample per step with its own handful of
numpy calls cost about as much as reading it. Here the series are laid end to end and
searched as one sorted array: series `i`'s timestamp `ts` becomes the key `i * width +
(ts - base)`, which keeps each series' order and puts every series after the one before.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from monitor.store.api import SeriesData

__all__ = ["latest_at"]

#: keys stay below this, far from int64 overflow
_KEY_LIMIT = 2**62


def latest_at(
    found: Sequence[SeriesData], t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per series (rows) and step `t` (columns): the index of its last sample at or before
    the step (-1: none), and that sample's timestamp and value (those of its first sample
    where there is none), as `np.searchsorted(series.ts, t, side="right") - 1` of each
    series (ascending, not empty) gives them."""
    sizes = np.fromiter((s.ts.size for s in found), np.int64, len(found))
    all_ts = np.concatenate([s.ts for s in found])
    all_values = np.concatenate([s.values for s in found])
    starts = np.cumsum(sizes) - sizes
    base = min(int(all_ts.min()), int(t.min()))
    width = max(int(all_ts.max()), int(t.max())) - base + 1
    keys = None
    if width * len(found) < _KEY_LIMIT:
        keys = np.repeat(np.arange(len(found), dtype=np.int64) * width, sizes) + (all_ts - base)
        if keys.size > 1 and not bool(np.all(keys[1:] >= keys[:-1])):
            keys = None  # a series out of order: search it alone, as before
    if keys is None:
        idx = np.array([np.searchsorted(s.ts, t, side="right") - 1 for s in found])
    else:
        wanted = (np.arange(len(found), dtype=np.int64) * width)[:, None] + (t - base)[None, :]
        idx = np.searchsorted(keys, wanted, side="right") - 1 - starts[:, None]
        idx = np.maximum(idx, -1)
    at = starts[:, None] + np.maximum(idx, 0)
    return idx, all_ts[at], all_values[at]
