"""A hot-key report as samples, for the store and `/metrics`.

Cardinality stays bounded: only the report's top entries become series, labelled by `rank`
(1..top) and `method`. Key names become a `key` label only when the operator opts in, and
can be masked first (a regex and its replacement, e.g. `session:\\w+` -> `session:*`), since
key names often carry user ids or tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectors.hotkeys.report import HotKeyReport
from monitor.model import MetricType, SampleBatch, labels_of
from monitor.regex import RegexError, searcher

__all__ = [
    "KeyExportPolicy",
    "report_samples",
    "HOTKEY_OPS",
    "HOTKEY_ERROR",
    "BIGKEY_BYTES",
    "PATTERN_OPS",
    "OTHER_PATTERNS",
]

HOTKEY_OPS = "cachewatch_hotkey_ops_per_second"
#: by key pattern: the top patterns by name (masked like keys), the rest as one `other`
PATTERN_OPS = "cachewatch_hotkey_pattern_ops_per_second"
OTHER_PATTERNS = "other"
HOTKEY_ERROR = "cachewatch_hotkey_ops_per_second_error"
BIGKEY_BYTES = "cachewatch_bigkey_bytes"


@dataclass(frozen=True, slots=True)
class KeyExportPolicy:
    export_key_names: bool = False
    #: (pattern, replacement) pairs applied in order, as `re.sub` would (but RE2: linear
    #: time whatever the pattern, since key names come from the server's clients)
    masks: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for pattern, replacement in self.masks:
            try:
                searcher(pattern, replacement)
            except RegexError as exc:
                raise ValueError(f"hot-key mask {pattern!r} is not a valid regex: {exc}") from None

    def shown(self, key: str) -> str:
        for pattern, replacement in self.masks:
            key = searcher(pattern, replacement)(key)
        return key


def report_samples(
    report: HotKeyReport,
    out: SampleBatch,
    policy: KeyExportPolicy,
    top: int = 10,
    patterns: int = 10,
) -> None:
    """Add the report's top `top` hot keys (and biggest keys) and its top `patterns` key
    patterns (the rest summed as `other`) to `out`."""
    out.describe(HOTKEY_OPS, MetricType.GAUGE, "Estimated operations per second of a hot key")
    out.describe(HOTKEY_ERROR, MetricType.GAUGE, "Error bound (+/-) of the hot-key estimate")
    for rank, entry in enumerate(report.hot[:top], 1):
        if entry.ops_per_sec is None:
            continue
        labels = {"rank": str(rank), "method": entry.method.value}
        if policy.export_key_names:
            labels["key"] = policy.shown(entry.key)
        out.add(HOTKEY_OPS, entry.ops_per_sec, labels_of(labels))
        if entry.error is not None:
            out.add(HOTKEY_ERROR, entry.error, labels_of(labels))
    out.describe(BIGKEY_BYTES, MetricType.GAUGE, "Sampled MEMORY USAGE of the biggest keys")
    for rank, big in enumerate(report.big[:top], 1):
        labels = {"rank": str(rank), "type": big.type}
        if policy.export_key_names:
            labels["key"] = policy.shown(big.key)
        out.add(BIGKEY_BYTES, float(big.bytes), labels_of(labels))
    _pattern_samples(report, out, policy, patterns)


def _pattern_samples(
    report: HotKeyReport, out: SampleBatch, policy: KeyExportPolicy, patterns: int
) -> None:
    """Patterns are not key names (their identifiers are `{id}`), so they are exported by
    name, through the same masks. The shares of all listed patterns sum to at most 1; what
    the report's patterns leave over is `other`."""
    shown = [p for p in report.patterns if p.ops_per_sec is not None]
    if not shown or not patterns:
        return
    out.describe(PATTERN_OPS, MetricType.GAUGE, "Estimated operations per second by key pattern")
    named: dict[str, float] = {}
    for entry in shown[:patterns]:
        name = policy.shown(entry.pattern)
        named[name] = named.get(name, 0.0) + (entry.ops_per_sec or 0.0)
    for name, rate in named.items():
        out.add(PATTERN_OPS, rate, (("pattern", name),))
    first = shown[0]
    if first.share > 0 and first.ops_per_sec is not None:
        total = first.ops_per_sec / first.share
        rest = total - sum(named.values())
        out.add(PATTERN_OPS, max(rest, 0.0), (("pattern", OTHER_PATTERNS),))
