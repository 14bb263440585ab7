"""What a hot-key detector reports: frozen values the CLI, the UIs and the exporter read."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "Method",
    "HotKeyEntry",
    "BigKeyEntry",
    "KeySizeHistogram",
    "RecentKey",
    "PatternEntry",
    "SampleInfo",
    "HotKeyReport",
    "display_key",
    "merge_reports",
]


class Method(enum.StrEnum):
    """How an estimate was produced, cheapest first (see docs/HOTKEYS.md for each cost)."""

    SERVER = "server"  # the server's own HOTKEYS tracking
    LFU = "lfu"  # SCAN + OBJECT FREQ sampling under an *-lfu maxmemory policy
    MONITOR = "monitor"  # duty-cycled MONITOR bursts into Space-Saving
    WATCH = "watch"  # memcached `watch fetchers mutations` bursts into Space-Saving
    NONE = "none"  # nothing usable on this target; `notes` says why


def display_key(raw: bytes | str) -> str:
    """A key as text: UTF-8 where it is, `\\xNN` escapes elsewhere (binary keys stay readable
    and JSON-safe)."""
    if isinstance(raw, str):
        return raw
    return raw.decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class HotKeyEntry:
    """One hot key. `ops_per_sec` is the estimate, the true rate lies within `± error`.

    `reads_per_sec`/`writes_per_sec` are set where the method can tell them apart.
    `share` is the key's fraction of the measured total (of CPU time or network bytes for
    the Redis HOTKEYS method, which reports no rates: `ops_per_sec` is None there).
    """

    key: str
    ops_per_sec: float | None
    error: float | None
    method: Method
    instance: str
    window_s: float
    reads_per_sec: float | None = None
    writes_per_sec: float | None = None
    share: float | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "ops_per_sec": _rounded(self.ops_per_sec),
            "error": _rounded(self.error),
            "reads_per_sec": _rounded(self.reads_per_sec),
            "writes_per_sec": _rounded(self.writes_per_sec),
            "share": self.share,
            "method": self.method.value,
            "instance": self.instance,
            "window_s": round(self.window_s, 3),
        }


@dataclass(frozen=True, slots=True)
class BigKeyEntry:
    key: str
    type: str
    bytes: int
    instance: str


@dataclass(frozen=True, slots=True)
class KeySizeHistogram:
    """One line of Redis 8's `INFO keysizes`: power-of-two size buckets -> key counts."""

    instance: str
    db: int
    kind: str  # e.g. "strings_sizes", "lists_items"
    buckets: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class RecentKey:
    """A memcached item from `lru_crawler metadump`: seconds since its last access."""

    key: str
    idle_s: float
    size: int
    instance: str


@dataclass(frozen=True, slots=True)
class PatternEntry:
    """A key pattern (`api:v2:user:{id}:profile`, see `collectors/keypatterns.py`) and its
    share of the key accesses seen, with the rate that share stands for where known."""

    pattern: str
    share: float
    ops_per_sec: float | None
    error: float | None  # of ops_per_sec (or of the share, when there is no rate)
    method: Method
    instance: str

    def as_json(self) -> dict[str, object]:
        return {
            "pattern": self.pattern,
            "share": round(self.share, 4),
            "ops_per_sec": _rounded(self.ops_per_sec),
            "error": _rounded(self.error),
            "method": self.method.value,
            "instance": self.instance,
        }


@dataclass(frozen=True, slots=True)
class SampleInfo:
    """What an estimate rests on and what it cost the server."""

    method: Method
    window_s: float
    #: commands the estimate rests on (MONITOR/watch lines with keys; LFU: counters read)
    commands: int
    bursts: int = 0
    #: seconds the stream was attached (MONITOR/watch)
    monitored_s: float = 0.0
    #: the server's own commands per second outside the bursts (what rates scale to)
    server_ops_per_s: float | None = None
    #: the share of the server's throughput the sampling cost over the window
    throughput_loss: float | None = None
    #: True when the loss could not be measured and is the bound the plan kept to
    loss_is_bound: bool = False

    def describe(self) -> str:
        parts = [f"{self.method.value} over {self.window_s:.1f}s", f"{self.commands:,} commands"]
        if self.bursts:
            parts.append(f"{self.bursts} bursts, {self.monitored_s * 1000:.0f} ms attached")
        if self.throughput_loss is not None:
            word = "at most" if self.loss_is_bound else "measured"
            parts.append(f"throughput cost {word} {self.throughput_loss * 100:.2f} %")
        return ", ".join(parts)

    def as_json(self) -> dict[str, object]:
        return {
            "method": self.method.value,
            "window_s": round(self.window_s, 3),
            "commands": self.commands,
            "bursts": self.bursts,
            "monitored_s": round(self.monitored_s, 3),
            "server_ops_per_s": _rounded(self.server_ops_per_s),
            "throughput_loss": _rounded(self.throughput_loss, 5),
            "loss_is_bound": self.loss_is_bound,
        }


@dataclass(frozen=True, slots=True)
class HotKeyReport:
    """Hot and big keys of one target (or of a merged cluster) over one window."""

    target: str
    window_start_ms: int
    window_end_ms: int
    methods: tuple[Method, ...]
    hot: tuple[HotKeyEntry, ...] = ()
    big: tuple[BigKeyEntry, ...] = ()
    keysizes: tuple[KeySizeHistogram, ...] = ()
    recent: tuple[RecentKey, ...] = ()
    #: why a method was skipped or fell back, one sentence each
    notes: tuple[str, ...] = field(default=())
    #: key patterns by share of the accesses seen, biggest first
    patterns: tuple[PatternEntry, ...] = ()
    #: what the estimate rests on and what it cost, per node (one for a single target)
    samples: tuple[SampleInfo, ...] = ()

    @property
    def window_s(self) -> float:
        return max(0.0, (self.window_end_ms - self.window_start_ms) / 1000)

    def top(self, n: int) -> tuple[HotKeyEntry, ...]:
        return self.hot[:n]

    def as_json(self, top: int) -> dict[str, object]:
        """The whole result (CLI `--format json`, the HTTP API): what was found, by key and
        by pattern, what it rests on and what it cost, and the notes."""
        return {
            "target": self.target,
            "window_s": round(self.window_s, 3),
            "methods": [m.value for m in self.methods],
            "keys": [entry.as_json() for entry in self.hot[:top]],
            "patterns": [entry.as_json() for entry in self.patterns[:top]],
            "samples": [sample.as_json() for sample in self.samples],
            "notes": list(self.notes),
        }

    @property
    def ranked(self) -> bool:
        """Whether any method could rank keys here (the CLI exits 1 when none could)."""
        return any(m is not Method.NONE for m in self.methods)


def merge_reports(target: str, reports: list[HotKeyReport], top: int) -> HotKeyReport:
    """One report for a cluster: keys live on one shard, so entries rarely collide; when a key
    shows up on several nodes (a primary and a replica serving reads) the rates add up."""
    merged: dict[str, HotKeyEntry] = {}
    for report in reports:
        for entry in report.hot:
            seen = merged.get(entry.key)
            merged[entry.key] = entry if seen is None else _add(seen, entry)
    hot = sorted(merged.values(), key=_rank_value, reverse=True)[:top]
    big = sorted((b for r in reports for b in r.big), key=lambda b: b.bytes, reverse=True)
    methods = tuple(dict.fromkeys(m for r in reports for m in r.methods))
    patterns = _merge_patterns(target, [p for r in reports for p in r.patterns], top)
    return HotKeyReport(
        target=target,
        window_start_ms=min((r.window_start_ms for r in reports), default=0),
        window_end_ms=max((r.window_end_ms for r in reports), default=0),
        methods=methods,
        hot=tuple(hot),
        big=tuple(big[: top * 4]),
        keysizes=tuple(h for r in reports for h in r.keysizes),
        recent=tuple(k for r in reports for k in r.recent),
        notes=tuple(f"{r.target}: {note}" for r in reports for note in r.notes),
        patterns=tuple(patterns),
        samples=tuple(s for r in reports for s in r.samples),
    )


def _merge_patterns(target: str, entries: list[PatternEntry], top: int) -> list[PatternEntry]:
    """Patterns over several nodes: rates add up, and shares are of the summed rate (nodes
    without rates, the server's HOTKEYS shares, are averaged instead)."""
    if not entries:
        return []
    with_rates = all(e.ops_per_sec is not None for e in entries)
    weights: dict[str, float] = {}
    errors: dict[str, float] = {}
    for entry in entries:
        weight = entry.ops_per_sec if with_rates else entry.share
        weights[entry.pattern] = weights.get(entry.pattern, 0.0) + (weight or 0.0)
        errors[entry.pattern] = errors.get(entry.pattern, 0.0) + (entry.error or 0.0)
    total = sum(weights.values()) or 1.0
    method = entries[0].method
    return [
        PatternEntry(
            pattern,
            weight / total,
            weight if with_rates else None,
            errors[pattern] if with_rates else None,
            method,
            target,
        )
        for pattern, weight in sorted(weights.items(), key=lambda pw: -pw[1])[:top]
    ]


def _rank_value(entry: HotKeyEntry) -> float:
    if entry.ops_per_sec is not None:
        return entry.ops_per_sec
    return entry.share or 0.0


def _add(a: HotKeyEntry, b: HotKeyEntry) -> HotKeyEntry:
    def plus(x: float | None, y: float | None) -> float | None:
        return None if x is None and y is None else (x or 0.0) + (y or 0.0)

    return HotKeyEntry(
        key=a.key,
        ops_per_sec=plus(a.ops_per_sec, b.ops_per_sec),
        error=plus(a.error, b.error),
        method=a.method,
        instance=f"{a.instance},{b.instance}",
        window_s=max(a.window_s, b.window_s),
        reads_per_sec=plus(a.reads_per_sec, b.reads_per_sec),
        writes_per_sec=plus(a.writes_per_sec, b.writes_per_sec),
        share=None,
    )


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
