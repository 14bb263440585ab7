"""SLOWLOG → `redis_slowlog_*` gauges and one `slowlog` event per new entry.

New entries are found by id watermark: each poll reads `SLOWLOG GET n` and keeps entries
with an id above the highest one seen; the first poll takes what is there once. A newest
id below the watermark means the server restarted (ids start again at 0), so the
watermark resets.

Entries of cachewatch's own commands (its connections are named `CLIENT_NAME`, in every
cachewatch process) are marked `origin: cachewatch` and counted apart
(`cachewatch_slowlog_entries_total{origin}`), so views and the default rules show the
application's slow commands, not the observer's.

Arguments can hold keys and values (tokens, emails, session data), so by default an event
keeps the command name only; `slowlog_args = true` in the collector's options keeps the
arguments, each cut to `slowlog_arg_max_len` characters (default 64).

Parsing policy: a reply that is not an array raises `ReplyFormatError`; entries that do not
fit are skipped one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from collectors.base import CollectContext, Tier, Unsupported
from collectors.observer import CLIENT_NAME
from collectors.redis_reply import ReplyFormatError, check_reply
from monitor.model import Event, MetricType, SampleBatch
from monitor.targets import TargetKind

__all__ = [
    "SlowlogCollector",
    "SlowlogEntry",
    "parse_slowlog",
    "slowlog_event_data",
    "ENTRIES_METRIC",
    "ORIGIN_APPLICATION",
    "ORIGIN_CACHEWATCH",
]

DEFAULT_FETCH = 128
DEFAULT_ARG_MAX_LEN = 64
ENTRIES_METRIC = "cachewatch_slowlog_entries_total"
ORIGIN_APPLICATION = "application"
ORIGIN_CACHEWATCH = "cachewatch"


@dataclass(frozen=True, slots=True)
class SlowlogEntry:
    id: int
    ts: int
    duration_us: int
    args: tuple[str, ...]
    client_addr: str
    client_name: str

    @property
    def origin(self) -> str:
        return ORIGIN_CACHEWATCH if self.client_name == CLIENT_NAME else ORIGIN_APPLICATION


def _decode(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else ""


def parse_slowlog(reply: Any, after_id: int | None = None) -> list[SlowlogEntry]:
    """`SLOWLOG GET` → entries (newest first, as the server sends them) with an id above
    `after_id`; older ones are skipped before their arguments are decoded."""
    if not isinstance(reply, list):
        raise ReplyFormatError(f"SLOWLOG GET: expected an array, got {type(reply).__name__}")
    entries: list[SlowlogEntry] = []
    for item in reply:
        if not isinstance(item, list) or len(item) < 4:
            continue
        entry_id, ts, duration, args = item[0], item[1], item[2], item[3]
        if not (isinstance(entry_id, int) and isinstance(ts, int) and isinstance(duration, int)):
            continue
        if after_id is not None and entry_id <= after_id:
            continue
        if not isinstance(args, list):
            continue
        # Redis 4.0+ adds client address and name; older servers send four fields.
        addr = _decode(item[4]) if len(item) > 4 else ""
        name = _decode(item[5]) if len(item) > 5 else ""
        decoded = tuple(_decode(a) if isinstance(a, bytes) else str(a) for a in args)
        entries.append(SlowlogEntry(entry_id, ts, duration, decoded, addr, name))
    return entries


def slowlog_event_data(
    entry: SlowlogEntry, keep_args: bool = False, arg_max_len: int = DEFAULT_ARG_MAX_LEN
) -> dict[str, object]:
    """The event payload of one entry: command name only unless `keep_args`."""
    name = entry.args[0].lower() if entry.args else ""
    if keep_args and entry.args:
        cut = [a if len(a) <= arg_max_len else a[:arg_max_len] + "…" for a in entry.args]
        command = " ".join([name, *cut[1:]])
    else:
        command = name
    return {
        "id": entry.id,
        "command": command,
        "duration_us": entry.duration_us,
        "client_addr": entry.client_addr,
        "client_name": entry.client_name,
        "origin": entry.origin,
        "ts": entry.ts,
    }


def _commands(ctx: CollectContext) -> list[tuple[Any, ...]]:
    fetch = int(ctx.options.get("slowlog_fetch", DEFAULT_FETCH))
    return [("SLOWLOG", "LEN"), ("SLOWLOG", "GET", fetch)]


class SlowlogCollector:
    """Slowlog length, last id and duration, plus new entries as events."""

    name: ClassVar[str] = "redis_slowlog"
    kinds: ClassVar[frozenset[TargetKind]] = frozenset({TargetKind.REDIS})
    tier: ClassVar[Tier] = Tier.FAST
    #: the `[collectors]` keys it reads (the config check accepts these)
    options: ClassVar[frozenset[str]] = frozenset(
        {"slowlog_fetch", "slowlog_args", "slowlog_arg_max_len"}
    )
    metrics: ClassVar[dict[str, tuple[MetricType, str]]] = {
        "redis_slowlog_length": (MetricType.GAUGE, "Total slowlog"),
        "redis_slowlog_last_id": (MetricType.GAUGE, "Last id of slowlog"),
        "redis_last_slow_execution_duration_seconds": (
            MetricType.GAUGE,
            "The amount of time needed for last slow execution, in seconds",
        ),
        ENTRIES_METRIC: (
            MetricType.COUNTER,
            "Slowlog entries seen since cachewatch started, by origin (cachewatch's own "
            "commands or the application's).",
        ),
    }

    def __init__(self) -> None:
        self.watermark: int | None = None
        self.entries = {ORIGIN_APPLICATION: 0, ORIGIN_CACHEWATCH: 0}

    def prefetch(self, ctx: CollectContext) -> list[tuple[Any, ...]]:
        return _commands(ctx) if ctx.capabilities.allows("slowlog") else []

    async def collect(self, conn: Any, ctx: CollectContext, out: SampleBatch) -> None:
        if ctx.capabilities.sentinel:
            return  # a Sentinel has no slowlog: nothing to report, nothing wrong
        if not ctx.capabilities.allows("slowlog"):
            raise Unsupported("SLOWLOG: command missing or refused")
        length, reply = await conn.pipeline(_commands(ctx))
        check_reply(length, ctx, "SLOWLOG LEN")
        check_reply(reply, ctx, "SLOWLOG GET")
        if not isinstance(length, int):
            raise ReplyFormatError(f"SLOWLOG LEN: expected an integer, got {length!r:.40}")
        if not isinstance(reply, list):
            raise ReplyFormatError(f"SLOWLOG GET: expected an array, got {reply!r:.40}")
        # The newest entry feeds the gauges; only entries past the watermark are decoded.
        newest_list = parse_slowlog(reply[:1])
        newest = newest_list[0] if newest_list else None
        out.add("redis_slowlog_length", float(length))
        out.add("redis_slowlog_last_id", float(newest.id) if newest else 0.0)
        out.add(
            "redis_last_slow_execution_duration_seconds",
            newest.duration_us / 1e6 if newest else 0.0,
        )
        if newest is None:
            self._add_counts(out)
            return
        watermark = self.watermark
        if watermark is not None and newest.id < watermark:
            watermark = None  # ids went backwards: the server restarted
        keep_args = bool(ctx.options.get("slowlog_args", False))
        arg_max_len = int(ctx.options.get("slowlog_arg_max_len", DEFAULT_ARG_MAX_LEN))
        for entry in reversed(parse_slowlog(reply, watermark)):  # oldest first
            self.entries[entry.origin] += 1
            ctx.events.append(
                Event(
                    ts_ms=entry.ts * 1000,
                    kind="slowlog",
                    target_labels=out.target_labels,
                    data=slowlog_event_data(entry, keep_args, arg_max_len),
                )
            )
        self.watermark = newest.id
        self._add_counts(out)

    def _add_counts(self, out: SampleBatch) -> None:
        for origin, count in self.entries.items():
            out.add(ENTRIES_METRIC, float(count), (("origin", origin),))
