"""Namespaces over time: key count, memory and TTLs per key pattern, from a budgeted sample.

Offline RDB analysers answer "which part of the keyspace holds the memory" once; this keeps
answering it. A sampler walks the keyspace with `SCAN cursor COUNT n` (each key's pattern
comes from `collectors.keypatterns.key_pattern`, the hot keys' inference), counts keys per
pattern, and for the first `samples` keys of each pattern in a pass (SCAN's order is the
hash table's: a random sample) asks `MEMORY USAGE key SAMPLES 5` and `TTL key`. At the end
of a pass (the cursor back at 0):

- keys of a pattern = its share of the keys scanned x the database's key count (INFO
  keyspace; that corrects for keys added or removed while the pass ran);
- memory = the pattern's mean sampled `MEMORY USAGE` x its keys;
- TTLs: the sampled keys' share in none / < 1 h / < 1 d / longer, x its keys;
- the largest key sampled.

Until the first pass ends, the same estimates come from the part scanned so far. Every
command goes through `RedisConnection`, so it is counted as cachewatch's own
(`collectors/observer.py`) and the views leave it out; the caller grants commands per step
from a budget (`monitor/doctor/namespaces_runner.py`). Read-only: SCAN, MEMORY USAGE, TTL,
INFO keyspace.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from collectors.keypatterns import key_pattern
from collectors.redis_conn import RedisConnection, ReplyError
from monitor.model import SampleBatch
from monitor.targets import Target

__all__ = [
    "NamespaceOptions",
    "NamespaceRow",
    "NamespaceReport",
    "NamespaceSampler",
    "TTL_BUCKETS",
    "OTHER",
    "add_namespace_samples",
]

OTHER = "other"
#: TTL buckets, in order: no TTL, under an hour, under a day, longer
TTL_BUCKETS = ("none", "under_1h", "under_1d", "longer")
#: patterns one pass keeps apart; past this, new patterns count as `other`
_MAX_PATTERNS = 1000
_MEMORY_SAMPLES = 5  # MEMORY USAGE's own default for nested values


def ttl_bucket(ttl_s: int) -> str | None:
    if ttl_s == -1:
        return "none"
    if ttl_s < 0:
        return None  # -2: the key is gone
    return "under_1h" if ttl_s < 3600 else "under_1d" if ttl_s < 86400 else "longer"


@dataclass(frozen=True, slots=True)
class NamespaceOptions:
    #: patterns with series of their own (by memory); the rest are summed as `other`
    top: int = 20
    #: keys per pattern per pass whose memory and TTL are sampled
    samples: int = 256
    scan_count: int = 500
    #: a pass starts at most this often (start to start): namespaces change over hours, and
    #: on a 200k-key server each pass costs ~0.4 s of server CPU (SCAN), so back-to-back
    #: passes would keep a busy server ~2 % of a core busy for nothing new
    every_s: float = 300.0


@dataclass(frozen=True, slots=True)
class NamespaceRow:
    pattern: str
    keys: float
    memory_bytes: float
    ttl_keys: tuple[float, float, float, float]  # TTL_BUCKETS order
    largest_key_bytes: float
    sampled: int


@dataclass(frozen=True, slots=True)
class NamespaceReport:
    instance: str
    rows: tuple[NamespaceRow, ...]  # by memory, largest first
    complete: bool  # from a whole pass (False: from the part scanned so far)
    passes: int
    progress: float  # of the current pass, 0..1 (keys scanned / keys in the database)
    db_keys: float
    at_ms: int = 0


@dataclass(slots=True)
class _Pass:
    seen: Counter[str] = field(default_factory=Counter)
    memory: dict[str, list[float]] = field(default_factory=dict)
    ttls: dict[str, Counter[str]] = field(default_factory=dict)
    largest: dict[str, float] = field(default_factory=dict)
    #: per pattern, keys queued for sampling and not answered yet
    pending: Counter[str] = field(default_factory=Counter)
    #: keys waiting for MEMORY USAGE + TTL: (key, pattern)
    queue: list[tuple[bytes, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.seen.values())


class NamespaceSampler:
    """One Redis target's namespace sampler. `step(allowance)` spends at most `allowance`
    of its command budget and returns what it spent. A SCAN is charged `scan_cost` (its COUNT
    / 10), not 1: it reads COUNT keys and costs the server ~0.4-0.8 ms at COUNT 500, some
    hundred times a MEMORY USAGE or TTL (1-3 µs), so a budget of "200 commands a second"
    spent on SCANs alone would take ~10 % of a server core."""

    def __init__(self, target: Target, options: NamespaceOptions) -> None:
        self.target = target
        self.instance = target.instance
        self.options = options
        self._conn: RedisConnection | None = None
        self._cursor = 0
        self._scanned_all = False
        self._current = _Pass()
        self._done: _Pass | None = None
        self._db_keys = 0.0
        self._passes = 0
        #: when the current pass began (monotonic), None until it has
        self._pass_began: float | None = None
        self._next_pass_at = 0.0
        self.commands_sent = 0

    @property
    def resting(self) -> bool:
        """Between passes: the last one finished and the next is not due yet."""
        return (
            self._done is not None
            and self._pass_began is None
            and time.monotonic() < self._next_pass_at
        )

    async def _connection(self) -> RedisConnection:
        if self._conn is None:
            self._conn = await RedisConnection.open(self.target)
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    @property
    def scan_cost(self) -> int:
        return max(1, self.options.scan_count // 10)

    async def step(self, allowance: int) -> int:
        sent = spent = 0
        worked = False  # a SCAN or samples this step (the pass's INFO keyspace is not)
        if self.resting:
            return 0
        if self._pass_began is None:
            self._pass_began = time.monotonic()
        try:
            conn = await self._connection()
            if self._cursor == 0 and not self._scanned_all and self._current.total == 0:
                await self._read_db_keys(conn)
                sent, spent = sent + 1, spent + 1
            while spent < allowance:
                if self._current.queue:
                    n = await self._sample(conn, allowance - spent)
                    sent, spent, worked = sent + n, spent + n, True
                elif self._scanned_all:
                    self._finish_pass()
                    break
                elif spent + self.scan_cost > allowance and worked:
                    break  # the SCAN waits for the next step (the caller carries the debt)
                else:
                    sent, spent = sent + await self._scan(conn), spent + self.scan_cost
                    worked = True
        except (ConnectionError, OSError, TimeoutError):
            await self.close()
            raise
        finally:
            self.commands_sent += sent
        return spent

    async def _read_db_keys(self, conn: RedisConnection) -> None:
        reply = await conn.execute("INFO", "keyspace")
        self._db_keys = _db_keys(reply, self.target.db)

    async def _scan(self, conn: RedisConnection) -> int:
        reply = await conn.execute("SCAN", self._cursor, "COUNT", self.options.scan_count)
        cursor, keys = reply
        self._cursor = int(cursor)
        self._scanned_all = self._cursor == 0
        current = self._current
        for key in keys:
            pattern = key_pattern(key.decode("utf-8", "replace"))
            if pattern not in current.seen and len(current.seen) >= _MAX_PATTERNS:
                pattern = OTHER
            current.seen[pattern] += 1
            sizes = current.memory.setdefault(pattern, [])
            current.ttls.setdefault(pattern, Counter())
            if len(sizes) + current.pending[pattern] < self.options.samples and pattern != OTHER:
                # reserve the slot now so a pattern's samples are its first keys in scan order
                current.pending[pattern] += 1
                current.queue.append((key, pattern))
        return 1

    async def _sample(self, conn: RedisConnection, allowance: int) -> int:
        batch = self._current.queue[: max(allowance // 2, 1)]
        del self._current.queue[: len(batch)]
        commands: list[tuple[Any, ...]] = []
        for key, _ in batch:
            commands.append(("MEMORY", "USAGE", key, "SAMPLES", _MEMORY_SAMPLES))
            commands.append(("TTL", key))
        replies = await conn.pipeline(commands)
        current = self._current
        for i, (_, pattern) in enumerate(batch):
            usage, ttl = replies[2 * i], replies[2 * i + 1]
            ttls = current.ttls[pattern]
            current.pending[pattern] -= 1
            bucket = ttl_bucket(ttl) if isinstance(ttl, int) else None
            if isinstance(usage, ReplyError) or not isinstance(usage, int) or bucket is None:
                continue  # the key went away between SCAN and now
            current.memory[pattern].append(float(usage))
            ttls[bucket] += 1
            current.largest[pattern] = max(current.largest.get(pattern, 0.0), float(usage))
        return len(commands)

    def _finish_pass(self) -> None:
        self._done, self._current = self._current, _Pass()
        self._scanned_all = False
        self._passes += 1
        began = self._pass_began if self._pass_began is not None else time.monotonic()
        self._next_pass_at = began + self.options.every_s
        self._pass_began = None

    def report(self, at_ms: int = 0) -> NamespaceReport:
        """Estimates from the last whole pass, or from the current one until there is one."""
        complete = self._done is not None
        source = self._done if self._done is not None else self._current
        scanned = self._current.total
        progress = min(1.0, scanned / self._db_keys) if self._db_keys else 0.0
        if self.resting:
            progress = 1.0  # the last pass is whole and the next is not due
        return NamespaceReport(
            instance=self.instance,
            rows=tuple(_estimate(source, self._db_keys)),
            complete=complete,
            passes=self._passes,
            progress=progress,
            db_keys=self._db_keys,
            at_ms=at_ms,
        )


def _db_keys(info: Any, db: int) -> float:
    text = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        name, _, fields = line.partition(":")
        if name.strip() == f"db{db}":
            for part in fields.split(","):
                key, _, value = part.partition("=")
                if key == "keys":
                    return float(value)
    return 0.0


def _estimate(source: _Pass, db_keys: float) -> list[NamespaceRow]:
    total = source.total
    if not total:
        return []
    scale = (db_keys / total) if db_keys else 1.0
    rows = []
    for pattern, seen in source.seen.items():
        keys = seen * scale
        sizes = source.memory.get(pattern, [])
        mean = sum(sizes) / len(sizes) if sizes else math.nan
        ttls = source.ttls.get(pattern, Counter())
        sampled = sum(ttls[b] for b in TTL_BUCKETS)
        shares = [ttls[b] / sampled if sampled else math.nan for b in TTL_BUCKETS]
        rows.append(
            NamespaceRow(
                pattern=pattern,
                keys=keys,
                memory_bytes=mean * keys,
                ttl_keys=(
                    shares[0] * keys,
                    shares[1] * keys,
                    shares[2] * keys,
                    shares[3] * keys,
                ),
                largest_key_bytes=source.largest.get(pattern, math.nan),
                sampled=len(sizes),
            )
        )
    rows.sort(key=lambda r: (-(r.memory_bytes if math.isfinite(r.memory_bytes) else 0), r.pattern))
    return rows


def _summed(rows: list[NamespaceRow]) -> NamespaceRow:
    def total(values: list[float]) -> float:
        finite = [v for v in values if math.isfinite(v)]
        return sum(finite) if finite else math.nan

    return NamespaceRow(
        pattern=OTHER,
        keys=total([r.keys for r in rows]),
        memory_bytes=total([r.memory_bytes for r in rows]),
        ttl_keys=(
            total([r.ttl_keys[0] for r in rows]),
            total([r.ttl_keys[1] for r in rows]),
            total([r.ttl_keys[2] for r in rows]),
            total([r.ttl_keys[3] for r in rows]),
        ),
        largest_key_bytes=max(
            (r.largest_key_bytes for r in rows if math.isfinite(r.largest_key_bytes)),
            default=math.nan,
        ),
        sampled=sum(r.sampled for r in rows),
    )


def bounded_rows(report: NamespaceReport, top: int) -> list[NamespaceRow]:
    """The `top` patterns by memory and the rest summed as `other` (what is stored)."""
    rows = list(report.rows)
    kept = [r for r in rows[:top] if r.pattern != OTHER]
    rest = [r for r in rows if r not in kept]
    return [*kept, _summed(rest)] if rest else kept


def add_namespace_samples(report: NamespaceReport, batch: SampleBatch, top: int) -> None:
    """The bounded namespace series of one target into its poll's batch."""
    for row in bounded_rows(report, top):
        labels = (("pattern", row.pattern),)
        batch.add("cachewatch_namespace_keys", row.keys, labels)
        if math.isfinite(row.memory_bytes):
            batch.add("cachewatch_namespace_memory_bytes", row.memory_bytes, labels)
        if math.isfinite(row.largest_key_bytes):
            batch.add("cachewatch_namespace_largest_key_bytes", row.largest_key_bytes, labels)
        for bucket, keys in zip(TTL_BUCKETS, row.ttl_keys, strict=True):
            if math.isfinite(keys):
                batch.add(
                    "cachewatch_namespace_keys_by_ttl",
                    keys,
                    (("pattern", row.pattern), ("ttl", bucket)),
                )
    batch.add("cachewatch_namespace_scan_progress", report.progress)
    batch.add("cachewatch_namespace_passes", float(report.passes))
