"""Label matching as Prometheus does it, for readers that filter series in Python.

A missing label has the value "", so `a=""` matches series without `a`; regex matchers are
RE2, anchored as Prometheus anchors them (`monitor.regex.anchored`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from monitor.model import Matcher
from monitor.regex import Regex, RegexError, anchored

__all__ = ["compile_matchers", "anchored_regex"]


def anchored_regex(pattern: str) -> Regex:
    """`pattern` compiled to match a whole label value; ValueError names a bad pattern."""
    try:
        return anchored(pattern)
    except RegexError as exc:
        raise ValueError(str(exc)) from None


def _one(matcher: Matcher) -> Callable[[Mapping[str, str]], bool]:
    name, value = matcher.name, matcher.value
    if matcher.op == "=":
        return lambda labels: labels.get(name, "") == value
    if matcher.op == "!=":
        return lambda labels: labels.get(name, "") != value
    if matcher.op not in ("=~", "!~"):
        raise ValueError(f"unknown matcher operator {matcher.op!r} for label {name!r}")
    regex = anchored_regex(value)
    if matcher.op == "=~":
        return lambda labels: regex.fullmatch(labels.get(name, ""))
    return lambda labels: not regex.fullmatch(labels.get(name, ""))


def compile_matchers(matchers: Sequence[Matcher]) -> Callable[[Mapping[str, str]], bool]:
    """A predicate true for label sets that every matcher accepts."""
    checks = [_one(m) for m in matchers]
    return lambda labels: all(check(labels) for check in checks)
