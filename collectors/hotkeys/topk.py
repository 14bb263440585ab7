"""Bounded top-K structures: Space-Saving for exact streams, a decaying top-K for samples.

`SpaceSaving` (Metwally et al. 2005) keeps `capacity` counters for a stream of any length.
Every tracked key's count overestimates its true count by at most its recorded `error`, and
any key not tracked occurred at most `min_count` times (which is <= N / capacity). Those are
the error bounds the reports print beside each estimate.

`DecayingTopK` keeps the largest exponentially decayed scores. The LFU sampler feeds it
access estimates; the decay lets a key that stopped being hot fall out within a few
half-lives, which is how the top-K follows a workload whose hot set changes.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Counted", "SpaceSaving", "DecayingTopK"]

K = TypeVar("K", bound=Hashable)


@dataclass(slots=True)
class Counted(Generic[K]):
    """One tracked key: `count - error <= true count <= count`.

    `reads`/`writes` count only the occurrences seen since the key was last admitted, so
    they are lower bounds that split the exact part of `count`.
    """

    key: K
    count: int
    error: int
    reads: int = 0
    writes: int = 0


class SpaceSaving(Generic[K]):
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"SpaceSaving capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.total = 0
        self._items: dict[K, Counted[K]] = {}
        # (count, tiebreak, key) lower bounds of the current counts; stale entries are
        # re-pushed lazily when popped, so increments never touch the heap.
        self._heap: list[tuple[int, int, K]] = []
        self._tiebreak = 0

    def __len__(self) -> int:
        return len(self._items)

    def add(self, key: K, weight: int = 1, *, write: bool | None = None) -> None:
        self.total += weight
        item = self._items.get(key)
        if item is None:
            if len(self._items) < self.capacity:
                item = Counted(key, 0, 0)
            else:
                floor = self._pop_min()
                item = Counted(key, floor.count, floor.count)
            self._items[key] = item
            self._push(item)
        item.count += weight
        if write is True:
            item.writes += weight
        elif write is False:
            item.reads += weight

    @property
    def min_count(self) -> int:
        """Upper bound on the true count of any key that is not tracked."""
        if len(self._items) < self.capacity:
            return 0
        while True:
            count, _, key = self._heap[0]
            item = self._items.get(key)
            if item is not None and item.count == count:
                return count
            heapq.heappop(self._heap)
            if item is not None:
                self._push(item)

    def get(self, key: K) -> Counted[K] | None:
        return self._items.get(key)

    def top(self, n: int) -> list[Counted[K]]:
        return heapq.nlargest(n, self._items.values(), key=lambda item: item.count)

    def merge(self, other: SpaceSaving[K]) -> SpaceSaving[K]:
        """A summary of both streams with the same guarantees (Agarwal et al. 2012):
        a key missing from one side may have occurred up to that side's `min_count`."""
        merged: SpaceSaving[K] = SpaceSaving(max(self.capacity, other.capacity))
        floor_self, floor_other = self.min_count, other.min_count
        combined: dict[K, Counted[K]] = {}
        for key in self._items.keys() | other._items.keys():
            mine, theirs = self._items.get(key), other._items.get(key)
            combined[key] = Counted(
                key,
                (mine.count if mine else floor_self) + (theirs.count if theirs else floor_other),
                (mine.error if mine else floor_self) + (theirs.error if theirs else floor_other),
                (mine.reads if mine else 0) + (theirs.reads if theirs else 0),
                (mine.writes if mine else 0) + (theirs.writes if theirs else 0),
            )
        kept = heapq.nlargest(merged.capacity, combined.values(), key=lambda item: item.count)
        for item in kept:
            merged._items[item.key] = item
            merged._push(item)
        merged.total = self.total + other.total
        return merged

    def _push(self, item: Counted[K]) -> None:
        self._tiebreak += 1
        heapq.heappush(self._heap, (item.count, self._tiebreak, item.key))

    def _pop_min(self) -> Counted[K]:
        while True:
            count, _, key = heapq.heappop(self._heap)
            item = self._items.get(key)
            if item is None:
                continue
            if item.count != count:
                self._push(item)
                continue
            del self._items[key]
            return item


class DecayingTopK(Generic[K]):
    """The `capacity` keys with the largest scores, each halving every `half_life_s`."""

    def __init__(self, capacity: int, half_life_s: float) -> None:
        if capacity < 1 or half_life_s <= 0:
            raise ValueError("DecayingTopK needs capacity >= 1 and half_life_s > 0")
        self.capacity = capacity
        self._rate = math.log(2) / half_life_s
        self._scores: dict[K, tuple[float, float]] = {}

    def __len__(self) -> int:
        return len(self._scores)

    def __contains__(self, key: object) -> bool:
        return key in self._scores

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._scores))

    def keys(self) -> list[K]:
        return list(self._scores)

    def score(self, key: K, now: float) -> float:
        entry = self._scores.get(key)
        return 0.0 if entry is None else self._decayed(entry, now)

    def offer(self, key: K, amount: float, now: float) -> bool:
        """Add `amount` to the key's decayed score; False if it did not make the cut."""
        value = self.score(key, now) + amount
        if key not in self._scores and len(self._scores) >= self.capacity:
            weakest = min(self._scores, key=lambda k: self._decayed(self._scores[k], now))
            if self._decayed(self._scores[weakest], now) >= value:
                return False
            del self._scores[weakest]
        self._scores[key] = (value, now)
        return True

    def discard(self, keys: Iterable[K]) -> None:
        for key in keys:
            self._scores.pop(key, None)

    def top(self, n: int, now: float) -> list[tuple[K, float]]:
        scored = ((key, self._decayed(entry, now)) for key, entry in self._scores.items())
        return heapq.nlargest(n, scored, key=lambda pair: pair[1])

    def _decayed(self, entry: tuple[float, float], now: float) -> float:
        value, at = entry
        return value * math.exp(-self._rate * max(0.0, now - at))
