"""Key patterns (namespaces) from a method's hot-key entries, where the method gives rates
per key but no stream to count every key of (LFU sampling, the server's HOTKEYS): the
patterns of the keys it ranked, with their summed rates. MONITOR and `watch` samples count
every key they see instead (`keypatterns.PatternCounter`), which is what pattern shares
need; these, from the top keys only, say so in their method's notes."""

from __future__ import annotations

from collections.abc import Sequence

from collectors.hotkeys.report import HotKeyEntry, PatternEntry
from collectors.keypatterns import key_pattern

__all__ = ["patterns_of_entries"]


def patterns_of_entries(
    entries: Sequence[HotKeyEntry], top: int, instance: str
) -> list[PatternEntry]:
    rates: dict[str, float] = {}
    errors: dict[str, float] = {}
    method = entries[0].method if entries else None
    for entry in entries:
        weight = entry.ops_per_sec if entry.ops_per_sec is not None else entry.share
        if weight is None or method is None:
            continue
        pattern = key_pattern(entry.key)
        rates[pattern] = rates.get(pattern, 0.0) + weight
        errors[pattern] = errors.get(pattern, 0.0) + (entry.error or 0.0)
    total = sum(rates.values())
    if not total or method is None:
        return []
    with_rates = entries[0].ops_per_sec is not None
    ranked = sorted(rates.items(), key=lambda pr: -pr[1])[:top]
    return [
        PatternEntry(
            pattern,
            rate / total,
            rate if with_rates else None,
            errors[pattern] if with_rates else None,
            method,
            instance,
        )
        for pattern, rate in ranked
    ]
