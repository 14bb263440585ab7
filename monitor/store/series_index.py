"""The series registry: series id <-> labels, and postings for label matchers.

Matchers follow Prometheus: regexes are RE2, fully anchored, and a matcher that matches the
empty string also matches series that lack the label.

Reading never waits on the store's lock: the index has its own, held only to add a series
or to copy one label's postings list; regexes run on that copy, outside any lock. Ids only
grow and a series' labels never change, so `keys[gid]` can be read without a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from monitor.model import Matcher
from monitor.regex import RegexError, anchored

__all__ = ["MatcherError", "SeriesKey", "SeriesIndex", "compile_matcher"]

#: Sorted label pairs, `__name__` included.
SeriesKey = tuple[tuple[str, str], ...]


class MatcherError(ValueError):
    """A matcher with an unknown operator or an invalid regex."""


def compile_matcher(matcher: Matcher) -> Callable[[str], bool]:
    """A predicate on one label value ("" for a missing label)."""
    value = matcher.value
    if matcher.op == "=":
        return lambda v: v == value
    if matcher.op == "!=":
        return lambda v: v != value
    if matcher.op in ("=~", "!~"):
        try:
            regex = anchored(value)
        except RegexError as exc:
            raise MatcherError(
                f"bad regex in matcher {matcher.name}{matcher.op}{value!r}: {exc}"
            ) from None
        if matcher.op == "=~":
            return regex.fullmatch
        return lambda v: not regex.fullmatch(v)
    raise MatcherError(f"unknown matcher operator {matcher.op!r} for label {matcher.name!r}")


class SeriesIndex:
    """Assigns dense integer ids to series and answers matcher queries via postings."""

    def __init__(self) -> None:
        self._ids: dict[SeriesKey, int] = {}
        self.keys: list[SeriesKey] = []
        self._postings: dict[str, dict[str, set[int]]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.keys)

    def intern(self, key: SeriesKey) -> int:
        gid = self._ids.get(key)
        if gid is not None:
            return gid
        with self._lock:
            gid = self._ids.get(key)
            if gid is None:
                gid = len(self.keys)
                # keys first: an id a reader finds in the postings always has its labels
                self.keys.append(key)
                for name, value in key:
                    self._postings.setdefault(name, {}).setdefault(value, set()).add(gid)
                self._ids[key] = gid
        return gid

    def lookup(self, key: SeriesKey) -> int | None:
        return self._ids.get(key)

    def labels(self, gid: int) -> dict[str, str]:
        return dict(self.keys[gid])

    def match(self, matchers: Sequence[Matcher]) -> set[int]:
        """Ids of series matching every matcher; an empty matcher list matches nothing."""
        compiled = [(m.name, compile_matcher(m)) for m in matchers]
        result: set[int] | None = None
        for name, accepts in compiled:
            ids = self._match_one(name, accepts)
            result = ids if result is None else result & ids
            if not result:
                return set()
        return result or set()

    def all_ids(self) -> set[int]:
        return set(range(len(self.keys)))

    def _match_one(self, name: str, accepts: Callable[[str], bool]) -> set[int]:
        with self._lock:
            count = len(self.keys)
            values = list(self._postings.get(name, {}).items())
        # The sets may gain ids meanwhile: a union is one C call under the GIL, so it never
        # sees half an insert, and a new id is a whole series (its labels came first).
        if accepts(""):
            excluded = _union(ids for v, ids in values if not accepts(v))
            return set(range(count)) - excluded
        return _union(ids for v, ids in values if accepts(v))


def _union(sets: Iterable[set[int]]) -> set[int]:
    out: set[int] = set()
    for ids in sets:
        out |= ids
    return out
