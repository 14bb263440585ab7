"""RE2 for every regular expression a user supplies: label matchers, `label_replace`,
silences, route matchers, hot-key masks, template functions.

Python's `re` backtracks: one pattern like `(a+)+$` against a long label value runs for
minutes, holding the GIL and whatever lock the caller holds. RE2 (Go's regexp, which
Prometheus and Alertmanager use) runs in time linear in the input and accepts the same
syntax, so a pattern means here exactly what it means in Prometheus.

`anchored(pattern)` compiles a matcher the way Prometheus does: `^(?s:pattern)$`, so the
pattern must match the whole value and `.` matches a newline too. The common dashboard
pattern `a|b|c` of plain names is answered from a set, without RE2 at all.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import re2
from re2 import _re2

__all__ = ["RegexError", "Regex", "RegexMatch", "anchored", "searcher"]

#: the most memory RE2 may use for one compiled pattern (its default is 8 MiB); a pattern
#: that needs more fails to compile with a clear error instead of growing without bound
MAX_PROGRAM_BYTES = 8 << 20
_META = frozenset("\\.+*?()|[]{}^$")
_ANCHOR_BOTH = _re2.RE2.Anchor.ANCHOR_BOTH


class RegexError(ValueError):
    """A pattern RE2 refuses; the message names the pattern and the reason."""


def _options(capture: bool) -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every bad pattern to stderr
    options.max_mem = MAX_PROGRAM_BYTES
    options.never_capture = not capture
    return options


class RegexMatch:
    """The groups of one whole-value match (for `label_replace`'s `$1` / `$name`)."""

    __slots__ = ("_names", "_spans", "_text")

    def __init__(self, text: bytes, spans: list[tuple[int, int]], names: dict[str, int]):
        self._text = text
        self._spans = spans
        self._names = names

    @property
    def group_count(self) -> int:
        return len(self._spans) - 1

    def has_group(self, name: str) -> bool:
        return name in self._names

    def group(self, key: int | str) -> str:
        """A group's text; "" for a group that did not take part or does not exist."""
        index = self._names.get(key, -1) if isinstance(key, str) else key
        if not 0 <= index < len(self._spans):
            return ""
        start, end = self._spans[index]
        return "" if start < 0 else self._text[start:end].decode("utf-8", "surrogatepass")


class Regex:
    """A pattern that must match a whole string (see `anchored`)."""

    __slots__ = ("_literals", "_names", "_program", "pattern")

    def __init__(self, pattern: str, capture: bool = False) -> None:
        self.pattern = pattern
        self._literals = _literal_alternatives(pattern) if not capture else None
        self._names: dict[str, int] = {}
        if self._literals is not None:
            # plain text is always a valid pattern: no program to build (a long list of
            # instance names would only cost RE2 memory)
            self._program = None
            return
        try:
            program = _re2.RE2(
                f"^(?s:{pattern})$".encode("utf-8", "surrogatepass"), _options(capture)
            )
        except re2.error as exc:  # raised for patterns that are not UTF-8
            raise RegexError(f"invalid regular expression {pattern!r}: {_reason(exc)}") from None
        if not program.ok():
            raise RegexError(f"invalid regular expression {pattern!r}: {_reason(program.error())}")
        self._program = program
        if capture:
            self._names = dict(program.NamedCapturingGroups())

    def fullmatch(self, text: str) -> bool:
        if self._literals is not None:
            return text in self._literals
        assert self._program is not None
        data = text.encode("utf-8", "surrogatepass")
        return self._program.Match(_ANCHOR_BOTH, data, 0, len(data))[0][0] >= 0

    def groups(self, text: str) -> RegexMatch | None:
        """The match with its groups, or None (compile with `anchored(p, capture=True)`)."""
        assert self._program is not None, "compile with capture=True"
        data = text.encode("utf-8", "surrogatepass")
        spans = self._program.Match(_ANCHOR_BOTH, data, 0, len(data))
        if spans[0][0] < 0:
            return None
        return RegexMatch(data, list(spans), self._names)


def _reason(error: object) -> str:
    if isinstance(error, re2.error) and error.args:
        error = error.args[0]
    return error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)


def _literal_alternatives(pattern: str) -> frozenset[str] | None:
    """`a|b|c` of plain text (no metacharacter): the set of values it matches."""
    if any(char in _META and char != "|" for char in pattern):
        return None
    return frozenset(pattern.split("|"))


@lru_cache(maxsize=1024)
def anchored(pattern: str, capture: bool = False) -> Regex:
    """`pattern` as Prometheus compiles a label matcher: `^(?s:pattern)$`. RegexError
    names a bad pattern. Cached: dashboards and rules send the same few patterns again."""
    return Regex(pattern, capture)


Substitute = Callable[[str], str]


@lru_cache(maxsize=256)
def searcher(pattern: str, replacement: str) -> Substitute:
    """`text -> text` with every match of `pattern` (unanchored) replaced by `replacement`,
    in Python's `re.sub` template syntax (`\\1`, `\\g<name>`); for hot-key masks and the
    `reReplaceAll` template function."""
    try:
        program = re2.compile(pattern, _options(capture=True))
    except re2.error as exc:
        raise RegexError(f"invalid regular expression {pattern!r}: {_reason(exc)}") from None

    def substitute(text: str) -> str:
        try:
            return str(program.sub(replacement, text))
        except (re2.error, IndexError) as exc:
            raise RegexError(f"replacement {replacement!r}: {_reason(exc)}") from None

    return substitute
