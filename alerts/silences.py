"""Silences: label matchers with an expiry and a comment, kept in `silences.json`.

The CLI, the web UI and the running engine may be different processes sharing one state
directory, so every change is a locked read-modify-write of the file, and readers reload it
when its modification time changes.
"""

from __future__ import annotations

import fcntl
import json
import logging
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alerts.state import atomic_write_json
from monitor.model import Matcher, now_ms
from monitor.regex import RegexError, anchored

__all__ = ["Silence", "SilenceStore", "parse_matcher", "matches", "SilenceError"]

log = logging.getLogger("cachewatch.alerts")

_MATCHER = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


class SilenceError(ValueError):
    pass


def parse_matcher(text: str) -> Matcher:
    """`name=value`, `name!=value`, `name=~regex`, `name!~regex`; the value may be quoted."""
    match = _MATCHER.match(text)
    if match is None:
        raise SilenceError(
            f'bad matcher {text!r} (expected e.g. alertname=RedisDown, instance=~"10\\.0\\..*")'
        )
    name, op, value = match.groups()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    if op in ("=~", "!~"):
        try:
            anchored(value)
        except RegexError as exc:
            raise SilenceError(f"bad regex in matcher {text!r}: {exc}") from None
    return Matcher(name, op, value)


def matches(matcher: Matcher, labels: Mapping[str, str]) -> bool:
    value = labels.get(matcher.name, "")
    if matcher.op == "=":
        return value == matcher.value
    if matcher.op == "!=":
        return value != matcher.value
    # RE2, anchored as Alertmanager anchors it: linear time whatever the pattern
    found = anchored(matcher.value).fullmatch(value)
    return found if matcher.op == "=~" else not found


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at_ms: int
    ends_at_ms: int
    created_by: str
    comment: str

    def active(self, at_ms: int) -> bool:
        return self.starts_at_ms <= at_ms < self.ends_at_ms

    def silences(self, labels: Mapping[str, str], at_ms: int) -> bool:
        return self.active(at_ms) and all(matches(m, labels) for m in self.matchers)

    def describe_matchers(self) -> str:
        return ",".join(f'{m.name}{m.op}"{m.value}"' for m in self.matchers)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "matchers": [[m.name, m.op, m.value] for m in self.matchers],
            "starts_at_ms": self.starts_at_ms,
            "ends_at_ms": self.ends_at_ms,
            "created_by": self.created_by,
            "comment": self.comment,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Silence:
        raw_matchers = data["matchers"]
        assert isinstance(raw_matchers, list)
        return cls(
            id=str(data["id"]),
            matchers=tuple(Matcher(str(n), str(o), str(v)) for n, o, v in raw_matchers),
            starts_at_ms=int(str(data["starts_at_ms"])),
            ends_at_ms=int(str(data["ends_at_ms"])),
            created_by=str(data.get("created_by", "")),
            comment=str(data.get("comment", "")),
        )


class SilenceStore:
    """Silences persisted in `<state_dir>/silences.json`; expired ones are kept a day for
    the record, then dropped."""

    KEEP_EXPIRED_MS = 86_400_000

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "silences.json"
        self._lock_path = state_dir / "silences.lock"
        self._cache: list[Silence] = []
        self._cache_mtime: int | None = None

    def add(
        self,
        matchers: Sequence[Matcher],
        duration_ms: int,
        comment: str,
        created_by: str = "",
        starts_at_ms: int | None = None,
    ) -> Silence:
        if not matchers:
            raise SilenceError("a silence needs at least one matcher")
        if all(matches(m, {}) for m in matchers):
            raise SilenceError(
                "matchers would silence every alert (each matches an empty "
                "label set); add one that names an alert or label value"
            )
        if duration_ms <= 0:
            raise SilenceError("a silence needs a positive duration")
        if not comment.strip():
            raise SilenceError("a silence needs a comment saying why")
        start = now_ms() if starts_at_ms is None else starts_at_ms
        silence = Silence(
            secrets.token_hex(8), tuple(matchers), start, start + duration_ms, created_by, comment
        )
        with self._locked() as current:
            current.append(silence)
        return silence

    def expire(self, silence_id: str) -> Silence:
        """End a silence now; raises SilenceError if no silence has that id (or prefix)."""
        now = now_ms()
        with self._locked() as current:
            found = [i for i, s in enumerate(current) if s.id.startswith(silence_id)]
            if len(found) != 1:
                raise SilenceError(f"no single silence with id {silence_id!r} ({len(found)} match)")
            old = current[found[0]]
            ended = Silence(
                old.id,
                old.matchers,
                old.starts_at_ms,
                min(old.ends_at_ms, now),
                old.created_by,
                old.comment,
            )
            current[found[0]] = ended
        return ended

    def list_silences(
        self, include_expired: bool = False, at_ms: int | None = None
    ) -> list[Silence]:
        at = now_ms() if at_ms is None else at_ms
        return [s for s in self._load_cached() if include_expired or s.ends_at_ms > at]

    def silenced_by(self, labels: Mapping[str, str], at_ms: int) -> list[str]:
        return [s.id for s in self._load_cached() if s.silences(labels, at_ms)]

    def _load_cached(self) -> list[Silence]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        if mtime != self._cache_mtime:
            self._cache = self._read()
            self._cache_mtime = mtime
        return self._cache

    def _read(self) -> list[Silence]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [Silence.from_json(item) for item in raw["silences"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, AssertionError) as exc:
            log.error("silences file %s is unreadable, ignoring it: %s", self.path, exc)
            return []

    @contextmanager
    def _locked(self) -> Iterator[list[Silence]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = self._read()
            yield current
            cutoff = now_ms() - self.KEEP_EXPIRED_MS
            kept = [s for s in current if s.ends_at_ms > cutoff]
            atomic_write_json(self.path, {"silences": [s.to_json() for s in kept]})
            self._cache, self._cache_mtime = kept, None
