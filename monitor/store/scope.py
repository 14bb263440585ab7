"""Opening a store read-only for a known set of reads, and nothing more.

A read-only open of a whole store loads every block's series index and replays the writer's
whole log: at 1,000 targets that is ~370,000 series per block and per log, seconds of CPU,
for a `cachewatch query` that reads one metric over five minutes. A `ReadScope` lists the
reads a caller will make (matchers and time range each, e.g. what a PromQL expression's
selectors read); `EmbeddedStore.open(path, read_only=True, scope=...)` then

- opens only the blocks whose window overlaps the scope's time range (the others are known by
  their file name, which is all choosing a tier needs), and
- of those blocks and of the log, keeps only series that can match: when every read names its
  metric (`__name__="x"`), series of other metrics are skipped before their labels are even
  decoded.

Such a store answers exactly the reads in its scope as a whole store would (a series it
skipped can match none of them; a block it did not open has no sample in their range).
`ScopedStore` guarantees the rest: any other read, or any question about the whole store
(`stats`, `series`, label names), opens the whole store and asks it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.model import Matcher
from monitor.store.api import ReadBudget, SeriesData, StoreStats
from monitor.store.wal import label_needle

__all__ = ["ReadScope", "ScopedStore"]

log = logging.getLogger(__name__)

#: one read: its matchers (as a set: their order does not change what they select) and range
_Read = tuple[frozenset[Matcher], int, int]


@dataclass(frozen=True)
class ReadScope:
    reads: tuple[_Read, ...]

    @classmethod
    def of(cls, reads: Iterable[tuple[Sequence[Matcher], int, int]]) -> ReadScope:
        return cls(tuple((frozenset(m), start, end) for m, start, end in reads))

    @property
    def start_ms(self) -> int:
        return min((start for _, start, _ in self.reads), default=0)

    @property
    def end_ms(self) -> int:
        return max((end for _, _, end in self.reads), default=0)

    def covers(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> bool:
        """Whether the read is one the scope was opened for: it has every matcher of one of
        them (so it selects a subset of that one's series) within that one's range."""
        wanted = frozenset(matchers)
        return any(
            read <= wanted and start <= start_ms and end_ms <= end
            for read, start, end in self.reads
        )

    def metric_names(self) -> frozenset[str] | None:
        """The metric names the reads select, when every read names one (else None: any
        series may match, and nothing can be skipped by its name)."""
        names = set()
        for matchers, _, _ in self.reads:
            named = [m.value for m in matchers if m.name == "__name__" and m.op == "="]
            if not named:
                return None
            names.add(named[0])
        return frozenset(names)

    def record_filter(self) -> re.Pattern[bytes] | None:
        """What a log's series record body (its label JSON) must contain for a read to
        select the series; None when nothing can be ruled out that way."""
        names = self.metric_names()
        if names is None:
            return None
        needles = [re.escape(label_needle("__name__", name)) for name in sorted(names)]
        return re.compile(b"|".join(needles) or b"(?!)")  # (?!) matches nothing


class ScopedStore:
    """A store opened for `scope` (`EmbeddedStore.open(..., scope=scope)`), answering the
    reads in the scope; anything else goes to the whole store, opened (read-only, by
    `open_whole`) the first time it is needed."""

    def __init__(self, scoped: Any, scope: ReadScope, open_whole: Callable[[], Any]) -> None:
        self.scoped = scoped
        self.scope = scope
        self._open_whole = open_whole
        self._whole: Any = None

    def whole(self) -> Any:
        if self._whole is None:
            self._whole = self._open_whole()
        return self._whole

    def select(
        self,
        matchers: Sequence[Matcher],
        start_ms: int,
        end_ms: int,
        budget: ReadBudget | None = None,
    ) -> list[SeriesData]:
        if self.scope.covers(matchers, start_ms, end_ms):
            return list(self.scoped.select(matchers, start_ms, end_ms, budget))
        log.debug("a read outside the scope the store was opened for: opening all of it")
        return list(self.whole().select(matchers, start_ms, end_ms, budget))

    def series(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        return list(self.whole().series(matchers, start_ms, end_ms))

    def label_names(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[str]:
        return list(self.whole().label_names(matchers, start_ms, end_ms))

    def label_values(
        self, name: str, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[str]:
        return list(self.whole().label_values(name, matchers, start_ms, end_ms))

    def stats(self) -> StoreStats:
        stats: StoreStats = self.whole().stats()
        return stats

    def close(self) -> None:
        try:
            self.scoped.close()
        finally:
            if self._whole is not None:
                self._whole.close()
