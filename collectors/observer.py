"""What cachewatch itself sends to each server: every command, by the name the server's own
statistics use, and the keyspace hits and misses its lookups cause.

Every command cachewatch sends changes the server it measures: INFO and LATENCY count in
`total_commands_processed` and in the latency histograms, OBJECT FREQ, TYPE and TTL count as
keyspace hits or misses (MEMORY USAGE and SCAN do not). On a quiet server the observer can be
most of what a view would show. So the connections count here every command they write
(`RedisConnection.pipeline`/`send`, `MemcachedConnection`), per server, process-wide (the
poller, the hot-key detector and MONITOR bursts each open their own connection), and the
poller adds the counts of its target's server to every poll:

- `cachewatch_target_commands_total{cmd}` — commands sent, `cmd` as in INFO commandstats
  (`info`, `latency|histogram`, `object|freq`, memcached `stats|slabs`);
- `cachewatch_target_keyspace_hits_total`, `cachewatch_target_keyspace_misses_total`.

The read model (`monitor/readmodel/observer.py`) subtracts them where a view shows the
application's traffic; the raw `redis_*` series stay exactly the server's.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from monitor.model import MetricType, SampleBatch
from monitor.targets import Target

__all__ = [
    "CLIENT_NAME",
    "CommandLedger",
    "ledger_for",
    "command_name",
    "OBSERVER_METRICS",
    "COMMANDS_METRIC",
    "HITS_METRIC",
    "MISSES_METRIC",
]

#: the name every cachewatch connection gives itself (CLIENT SETNAME): it tells cachewatch's
#: own commands apart in CLIENT LIST and SLOWLOG, also another cachewatch process's
CLIENT_NAME = "cachewatch"

COMMANDS_METRIC = "cachewatch_target_commands_total"
HITS_METRIC = "cachewatch_target_keyspace_hits_total"
MISSES_METRIC = "cachewatch_target_keyspace_misses_total"

OBSERVER_METRICS: dict[str, tuple[MetricType, str]] = {
    COMMANDS_METRIC: (
        MetricType.COUNTER,
        "Commands this cachewatch process sent to the target's server, by command.",
    ),
    HITS_METRIC: (
        MetricType.COUNTER,
        "Keyspace hits this cachewatch process's own lookups caused on the target's server.",
    ),
    MISSES_METRIC: (
        MetricType.COUNTER,
        "Keyspace misses this cachewatch process's own lookups caused on the target's server.",
    ),
}

#: Redis 7 reports these per subcommand (`config|get`) in commandstats and LATENCY HISTOGRAM
_CONTAINERS = frozenset(
    {
        "acl",
        "client",
        "cluster",
        "command",
        "config",
        "function",
        "hotkeys",
        "latency",
        "memory",
        "module",
        "object",
        "pubsub",
        "script",
        "slowlog",
        "xinfo",
    }
)
_NAMES: dict[tuple[str, str], str] = {}


def _text(arg: Any) -> str:
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "replace").lower()
    return str(arg).lower()


def command_name(args: Sequence[Any]) -> str:
    """`("CONFIG", "GET", "maxmemory")` → `config|get`; `("INFO", "ALL")` → `info`."""
    first = _text(args[0]) if args else ""
    sub = _text(args[1]) if first in _CONTAINERS and len(args) > 1 else ""
    key = (first, sub)
    name = _NAMES.get(key)
    if name is None:
        name = f"{first}|{sub}" if sub else first
        if len(_NAMES) < 1024:
            _NAMES[key] = name
    return name


def _lookup_hit(name: str, reply: Any) -> bool | None:
    """Whether a keyspace lookup hit (True), missed (False), or was no lookup (None)."""
    if isinstance(reply, Exception):
        return None
    if name.startswith("object|") and name != "object|help":
        return reply is not None
    if name == "type":
        return reply not in (b"none", "none")
    if name in ("ttl", "pttl", "expiretime", "pexpiretime"):
        return reply != -2
    if name == "exists":
        return bool(reply)
    return None


class CommandLedger:
    """One server's count of what this process sent it. Thread-safe: UIs run the engine in a
    background thread while a `hotkeys` request may run in another."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}
        self._hits = 0
        self._misses = 0

    def sent(self, commands: Sequence[Sequence[Any]]) -> None:
        """Count commands whose replies are not keyspace lookups (or not read)."""
        names = [command_name(c) for c in commands]
        with self._lock:
            calls = self._calls
            for name in names:
                calls[name] = calls.get(name, 0) + 1

    def answered(self, commands: Sequence[Sequence[Any]], replies: Sequence[Any]) -> None:
        """Count commands with their replies, so lookups count as hits or misses."""
        names = [command_name(c) for c in commands]
        hits = misses = 0
        for name, reply in zip(names, replies, strict=False):
            hit = _lookup_hit(name, reply)
            if hit is True:
                hits += 1
            elif hit is False:
                misses += 1
        with self._lock:
            calls = self._calls
            for name in names:
                calls[name] = calls.get(name, 0) + 1
            self._hits += hits
            self._misses += misses

    def snapshot(self) -> tuple[dict[str, int], int, int]:
        with self._lock:
            return dict(self._calls), self._hits, self._misses

    def add_samples(self, batch: SampleBatch, keyspace: bool) -> None:
        """This server's totals as samples of `batch` (`keyspace`: Redis, whose INFO counts
        hits and misses; memcached's get stats do not include cachewatch's commands)."""
        calls, hits, misses = self.snapshot()
        for name in sorted(calls):
            batch.add(COMMANDS_METRIC, float(calls[name]), (("cmd", name),))
        if keyspace:
            batch.add(HITS_METRIC, float(hits))
            batch.add(MISSES_METRIC, float(misses))


_LEDGERS: dict[str, CommandLedger] = {}
_LEDGERS_LOCK = threading.Lock()


def ledger_for(target: Target) -> CommandLedger:
    """The ledger of `target`'s server, shared by every connection this process opens to it
    (targets that differ only in their Redis db share one server and one ledger)."""
    key = f"{target.kind.value}:{target.instance}"
    ledger = _LEDGERS.get(key)
    if ledger is None:
        with _LEDGERS_LOCK:
            ledger = _LEDGERS.setdefault(key, CommandLedger())
    return ledger
