"""Findings over time: when each was first and last seen, and which cleared.

The engine says what holds now; the tracker keeps each finding's first-seen time while it
keeps holding, and drops it the first evaluation its evidence no longer shows it. A runner
that restarts gets the first-seen times back from the store's
`cachewatch_finding_first_seen_timestamp_seconds` (`restore`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from monitor.doctor.model import Finding

__all__ = ["FindingTracker", "FindingKey"]

FindingKey = tuple[str, tuple[tuple[str, str], ...]]


class FindingTracker:
    def __init__(self) -> None:
        self._first_seen: dict[FindingKey, int] = {}
        self._restored: dict[FindingKey, int] = {}
        self.standing: list[Finding] = []
        #: findings that cleared at the last update (for logs and tests)
        self.cleared: list[Finding] = []

    def restore(self, first_seen: Mapping[FindingKey, int]) -> None:
        """First-seen times of findings a previous run saw (applied if they still hold)."""
        self._restored.update(first_seen)

    def update(self, findings: Iterable[Finding], at_ms: int) -> list[Finding]:
        now: list[Finding] = []
        seen: dict[FindingKey, int] = {}
        for finding in findings:
            key = finding.key
            first = self._first_seen.get(key) or self._restored.pop(key, None) or at_ms
            seen[key] = first
            now.append(replace(finding, first_seen_ms=first, last_seen_ms=at_ms))
        previous = {f.key: f for f in self.standing}
        self.cleared = [f for key, f in previous.items() if key not in seen]
        self._first_seen = seen
        self.standing = now
        return now
