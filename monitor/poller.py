"""Poll one target: connect (with backoff), probe once per connection, run the due
collectors under one timeout, and hand the batch to the store.

One `TargetPoller` per target. The scheduler never runs two polls of one target at once, so
the poller owns its connection outright. What a poll produces:

- on success: every collector's samples, `<kind>_up 1`, and the poll's duration;
- on failure (timeout, connection error): only `<kind>_up 0` and the duration, so the store
  marks every other series of the target stale, exactly as Prometheus does after a failed
  scrape; the connection is dropped and re-opened with exponential backoff.

A collector that raises anything else is counted (`cachewatch_collector_errors_total`) and
logged (once per distinct message), and the rest of the poll goes on. A collector that
raises `Unsupported` is switched off for the life of the connection with one log line.

Round trips: a collector may declare `prefetch(ctx) -> list of commands`, the exact
commands its next `collect` will send in one `conn.pipeline(...)` call. The poller sends
every due collector's prefetch in one pipeline before running them, and each collector's
matching `pipeline` call is answered from those replies; anything else goes to the server
as before. One round trip per poll instead of one per collector (each costs event-loop CPU).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from collectors.base import Capabilities, CollectContext, Collector, Tier, Unsupported
from collectors.observer import OBSERVER_METRICS, ledger_for
from monitor.model import Event, MetricType, SampleBatch
from monitor.secrets import redact
from monitor.targets import Target, TargetKind

__all__ = ["TargetStatus", "TargetPoller", "PollObserver", "SampleSink", "open_connection"]

log = logging.getLogger("cachewatch.poller")

_BACKOFF_MAX_S = 30.0
#: how long a collector switched off by `Unsupported` stays off across reconnects
_RETRY_SKIPPED_S = 600.0


class _BackingOff(Exception):
    """The target failed recently; this poll skips the reconnect attempt."""


class SampleSink(Protocol):
    def append(self, batch: SampleBatch) -> None: ...

    def add_events(self, events: list[Event]) -> None: ...


class PollObserver(Protocol):
    def observe_poll(self, instance: str, duration_s: float, ok: bool) -> None: ...


@dataclass
class TargetStatus:
    """What the UIs show about a target's polling. Replaced wholesale after each poll, so
    readers in other threads always see a consistent object."""

    target: Target
    up: bool | None = None  # None until the first poll finishes
    last_poll_ms: int = 0
    last_duration_s: float = 0.0
    last_error: str | None = None
    consecutive_failures: int = 0
    capabilities: Capabilities | None = None
    #: collector name -> why it is switched off on this target
    skipped: dict[str, str] = field(default_factory=dict)
    last_batch: SampleBatch | None = None
    #: the first poll of the current run of good polls (0 while down): rates over a window
    #: reaching further back would be extrapolated from a part of it
    up_since_ms: int = 0


async def open_connection(target: Target) -> Any:
    if target.kind is TargetKind.MEMCACHED:
        from collectors.memcached_conn import MemcachedConnection

        return await MemcachedConnection.open(target)
    from collectors.redis_conn import RedisConnection

    return await RedisConnection.open(target)


async def probe_capabilities(target: Target, conn: Any) -> Capabilities:
    if target.kind is TargetKind.MEMCACHED:
        return Capabilities(server="memcached")
    from collectors.redis_probe import probe

    return await probe(conn)


class TargetPoller:
    def __init__(
        self,
        target: Target,
        collectors: list[Collector],
        sink: SampleSink | None = None,
        observer: PollObserver | None = None,
        slow_interval_s: float = 60.0,
        options: dict[str, Any] | None = None,
        connect: Callable[[Target], Any] = open_connection,
        probe: Callable[[Target, Any], Awaitable[Capabilities]] | None = None,
        contributors: list[Callable[[Target, SampleBatch], None]] | None = None,
    ) -> None:
        self.target = target
        # shared list: contributors registered later (hot keys) reach existing pollers too
        self._contributors = contributors if contributors is not None else []
        self._probe = probe or probe_capabilities
        self._collectors = collectors
        self._sink = sink
        self._observer = observer
        self._slow_interval_s = slow_interval_s
        self._options = options or {}
        self._connect = connect
        self._conn: Any = None
        self._capabilities: Capabilities | None = None
        self._skipped: dict[str, str] = {}
        self._skipped_at: dict[str, float] = {}
        self._slow_due_at = 0.0
        self._slow_cache: dict[str, SampleBatch] = {}
        self._reconnect_at = 0.0
        self._backoff_s = 0.0
        self._logged_errors: set[str] = set()
        self._error_counts: dict[str, int] = {}
        # set when discovery replaced this poller: a poll still in flight must not write
        # samples under labels whose series were already ended
        self._retired = False
        # set by close(): a connection that a poll in flight opens afterwards is closed at
        # once (discovery replaced this poller; nobody would ever close it)
        self._closed = False
        self.status = TargetStatus(target=target)
        self._up_name = f"{target.kind.value}_up"

    async def poll(self, ts_ms: int | None = None) -> SampleBatch:
        """Poll once and return the batch (also appended to the sink)."""
        target = self.target
        started = time.perf_counter()
        ts_ms = int(time.time() * 1000) if ts_ms is None else ts_ms
        batch = SampleBatch(
            ts_ms=ts_ms, target_labels=target.series_labels(), source=target.store_source
        )
        events: list[Event] = []
        error: str | None = None
        backing_off = False
        try:
            async with asyncio.timeout(target.timeout_s):
                await self._collect(batch, events)
        except _BackingOff:
            backing_off = True
            error = self.status.last_error or "reconnecting"
        except TimeoutError:
            error = f"poll timed out after {target.timeout_s:g}s"
        except (OSError, ConnectionError, EOFError) as exc:
            error = redact(str(exc), target.password) or type(exc).__name__
        except Exception as exc:  # a broken reply or a bug: keep polling, say what happened
            error = redact(f"{type(exc).__name__}: {exc}", target.password)
        if error is not None and not backing_off:
            await self._drop_connection(error)
        if error is not None:
            batch = SampleBatch(
                ts_ms=ts_ms, target_labels=target.series_labels(), source=target.store_source
            )
            events = []
        duration = time.perf_counter() - started
        ok = error is None
        batch.add(self._up_name, 1.0 if ok else 0.0)
        batch.add("cachewatch_poll_duration_seconds", duration)
        if self._sink is not None and not self._retired:
            self._sink.append(batch)
            if events:
                self._sink.add_events(events)
        if self._observer is not None:
            self._observer.observe_poll(target.instance, duration, ok)
        previous = self.status
        self.status = TargetStatus(
            target=target,
            up=ok,
            last_poll_ms=ts_ms,
            # a poll skipped while backing off tried nothing: the last attempt's duration
            # (a timeout's full length) still says how long this target takes
            last_duration_s=previous.last_duration_s if backing_off else duration,
            last_error=error,
            consecutive_failures=0 if ok else previous.consecutive_failures + 1,
            capabilities=self._capabilities,
            skipped=dict(self._skipped),
            last_batch=batch,
            up_since_ms=(previous.up_since_ms if previous.up else ts_ms) if ok else 0,
        )
        return batch

    async def _collect(self, batch: SampleBatch, events: list[Event]) -> None:
        conn = await self._ensure_connection()
        assert self._capabilities is not None
        ctx = CollectContext(
            target=self.target,
            capabilities=self._capabilities,
            log=log,
            events=events,
            options=self._options,
        )
        now = time.monotonic()
        slow_due = now >= self._slow_due_at
        if slow_due:
            self._slow_due_at = now + self._slow_interval_s
        # Parts go into the batch in collector order whether they come from the server or
        # from the slow tier's cache: the same series in the same order poll after poll is
        # what keeps the store's append on its fast path (no layout change).
        due: list[tuple[Collector, SampleBatch]] = []
        parts: list[SampleBatch] = []
        for collector in self._collectors:
            name = collector.name
            if name in self._skipped:
                continue
            if collector.tier is Tier.SLOW and not slow_due:
                cached = self._slow_cache.get(name)
                if cached is not None:
                    parts.append(cached)
                continue
            part = SampleBatch(ts_ms=batch.ts_ms, target_labels=batch.target_labels)
            due.append((collector, part))
            parts.append(part)
        served = await _prefetch(conn, ctx, [collector for collector, _ in due])
        failed: set[int] = set()
        for collector, part in due:
            name = collector.name
            try:
                await collector.collect(served, ctx, part)
            except Unsupported as exc:
                reason = redact(str(exc), self.target.password) or "not supported"
                self._skipped[name] = reason
                self._skipped_at[name] = time.monotonic()
                log.warning("%s: collector %s switched off: %s", self.target.url, name, reason)
                failed.add(id(part))
                continue
            except (OSError, ConnectionError, EOFError, TimeoutError):
                raise
            except Exception as exc:
                message = redact(f"{type(exc).__name__}: {exc}", self.target.password)
                key = f"{name}:{message}"
                if key not in self._logged_errors:
                    self._logged_errors.add(key)
                    log.warning("%s: collector %s failed: %s", self.target.url, name, message)
                self._error_counts[name] = self._error_counts.get(name, 0) + 1
                self._slow_cache.pop(name, None)
                failed.add(id(part))
                continue
            if collector.tier is Tier.SLOW:
                self._slow_cache[name] = part
        for part in parts:
            if id(part) not in failed:
                batch.extend(part)
        for contribute in self._contributors:
            try:
                contribute(self.target, batch)
            except Exception:
                log.exception("%s: a sample contributor failed", self.target.url)
        for name, count in self._error_counts.items():
            batch.add("cachewatch_collector_errors_total", float(count), (("collector", name),))
        # What this process sent the server so far, this poll's commands included: the
        # read model subtracts it from the server's own counts (collectors/observer.py).
        ledger_for(self.target).add_samples(batch, keyspace=self.target.kind is TargetKind.REDIS)

    async def _ensure_connection(self) -> Any:
        if self._conn is not None:
            return self._conn
        now = time.monotonic()
        if now < self._reconnect_at:
            raise _BackingOff()
        conn = await self._connect(self.target)
        try:
            self._capabilities = await self._probe(self.target, conn)
        except BaseException:
            await conn.close()
            raise
        if self._closed:
            await conn.close()
            raise ConnectionError(f"{self.target.url}: poller closed while connecting")
        self._conn = conn
        # A collector switched off stays off across reconnects (a flapping link must not
        # re-send a refused command each time: every refusal bumps the server's error
        # stats), but is tried again after a while: ACLs and configs do change.
        now = time.monotonic()
        self._skipped = {
            name: reason
            for name, reason in self._skipped.items()
            if now - self._skipped_at.get(name, now) < _RETRY_SKIPPED_S
        }
        self._slow_due_at = 0.0
        self._backoff_s = 0.0
        return conn

    async def _drop_connection(self, error: str) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception:
                log.debug("%s: error while closing a broken connection", self.target.url)
        # Exponential backoff with jitter, capped; the first retry is immediate on the
        # next poll so a single blip costs one poll, not a minute.
        if self._backoff_s == 0.0:
            self._backoff_s = 0.5
            self._reconnect_at = 0.0
        else:
            # capped so that a target that comes back is seen within a few intervals
            cap = max(self.target.interval_s, min(_BACKOFF_MAX_S, 4 * self.target.interval_s))
            self._backoff_s = min(self._backoff_s * 2, cap)
            self._reconnect_at = time.monotonic() + self._backoff_s * random.uniform(0.5, 1.0)
        key = f"down:{error}"
        if key not in self._logged_errors:
            self._logged_errors.add(key)
            log.warning("%s: poll failed: %s", self.target.url, error)

    def retire(self) -> None:
        self._retired = True

    async def close(self) -> None:
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()


CommandKey = tuple[tuple[Any, ...], ...]


class _Prefetched:
    """The connection as collectors see it during one poll: `pipeline` calls that match a
    prefetched command list are answered from its replies; everything else is delegated."""

    def __init__(self, conn: Any, replies: dict[CommandKey, list[list[Any]]]) -> None:
        self._conn = conn
        self._replies = replies

    async def pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        waiting = self._replies.get(tuple(commands))
        if waiting:
            return waiting.pop(0)
        result: list[Any] = await self._conn.pipeline(commands)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


async def _prefetch(conn: Any, ctx: CollectContext, due: list[Collector]) -> Any:
    """Send the due collectors' declared commands in one pipeline; see the module doc."""
    keys: list[CommandKey] = []
    for collector in due:
        declare = getattr(collector, "prefetch", None)
        commands = declare(ctx) if declare is not None else None
        if commands:
            keys.append(tuple(tuple(c) for c in commands))
    if len(keys) < 2:  # nothing to merge: one collector's own call is as good
        return conn
    replies = await conn.pipeline([c for key in keys for c in key])
    served: dict[CommandKey, list[list[Any]]] = {}
    at = 0
    for key in keys:
        served.setdefault(key, []).append(replies[at : at + len(key)])
        at += len(key)
    return _Prefetched(conn, served)


#: Metadata for the samples the poller itself adds to every batch.
POLLER_METRICS: dict[str, tuple[MetricType, str]] = {
    "redis_up": (MetricType.GAUGE, "Information about the Redis instance"),
    "memcached_up": (MetricType.GAUGE, "Could the memcached server be reached."),
    "cachewatch_poll_duration_seconds": (MetricType.GAUGE, "Duration of the last poll."),
    "cachewatch_collector_errors_total": (
        MetricType.COUNTER,
        "Collector failures since cachewatch started, by collector.",
    ),
    **OBSERVER_METRICS,
}
