"""Key names → key patterns (namespaces): `api:v2:user:8812:profile` → `api:v2:user:{id}:profile`.

Hot keys, big keys and namespace memory are more useful by pattern: "31 % of ops hit
`api:v2:user:{id}:profile`" says which part of the application hammers the cache. A key is
split on the usual delimiters (`:`, `/`, `|`, `#`, `,`, then `.` and `@` inside what is left,
and `_` or `-` where they separate words rather than join an identifier), and each segment
that looks like an identifier becomes `{id}`:

- digits (`8812`, `2024`), signed or decimal numbers;
- hex of 8+ characters with at least one digit (`5f3a9c2e`, `deadbeef01`), UUIDs and
  hashes (`3f2504e0-4f89-11d3-9a0c-0305e82c3301`, 32/40/64 hex);
- base64-ish tokens of 16+ characters mixing letters and digits (`dGhpcyBpcyBh…`,
  session tokens), ULIDs, and long mixed-case alphanumerics;
- e-mail addresses and IPv4 addresses as whole segments.

A segment of plain words (`user`, `profile`, `v2`, `en-US`) stays as it is. Consecutive
`{id}` segments keep their delimiters (`cart:{id}:{id}`), so different shapes stay apart.
Masking (`[hotkeys] mask_regex`) applies to the pattern text the same as to key names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["key_pattern", "ID", "patterns", "PatternCounter"]

ID = "{id}"

#: delimiters that always separate segments
_HARD = re.compile(r"([:/|#,]+)")
#: inside a segment that is not an identifier as a whole (an e-mail, an IP, a decimal)
_DOTS = re.compile(r"([.@]+)")
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)
_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$")
_HEX = re.compile(r"^(0x)?[0-9a-fA-F]{8,}$")
_TOKEN = re.compile(r"^[A-Za-z0-9+/_=-]{16,}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
#: `_`/`-` split only between word-like parts: `user_profile` → user, profile; but an
#: identifier with digits inside (`order_8812`, `a1-b2`) becomes `order_{id}` / `{id}`
_SOFT = re.compile(r"([_-])")


def _is_id(segment: str) -> bool:
    if not segment:
        return False
    if _NUMBER.match(segment) or _UUID.match(segment) or _IPV4.match(segment):
        return True
    if _EMAIL.match(segment) or _ULID.match(segment):
        return True
    if _HEX.match(segment) and any(c.isdigit() for c in segment):
        return True
    if _TOKEN.match(segment):
        letters = sum(c.isalpha() for c in segment)
        digits = sum(c.isdigit() for c in segment)
        upper = sum(c.isupper() for c in segment)
        lower = sum(c.islower() for c in segment)
        # a random token mixes classes; a long word or snake_case name does not
        return (digits >= 2 and letters >= 2) or (upper >= 2 and lower >= 2 and len(segment) >= 20)
    return False


def _soft_split(segment: str) -> str:
    """`user_profile` stays; `order_8812` → `order_{id}`; `a1b2c3d4e5f6a7b8` → `{id}`."""
    if _is_id(segment):
        return ID
    parts = _SOFT.split(segment)
    if len(parts) == 1:
        return segment
    out = []
    for part in parts:
        out.append(ID if part not in "_-" and _is_id(part) else part)
    return "".join(out)


def _segment(segment: str) -> str:
    if _is_id(segment):
        return ID
    return "".join(
        part if not part or _DOTS.fullmatch(part) else _soft_split(part)
        for part in _DOTS.split(segment)
    )


def key_pattern(key: str) -> str:
    """The pattern of one key; a key without identifiers is its own pattern."""
    return "".join(
        part if not part or _HARD.fullmatch(part) else _segment(part) for part in _HARD.split(key)
    )


def patterns(keys: Iterable[str]) -> dict[str, str]:
    """key → pattern for many keys (the same key twice is computed once)."""
    return {key: key_pattern(key) for key in set(keys)}


class PatternCounter:
    """Key accesses counted per pattern, exactly, for as many patterns as `capacity`; keys of
    further patterns count under `OTHER`. A bounded cache remembers each key's pattern, so a
    hot key is classified once."""

    OTHER = "other"

    def __init__(self, capacity: int = 2000, cache: int = 100_000) -> None:
        self.capacity = capacity
        self.counts: dict[str, int] = {}
        self.total = 0
        self._cache: dict[str, str] = {}
        self._cache_size = cache

    def add(self, key: bytes | str, weight: int = 1) -> None:
        text = key.decode("utf-8", "backslashreplace") if isinstance(key, bytes) else key
        pattern = self._cache.get(text)
        if pattern is None:
            pattern = key_pattern(text)
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[text] = pattern
        if pattern not in self.counts and len(self.counts) >= self.capacity:
            pattern = self.OTHER
        self.counts[pattern] = self.counts.get(pattern, 0) + weight
        self.total += weight

    def merge(self, other: PatternCounter) -> None:
        for pattern, count in other.counts.items():
            self.counts[pattern] = self.counts.get(pattern, 0) + count
        self.total += other.total

    def top(self, n: int) -> list[tuple[str, int]]:
        """The `n` most counted patterns, biggest first (`OTHER` never among them)."""
        ranked = sorted(
            ((p, c) for p, c in self.counts.items() if p != self.OTHER), key=lambda pc: -pc[1]
        )
        return ranked[:n]
