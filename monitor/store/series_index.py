"""The series registry: series id <-> labels, and postings for label matchers.

Matchers follow Prometheus: regexes are fully anchored, and a matcher that matches the empty
string also matches series that lack the label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from monitor.model import Matcher

__all__ = ["MatcherError", "SeriesKey", "SeriesIndex", "compile_matcher"]

#: Sorted label pairs, `__name__` included.
SeriesKey = tuple[tuple[str, str], ...]


class MatcherError(ValueError):
    """A matcher with an unknown operator or an invalid regex."""


def compile_matcher(matcher: Matcher) -> tuple[str, object]:
    if matcher.op in ("=", "!="):
        return matcher.op, matcher.value
    if matcher.op in ("=~", "!~"):
        try:
            return matcher.op, re.compile(f"(?:{matcher.value})\\Z", re.DOTALL)
        except re.error as exc:
            raise MatcherError(
                f"bad regex in matcher {matcher.name}{matcher.op}{matcher.value!r}: {exc}"
            ) from exc
    raise MatcherError(f"unknown matcher operator {matcher.op!r} for label {matcher.name!r}")


def _matches(compiled: tuple[str, object], value: str) -> bool:
    op, arg = compiled
    if op == "=":
        return value == arg
    if op == "!=":
        return value != arg
    hit = arg.match(value) is not None  # type: ignore[attr-defined]
    return hit if op == "=~" else not hit


class SeriesIndex:
    """Assigns dense integer ids to series and answers matcher queries via postings."""

    def __init__(self) -> None:
        self._ids: dict[SeriesKey, int] = {}
        self.keys: list[SeriesKey] = []
        self._postings: dict[str, dict[str, set[int]]] = {}

    def __len__(self) -> int:
        return len(self.keys)

    def intern(self, key: SeriesKey) -> int:
        gid = self._ids.get(key)
        if gid is None:
            gid = len(self.keys)
            self._ids[key] = gid
            self.keys.append(key)
            for name, value in key:
                self._postings.setdefault(name, {}).setdefault(value, set()).add(gid)
        return gid

    def lookup(self, key: SeriesKey) -> int | None:
        return self._ids.get(key)

    def labels(self, gid: int) -> dict[str, str]:
        return dict(self.keys[gid])

    def match(self, matchers: Sequence[Matcher]) -> set[int]:
        """Ids of series matching every matcher; an empty matcher list matches nothing."""
        result: set[int] | None = None
        for matcher in matchers:
            ids = self._match_one(matcher)
            result = ids if result is None else result & ids
            if not result:
                return set()
        return result or set()

    def _match_one(self, matcher: Matcher) -> set[int]:
        compiled = compile_matcher(matcher)
        values = self._postings.get(matcher.name, {})
        if _matches(compiled, ""):
            excluded = _union(ids for v, ids in values.items() if not _matches(compiled, v))
            return set(range(len(self.keys))) - excluded
        return _union(ids for v, ids in values.items() if _matches(compiled, v))


def _union(sets: Iterable[set[int]]) -> set[int]:
    out: set[int] = set()
    for ids in sets:
        out |= ids
    return out
