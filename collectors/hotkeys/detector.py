"""`HotKeyDetector`: one target's hot and big keys, by the cheapest method it supports.

The ladder, tried in order (each method's cost is in docs/HOTKEYS.md):

1. `server` - the server's own HOTKEYS tracking (Redis 8.6, Valkey 9.2), found through
   `COMMAND INFO HOTKEYS`;
2. `lfu` - SCAN + OBJECT FREQ sampling when `maxmemory-policy` is `*-lfu`, within a command
   budget per second (on cluster nodes with CLUSTER SLOT-STATS, hot slots first); on a
   person's request only where it can read the whole keyspace within the window;
3. `monitor` - MONITOR bursts within a throughput budget (`monitor_sampler.py`): by default
   when a person asks (`request=True`, unless `allow_monitor=False`), in the background only
   when `monitor=True` (and, for the runtime's "auto" mode, while `bursts_allowed`);
4. `watch` - memcached's `watch fetchers mutations` bursts.

A method that turns out refused at runtime (ACL, renamed command, policy changed) is
dropped with a note saying why, and the next one down takes over; so is LFU sampling, when
MONITOR bursts may run and half the top keys sit at the LFU counter ceiling with nothing left
to rank them by (a long-running busy server).
The scheduler calls `step()` once per poll (ideally every second: the LFU budget accrues per
second but at most one second's worth is spent in one step; a request steps every quarter
second so bursts land where the plan puts them) and reads `report()`.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from collectors.hotkeys.bigkeys import parse_keysizes
from collectors.hotkeys.keyspecs import CommandTable, KeySpecError
from collectors.hotkeys.lfu import LfuConfig, LfuRefused, LfuSampler, TokenBucket
from collectors.hotkeys.memcached_watch import read_recent, run_watch_burst
from collectors.hotkeys.monitor_burst import MonitorBusy, MonitorRefused
from collectors.hotkeys.monitor_sampler import MonitorSampler, TrafficReading
from collectors.hotkeys.patterns import patterns_of_entries
from collectors.hotkeys.report import (
    HotKeyEntry,
    HotKeyReport,
    KeySizeHistogram,
    Method,
    PatternEntry,
    RecentKey,
    SampleInfo,
    display_key,
)
from collectors.hotkeys.server_tracking import (
    ServerTrackingError,
    has_hotkeys_command,
    parse_redis_hotkeys,
    parse_valkey_hotkeys,
)
from collectors.hotkeys.slots import ClusterSlots
from collectors.hotkeys.topk import SpaceSaving
from collectors.keypatterns import PatternCounter
from collectors.observer import ledger_for
from collectors.redis_conn import CommandError, RedisConnection, ReplyError
from monitor.targets import Target, TargetKind

__all__ = ["HotKeyOptions", "HotKeyDetector"]

#: LFU sampling ranks a request only where its budget reads the whole keyspace this many
#: times over within the window (a read is about one command per key)
_LFU_COVERAGE = 0.8
#: a MONITOR sample resting on fewer commands says it is too short to rank
_FEW_COMMANDS = 1000


@dataclass(frozen=True, slots=True)
class HotKeyOptions:
    top: int = 10
    #: the span a report covers; LFU scores halve every window/4, bursts older than it drop
    window_s: float = 10.0
    #: SCAN/OBJECT FREQ/TYPE/MEMORY USAGE commands per second for LFU sampling
    command_budget_per_s: float = 3000.0
    #: keys whose counters are re-read every step (the LFU top-K's working set)
    candidates: int = 64
    big_keys: bool = True
    #: TYPE + MEMORY USAGE on every n-th scanned key
    bigkey_sample_every: int = 8
    bigkeys_per_type: int = 10
    #: background MONITOR bursts (a continuous MONITOR costs the server dearly)
    monitor: bool = False
    #: a person asked for hot keys now: MONITOR may sample where nothing cheaper ranks keys
    request: bool = False
    #: `--no-monitor` / `[hotkeys] monitor_on_request = false`: never MONITOR, even then
    allow_monitor: bool = True
    burst_s: float = 0.1
    #: the share of the server's throughput MONITOR bursts may cost over a window: 3 % for
    #: a request, 1 % for background bursts
    max_loss: float = 0.03
    #: memcached `watch` bursts: one every this many seconds
    burst_every_s: float = 10.0
    #: counters per Space-Saving summary (its error bound is events / capacity)
    summary_capacity: int = 1000
    #: memcached `lru_crawler metadump` view of recency (opt-in, rate-limited)
    metadump: bool = False
    metadump_every_s: float = 300.0
    metadump_max_items: int = 1000
    #: start a Redis 8.6 HOTKEYS session when none is running (it is exclusive per server)
    server_start: bool = False
    #: look at CLUSTER SLOT-STATS' hottest slots first (Valkey 8.0+/Redis 8.2+)
    hot_slots: int = 32
    #: force one method instead of walking the ladder
    method: Method | None = None


@dataclass(slots=True)
class _Burst:
    ended: float  # monotonic
    duration_s: float
    summary: SpaceSaving[Any]


class HotKeyDetector:
    def __init__(self, target: Target, options: HotKeyOptions | None = None) -> None:
        self.target = target
        self.options = options or HotKeyOptions()
        self.method: Method | None = None
        self.notes: list[str] = []
        self._started = time.monotonic()
        self._conn: RedisConnection | None = None
        self._ladder: list[Method] = []
        self._lfu: LfuSampler | None = None
        self._bucket: TokenBucket | None = None
        self._table: CommandTable | None = None
        self._bursts: deque[_Burst] = deque()
        self._last_burst = float("-inf")
        self._server_entries: list[HotKeyEntry] = []
        self._server_flavour = ""
        self._keysizes: list[KeySizeHistogram] = []
        self._last_keysizes = float("-inf")
        self._recent: list[RecentKey] = []
        self._last_metadump = float("-inf")
        self._cluster = False
        self._slots: ClusterSlots | None = None
        self._sampler: MonitorSampler | None = None
        #: the last finished background sampling window (what reports show meanwhile)
        self._last_sampler: MonitorSampler | None = None
        self._patterns = PatternCounter()
        self._watch_events = 0
        #: the runtime's "auto" mode turns background bursts off while the server is busy
        self.bursts_allowed = True
        self._keyspace_keys: int | None = None

    @property
    def instance(self) -> str:
        return self.target.instance

    def set_budget(self, commands_per_s: float) -> None:
        """Change the sampling budget (the runtime follows the server's own traffic)."""
        self.options = replace(self.options, command_budget_per_s=commands_per_s)
        if self._bucket is not None:
            self._bucket.rate = self._bucket.burst = commands_per_s

    async def step(self) -> None:
        """One poll's worth of work within the command budget; raises on connection loss
        (the next step reconnects)."""
        try:
            if self.method is None:
                await self._choose()
            while self.method not in (None, Method.NONE):
                try:
                    await self._step_method()
                    return
                except (LfuRefused, MonitorRefused, ServerTrackingError, CommandError) as exc:
                    self._fall_back(str(exc))
        except BaseException:
            await self.close()
            raise

    def report(self) -> HotKeyReport:
        now_wall, now = time.time(), time.monotonic()
        window_s = min(self.options.window_s, now - self._started)
        hot: list[HotKeyEntry] = []
        big = []
        patterns: list[PatternEntry] = []
        samples: list[SampleInfo] = []
        top = self.options.top
        if self.method is Method.SERVER:
            hot = self._server_entries[:top]
            patterns = patterns_of_entries(hot, top, self.instance)
        elif self.method is Method.LFU and self._lfu is not None:
            hot = self._lfu.hot(top, now)
            if self.options.request:  # a request lists no key its window could not rank
                hot = [e for e in hot if _has_evidence(e)]
            else:  # nor does the background detector list keys surely cold (a replica's)
                hot = [e for e in hot if not _surely_cold(e)]
            patterns = patterns_of_entries(hot, top, self.instance)
            samples.append(SampleInfo(Method.LFU, window_s, self._lfu.readings))
        elif self.method is Method.MONITOR:
            sampler = self._reported_sampler()
            if sampler is not None:
                hot = sampler.entries(top, self.instance, now)
                patterns = sampler.pattern_entries(top, self.instance)
                samples.append(sampler.info(now))
                window_s = samples[-1].window_s
        elif self.method is Method.WATCH:
            hot, window_s = self._burst_entries(now)
            patterns = self._watch_patterns(top)
            samples.append(
                SampleInfo(
                    Method.WATCH,
                    window_s,
                    self._watch_events,
                    bursts=len(self._bursts),
                    monitored_s=sum(b.duration_s for b in self._bursts),
                )
            )
        hot.sort(key=lambda e: -(e.ops_per_sec if e.ops_per_sec is not None else e.share or 0))
        notes = list(self.notes)
        if self._lfu is not None:
            big = self._lfu.big.entries(self.instance)
            if self.method is Method.LFU:
                notes.extend(self._lfu_notes(now))
        notes.extend(self._sample_notes(samples))
        return HotKeyReport(
            target=self.instance,
            window_start_ms=int((now_wall - window_s) * 1000),
            window_end_ms=int(now_wall * 1000),
            methods=(self.method or Method.NONE,),
            hot=tuple(hot),
            big=tuple(big),
            keysizes=tuple(self._keysizes),
            recent=tuple(self._recent),
            notes=tuple(notes),
            patterns=tuple(patterns),
            samples=tuple(samples),
        )

    def _reported_sampler(self) -> MonitorSampler | None:
        """The sampling window to report: the current one once it has a burst, else the
        last finished one (background bursts start a new window every `window_s`)."""
        current = self._sampler
        if current is not None and current.bursts:
            return current
        return self._last_sampler or current

    def _sample_notes(self, samples: list[SampleInfo]) -> list[str]:
        """A window too short for the method to rank says so, rather than listing noise."""
        notes = []
        for sample in samples:
            if sample.method is Method.MONITOR and sample.commands < _FEW_COMMANDS:
                notes.append(
                    f"the MONITOR sample rests on {sample.commands:,} commands: too few to "
                    "rank keys reliably (a longer window takes more bursts)"
                )
        return notes

    def _lfu_notes(self, now: float) -> list[str]:
        assert self._lfu is not None
        notes = []
        saturated = self._lfu.saturated()
        if saturated:
            notes.append(
                f"{saturated} candidate keys sit at the LFU counter ceiling (255): ranked by "
                "their cluster slot's commands per second where CLUSTER SLOT-STATS has CPU, "
                "else a rate measured before they got there counts for one window, else the "
                "least they averaged since the server started; a higher lfu-log-factor lets "
                "LFU sampling measure them"
            )
        unranked = self._lfu.unranked(self.options.top, now)
        if unranked:
            notes.append(
                f"{unranked} of the top {self.options.top} are at the LFU ceiling with no "
                "evidence from this window, so their order is a guess (on a long-running "
                "busy server most hot keys are); MONITOR bursts (monitor=True / --monitor) "
                "rank them"
            )
        return notes

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    # -- choosing a method -------------------------------------------------------------

    async def _choose(self) -> None:
        if self.target.kind is TargetKind.MEMCACHED:
            self._ladder = [Method.WATCH]
        else:
            self._ladder = await self._redis_ladder()
        forced = self.options.method
        if forced is not None:
            if forced in self._ladder:
                self._ladder = [forced]
            else:
                self.notes.append(f"method {forced.value} is not available here")
                self._ladder = []
        self.method = self._ladder.pop(0) if self._ladder else Method.NONE
        if self.method is Method.NONE and forced is None:
            if self.options.request and not self.options.allow_monitor:
                why = "MONITOR sampling is forbidden (--no-monitor / monitor_on_request)"
            elif self.options.request:
                why = "MONITOR sampling is not possible here"
            else:
                why = (
                    'background MONITOR bursts are off ([hotkeys] monitor = "off"); '
                    "ask for hot keys now (cachewatch hotkeys, or sample now in the TUI or "
                    "on the web) to take a bounded MONITOR sample"
                )
            self.notes.append(
                "no hot-key method available: no HOTKEYS command, no *-lfu maxmemory-policy, "
                f"and {why}"
            )

    def _monitor_allowed(self) -> bool:
        if self.options.method is Method.MONITOR:
            return True
        if self.options.request:
            return self.options.allow_monitor
        return self.options.monitor

    async def _redis_ladder(self) -> list[Method]:
        conn = await self._connection()
        info, config, command_info = await conn.pipeline(
            [
                ("INFO",),  # server, memory, replication, keyspace, cluster in one reply
                ("CONFIG", "GET", "lfu-*"),
                ("COMMAND", "INFO", "HOTKEYS"),
            ]
        )
        fields = _info_fields(info)
        self._server_flavour = "valkey" if "valkey_version" in fields else "redis"
        self._cluster = fields.get("cluster_enabled") == "1"
        self._keyspace_keys = _keys_in_db(fields, self.target.db)
        ladder = []
        if has_hotkeys_command(command_info):
            ladder.append(Method.SERVER)
        policy = fields.get("maxmemory_policy", "")
        lfu = policy.endswith("lfu")
        weak_lfu = False
        if lfu:
            self._start_lfu(config, fields)
            weak_lfu = self.options.request and not self._lfu_covers_keyspace()
            if not weak_lfu:
                ladder.append(Method.LFU)
        else:
            self.notes.append(
                f"LFU sampling skipped: maxmemory-policy is {policy or 'unknown'!r}, not *-lfu"
            )
        if self._monitor_allowed():
            ladder.append(Method.MONITOR)
            if weak_lfu:
                self.notes.append(
                    f"LFU sampling stepped aside: {self._keyspace_keys:,} keys cannot all be "
                    f"read within {self.options.window_s:g}s at "
                    f"{self.options.command_budget_per_s:g} commands/s; MONITOR sampling "
                    "ranks them"
                )
        if weak_lfu:
            ladder.append(Method.LFU)  # better than nothing where MONITOR is refused
        return ladder

    def _start_lfu(self, config: Any, fields: dict[str, str]) -> None:
        settings = _config_pairs(config)
        lfu = LfuConfig(
            log_factor=int(settings.get("lfu-log-factor", 10)),
            decay_minutes=int(settings.get("lfu-decay-time", 1)),
        )
        self._lfu = LfuSampler(
            self.instance,
            lfu,
            candidates=max(self.options.candidates, self.options.top),
            window_s=self.options.window_s,
            bigkey_sample_every=self.options.bigkey_sample_every if self.options.big_keys else 0,
            bigkeys_per_type=self.options.bigkeys_per_type,
            server_started=_counters_began(fields, time.monotonic()),
        )
        if self._cluster and self.options.hot_slots:
            self._slots = ClusterSlots(self._lfu, self.options.hot_slots, self.options.window_s)
        rate = self.options.command_budget_per_s
        self._bucket = TokenBucket(rate, rate, time.monotonic())

    def _lfu_covers_keyspace(self) -> bool:
        """Whether LFU sampling can read every key's counter within the window (a request
        over 200,000 keys at a few thousand commands a second cannot: it would rank the
        hottest of the few keys it happened to see)."""
        keys = self._keyspace_keys
        if keys is None:
            return False
        return keys <= _LFU_COVERAGE * self.options.command_budget_per_s * self.options.window_s

    def _fall_back(self, reason: str) -> None:
        self.notes.append(f"{self.method.value if self.method else '?'} dropped: {reason}")
        self.method = self._ladder.pop(0) if self._ladder else Method.NONE

    # -- one step per method -------------------------------------------------------------

    async def _step_method(self) -> None:
        now = time.monotonic()
        if self.method is Method.SERVER:
            await self._step_server()
        elif self.method is Method.LFU:
            await self._step_lfu(now)
        elif self.method is Method.MONITOR:
            await self._step_monitor(now)
        elif self.method is Method.WATCH:
            if now - self._last_burst >= self.options.burst_every_s:
                self._last_burst = now
                summary: SpaceSaving[str] = SpaceSaving(self.options.summary_capacity)
                burst = await run_watch_burst(
                    self.target, self.options.burst_s, summary, on_key=self._patterns.add
                )
                self._watch_events += burst.events
                self._remember_burst(burst.duration_s, summary)
            if self.options.metadump and now - self._last_metadump >= self.options.metadump_every_s:
                self._last_metadump = now
                try:
                    self._recent = await read_recent(self.target, self.options.metadump_max_items)
                except CommandError as exc:
                    # managed memcached often disables the LRU crawler: keep the watch bursts
                    self._last_metadump = float("inf")
                    self.notes.append(f"metadump dropped: {exc}")
        if self.options.big_keys and self.target.kind is TargetKind.REDIS:
            await self._refresh_keysizes(now)

    async def _step_server(self) -> None:
        conn = await self._connection()
        reply = (await conn.pipeline([("HOTKEYS", "GET")]))[0]
        if isinstance(reply, ReplyError):
            raise ServerTrackingError(f"HOTKEYS GET refused: {reply}")
        if self._server_flavour == "valkey":
            entries = parse_valkey_hotkeys(reply, self.instance, self.options.window_s)
        else:
            if reply is None:
                if not self.options.server_start:
                    raise ServerTrackingError(
                        "no HOTKEYS session is running and starting one was not allowed "
                        "(server_start=True)"
                    )
                await conn.execute(
                    "HOTKEYS", "START", "METRICS", 2, "CPU", "NET",
                    "COUNT", self.options.top, "DURATION", max(1, int(self.options.window_s)),
                )  # fmt: skip
            entries = parse_redis_hotkeys(reply, self.instance)
        self._server_entries = entries

    async def _step_lfu(self, now: float) -> None:
        assert self._lfu is not None and self._bucket is not None
        conn = await self._connection()
        budget = self._bucket.take_all(now)
        spent = 0
        if self._slots is not None:
            spent += await self._slots.queue_hot_slot_keys(conn, now)
            spent += await self._slots.read_heat(conn, budget // 4, now)
        spent += await self._lfu.step(conn, max(0, budget - spent))
        if self._slots is not None:
            # again for the keys this step put on probation: with the reading before the
            # next step, their slots have a rate when their counters are read again
            spent += await self._slots.read_heat(conn, budget - spent, time.monotonic())
        self._bucket.refund(budget - spent)
        if Method.MONITOR not in self._ladder:
            return
        # a request cannot wait a window to find out: a second of readings tells
        patience = 1.0 if self.options.request else self.options.window_s
        if now - self._started >= patience:
            blind = max(self._lfu.unranked(self.options.top, now), self._lfu.saturated())
            if blind * 2 >= self.options.top:
                # Saturated counters cannot rank the keys that matter most; bursts can.
                raise LfuRefused(
                    f"{blind} of the top {self.options.top} keys sit at the LFU counter "
                    "ceiling with nothing to rank them by; MONITOR bursts take over"
                )

    async def _step_monitor(self, now: float) -> None:
        if self._table is None:
            self._table = await self._command_table()
        sampler = self._sampler
        if sampler is None or now - sampler.started >= sampler.window_s:
            if sampler is not None and sampler.bursts:
                self._last_sampler = sampler
            if sampler is not None and self.options.request:
                return  # a request samples one window
            sampler = self._sampler = MonitorSampler(
                self.target,
                self._table,
                window_s=self.options.window_s,
                burst_s=self.options.burst_s,
                max_loss=self.options.max_loss,
                capacity=self.options.summary_capacity,
                started=now,
            )
        sampler.observe(await self._traffic())
        if not (self.options.request or self.bursts_allowed) or not sampler.due(now):
            return
        try:
            await sampler.burst(now)
        except MonitorBusy as exc:
            self.notes.append(f"a burst skipped: {exc}")
            return
        sampler.observe(await self._traffic())

    async def _traffic(self) -> TrafficReading:
        """The server's command count now, and this process's own commands to it."""
        conn = await self._connection()
        reply = (await conn.pipeline([("INFO", "stats")]))[0]
        processed = float(_info_fields(reply).get("total_commands_processed", "nan"))
        own = float(sum(ledger_for(self.target).snapshot()[0].values()))
        return TrafficReading(time.monotonic(), processed, own)

    async def _command_table(self) -> CommandTable:
        conn = await self._connection()
        reply = (await conn.pipeline([("COMMAND", "INFO")]))[0]
        if isinstance(reply, list) and not reply:  # servers before 7.0 want names
            reply = (await conn.pipeline([("COMMAND",)]))[0]
        if isinstance(reply, ReplyError):
            self.notes.append(f"COMMAND refused ({reply}); using the built-in key positions")
            return CommandTable.builtin()
        try:
            return CommandTable.from_command_info(reply)
        except KeySpecError as exc:
            self.notes.append(f"{exc}; using the built-in key positions")
            return CommandTable.builtin()

    def _remember_burst(self, duration_s: float, summary: SpaceSaving[Any]) -> None:
        self._bursts.append(_Burst(time.monotonic(), duration_s, summary))

    def _burst_entries(self, now: float) -> tuple[list[HotKeyEntry], float]:
        # The latest burst always counts: with bursts every window, it may be just older.
        while len(self._bursts) > 1 and self._bursts[0].ended < now - self.options.window_s:
            self._bursts.popleft()
        if not self._bursts:
            return [], 0.0
        merged = self._bursts[0].summary
        for burst in list(self._bursts)[1:]:
            merged = merged.merge(burst.summary)
        seconds = sum(b.duration_s for b in self._bursts)
        if seconds <= 0:
            return [], 0.0
        window_s = now - (self._bursts[0].ended - self._bursts[0].duration_s)
        method = self.method or Method.MONITOR
        entries = [
            HotKeyEntry(
                key=display_key(item.key),
                ops_per_sec=item.count / seconds,
                error=item.error / seconds,
                method=method,
                instance=self.instance,
                window_s=window_s,
                reads_per_sec=item.reads / seconds,
                writes_per_sec=item.writes / seconds,
                share=item.count / merged.total if merged.total else None,
            )
            for item in merged.top(self.options.top)
        ]
        return entries, window_s

    def _watch_patterns(self, top: int) -> list[PatternEntry]:
        total = self._patterns.total
        if not total:
            return []
        seconds = sum(b.duration_s for b in self._bursts) or 1.0
        return [
            PatternEntry(p, c / total, c / seconds, None, Method.WATCH, self.instance)
            for p, c in self._patterns.top(top)
        ]

    async def _refresh_keysizes(self, now: float) -> None:
        if now - self._last_keysizes < 60.0:
            return
        self._last_keysizes = now
        conn = await self._connection()
        reply = (await conn.pipeline([("INFO", "keysizes")]))[0]
        if isinstance(reply, bytes):
            self._keysizes = parse_keysizes(reply, self.instance)

    async def _connection(self) -> RedisConnection:
        if self._conn is None:
            conn = await RedisConnection.open(self.target)
            if dict(self.target.labels).get("role") == "replica":
                # Key-bearing reads (OBJECT FREQ, TYPE, MEMORY USAGE) on a replica would be
                # redirected to the primary without READONLY.
                await conn.pipeline([("READONLY",)])
            self._conn = conn
        return self._conn


def _has_evidence(entry: HotKeyEntry) -> bool:
    """An LFU estimate worth listing: a rate, and not less than its own error (a window too
    short to see a counter move lists nothing rather than cold keys)."""
    rate = entry.ops_per_sec
    return rate is not None and rate > 0 and (entry.error is None or entry.error < rate)


def _surely_cold(entry: HotKeyEntry) -> bool:
    """Even its rate's upper bound is under 0.1/s: not a hot key by any reading (a key at
    0/s with a wide error stays: the window could not tell, and the view says so)."""
    if entry.ops_per_sec is None:
        return False
    return entry.ops_per_sec + (entry.error or 0.0) < 0.1


def _keys_in_db(fields: dict[str, str], db: int) -> int | None:
    """`db0:keys=200000,expires=0,...` → 200000 (0 for a db with no keys)."""
    line = fields.get(f"db{db}")
    if line is None:
        return 0 if "redis_version" in fields or "valkey_version" in fields else None
    for pair in line.split(","):
        name, _, value = pair.partition("=")
        if name == "keys" and value.isdigit():
            return int(value)
    return None


def _info_fields(reply: Any) -> dict[str, str]:
    if not isinstance(reply, bytes):
        return {}
    fields = {}
    for line in reply.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and not key.startswith("#"):
            fields[key] = value.strip()
    return fields


def _counters_began(fields: dict[str, str], now: float) -> float | None:
    """When every LFU counter on the server began at LFU_INIT_VAL (the monotonic time it
    started), or None: unknown uptime, or counters restored from an RDB at start (a full
    resync or a restart with persistence keeps them), which would make a young server's
    saturated counters look like recent accesses."""
    try:
        uptime = int(fields["uptime_in_seconds"])
        loaded = int(fields["rdb_last_load_keys_loaded"])
    except (KeyError, ValueError):
        return None
    if loaded > 0 or uptime < 0:
        return None
    return now - uptime


def _config_pairs(reply: Any) -> dict[str, str]:
    if not isinstance(reply, list):
        return {}
    return {display_key(reply[i]): display_key(reply[i + 1]) for i in range(0, len(reply) - 1, 2)}
