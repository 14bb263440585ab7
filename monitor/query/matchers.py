"""Label matching as Prometheus does it, for readers that filter series in Python.

A missing label has the value "", so `a=""` matches series without `a`; regex matchers are
fully anchored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from monitor.model import Matcher

__all__ = ["compile_matchers", "anchored_regex"]


@lru_cache(maxsize=1024)
def anchored_regex(pattern: str) -> re.Pattern[str]:
    """`pattern` compiled to match a whole label value; ValueError names a bad pattern."""
    try:
        return re.compile(f"(?:{pattern})")
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None


def _one(matcher: Matcher) -> Callable[[Mapping[str, str]], bool]:
    name, value = matcher.name, matcher.value
    if matcher.op == "=":
        return lambda labels: labels.get(name, "") == value
    if matcher.op == "!=":
        return lambda labels: labels.get(name, "") != value
    regex = anchored_regex(value)
    if matcher.op == "=~":
        return lambda labels: regex.fullmatch(labels.get(name, "")) is not None
    if matcher.op == "!~":
        return lambda labels: regex.fullmatch(labels.get(name, "")) is None
    raise ValueError(f"unknown matcher operator {matcher.op!r} for label {name!r}")


def compile_matchers(matchers: Sequence[Matcher]) -> Callable[[Mapping[str, str]], bool]:
    """A predicate true for label sets that every matcher accepts."""
    checks = [_one(m) for m in matchers]
    return lambda labels: all(check(labels) for check in checks)
