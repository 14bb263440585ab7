"""MONITOR sampling within a throughput budget: when to burst, what the bursts say, and
what they cost.

A request ("hot keys now", over a window of W seconds) may cost the server at most
`max_loss` of its throughput over W (3 % by default; 1 % for background bursts). A burst of
`b` seconds costs `b * L`, where L is the share of throughput lost while MONITOR is attached.
The plan takes L as 1 (the server stalled while attached), so the bound holds whatever the
load does: at most `max_loss * W` seconds attached, as bursts spread evenly over the window
(shortened to fit the last of the budget). What a burst really cost is measured afterwards,
as 1 - (commands per second seen in the burst) / (commands per second between bursts, from
INFO), and reported: on a busy server it is well under the bound, and it was seen to swing
too much between bursts on a loaded machine to plan by.

Rates: a key's share of the commands seen in the bursts, times the application's commands
per second between bursts (the server's, less this process's own: the bursts slow the
server down, so counts per second of burst would understate every rate). The error is the
95 % interval of that share (a binomial proportion over the commands seen) plus the
Space-Saving overcount, scaled the same way.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from collectors.hotkeys.keyspecs import CommandTable
from collectors.hotkeys.monitor_burst import BurstResult, run_monitor_burst
from collectors.hotkeys.report import HotKeyEntry, Method, PatternEntry, SampleInfo, display_key
from collectors.hotkeys.topk import SpaceSaving
from collectors.keypatterns import PatternCounter
from collectors.redis_conn import RedisConnection
from monitor.targets import Target

__all__ = ["MonitorSampler", "TrafficReading", "Z95", "MIN_BURST_S"]

Z95 = 1.96
#: seconds between bursts the application's rate must rest on before it scales the counts
_MIN_RATE_SPAN_S = 0.2
#: a burst shorter than this sees too few commands to be worth its connection
MIN_BURST_S = 0.02


@dataclass(frozen=True, slots=True)
class TrafficReading:
    at: float  # monotonic
    processed: float  # the server's total_commands_processed
    own: float  # commands this process sent the server so far


@dataclass(slots=True)
class _Burst:
    result: BurstResult
    began: float  # monotonic
    #: the share of throughput lost while attached (None until a rate outside is known)
    loss: float | None = None


@dataclass(slots=True)
class MonitorSampler:
    target: Target
    table: CommandTable
    window_s: float
    burst_s: float = 0.1
    max_loss: float = 0.03
    max_duty: float = 0.2
    capacity: int = 1000
    started: float = field(default_factory=time.monotonic)
    summary: SpaceSaving[bytes] = field(init=False)
    patterns: PatternCounter = field(default_factory=PatternCounter)
    bursts: list[_Burst] = field(default_factory=list)
    readings: list[TrafficReading] = field(default_factory=list)
    #: the length `due` planned for the next burst (shorter than `burst_s` where only that
    #: much budget is left)
    next_burst_s: float = 0.0
    connect: Callable[[Target], Awaitable[RedisConnection]] = RedisConnection.open

    def __post_init__(self) -> None:
        self.summary = SpaceSaving(self.capacity)

    # -- traffic -----------------------------------------------------------------------

    def observe(self, reading: TrafficReading) -> None:
        """A reading of the server's command counters, taken between bursts."""
        self.readings.append(reading)
        for burst in self.bursts:
            if burst.loss is None:
                burst.loss = self._loss_during(burst)

    def application_rate(self) -> float | None:
        """The application's commands per second between bursts (None before two readings
        around no burst)."""
        spans = []
        for before, after in zip(self.readings, self.readings[1:], strict=False):
            if after.at <= before.at or self._burst_between(before.at, after.at):
                continue
            if after.processed < before.processed:  # the server restarted
                continue
            seconds = after.at - before.at
            app = (after.processed - before.processed) - (after.own - before.own)
            spans.append((max(app, 0.0), seconds))
        seconds = sum(s for _, s in spans)
        if seconds < _MIN_RATE_SPAN_S:
            return None
        return sum(n for n, _ in spans) / seconds

    def _server_rate(self) -> float | None:
        """All commands per second between bursts (the rate a burst's is compared with)."""
        spans = [
            (after.processed - before.processed, after.at - before.at)
            for before, after in zip(self.readings, self.readings[1:], strict=False)
            if after.at > before.at
            and after.processed >= before.processed
            and not self._burst_between(before.at, after.at)
        ]
        seconds = sum(s for _, s in spans)
        if seconds < _MIN_RATE_SPAN_S:
            return None
        return sum(n for n, _ in spans) / seconds

    def _burst_between(self, start: float, end: float) -> bool:
        return any(b.began < end and b.began + b.result.duration_s > start for b in self.bursts)

    def _loss_during(self, burst: _Burst) -> float | None:
        outside = self._server_rate()
        if not outside or burst.result.duration_s <= 0:
            return None
        seen = burst.result.commands / burst.result.duration_s
        return min(1.0, max(0.0, 1.0 - seen / outside))

    # -- planning ----------------------------------------------------------------------

    def _spent(self) -> float:
        """Seconds of throughput the bursts cost, as measured (unmeasured ones as a full
        stall)."""
        return sum(b.result.duration_s * (1.0 if b.loss is None else b.loss) for b in self.bursts)

    def due(self, now: float) -> bool:
        """Whether a burst should start now: it fits the remaining budget (shortened to fit,
        down to `MIN_BURST_S`), the window has room for it, and it is this burst's turn in
        an even spread of the rest."""
        elapsed = now - self.started
        attached = sum(b.result.duration_s for b in self.bursts)
        budget = min(self.max_loss, self.max_duty) * self.window_s - attached
        length = min(self.burst_s, budget, self.window_s - elapsed)
        if length < MIN_BURST_S - 1e-9:
            return False
        self.next_burst_s = length
        if not self.bursts:
            return True
        affordable = max(1, math.floor(budget / self.burst_s + 1e-9))
        last = self.bursts[-1]
        last_end = last.began + last.result.duration_s - self.started
        gap = (self.window_s - last_end) / (affordable + 1)
        return elapsed >= last_end + gap

    async def burst(self, now: float) -> BurstResult:
        result = await run_monitor_burst(
            self.target,
            self.next_burst_s or self.burst_s,
            self.table,
            self.summary,
            on_key=self.patterns.add,
            connect=self.connect,
        )
        burst = _Burst(result, now)
        self.bursts.append(burst)
        burst.loss = self._loss_during(burst)
        return result

    # -- what it says --------------------------------------------------------------------

    @property
    def commands(self) -> int:
        return sum(b.result.commands for b in self.bursts)

    @property
    def keyed(self) -> int:
        return sum(b.result.keyed for b in self.bursts)

    def info(self, now: float) -> SampleInfo:
        window = max(min(now, self.started + self.window_s) - self.started, 1e-9)
        attached = sum(b.result.duration_s for b in self.bursts)
        measured = all(b.loss is not None for b in self.bursts)
        return SampleInfo(
            method=Method.MONITOR,
            window_s=window,
            commands=self.keyed,
            bursts=len(self.bursts),
            monitored_s=attached,
            server_ops_per_s=self.application_rate(),
            throughput_loss=self._spent() / window if self.bursts else 0.0,
            loss_is_bound=not measured,
        )

    def _scale(self) -> float | None:
        """Accesses per second that one command seen in the bursts stands for."""
        commands = self.commands
        if not commands:
            return None
        rate = self.application_rate()
        if rate is None:
            attached = sum(b.result.duration_s for b in self.bursts)
            if attached <= 0:
                return None
            rate = commands / attached  # the rate while attached: a lower bound
        return rate / commands

    def entries(self, top: int, instance: str, now: float) -> list[HotKeyEntry]:
        scale = self._scale()
        n = self.commands
        if scale is None or not n:
            return []
        window = min(now, self.started + self.window_s) - self.started
        out = []
        for item in self.summary.top(top):
            share = item.count / n
            spread = Z95 * math.sqrt(max(share * (1 - share), 0.0) / n) * n + item.error
            out.append(
                HotKeyEntry(
                    key=display_key(item.key),
                    ops_per_sec=item.count * scale,
                    error=spread * scale,
                    method=Method.MONITOR,
                    instance=instance,
                    window_s=window,
                    reads_per_sec=item.reads * scale,
                    writes_per_sec=item.writes * scale,
                    share=share,
                )
            )
        out.sort(key=lambda e: -(e.ops_per_sec or 0.0))
        return out

    def pattern_entries(self, top: int, instance: str) -> list[PatternEntry]:
        total = self.patterns.total
        if not total:
            return []
        scale = self._scale()
        out = []
        for pattern, count in self.patterns.top(top):
            share = count / total
            spread = Z95 * math.sqrt(max(share * (1 - share), 0.0) / total)
            rate = None if scale is None else count * scale
            error = spread if scale is None else spread * total * scale
            out.append(PatternEntry(pattern, share, rate, error, Method.MONITOR, instance))
        return out
