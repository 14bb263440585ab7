"""How many sampling commands a second the background hot-key detector may send a server:
a small share of the application's own traffic, with a floor and a ceiling, shared with the
other cachewatch processes watching the same server.

Every sampling command (SCAN, OBJECT FREQ, TYPE, MEMORY USAGE) is load on the server and
lands in its statistics (OBJECT FREQ and TYPE count as keyspace hits). A fixed budget of
thousands a second swamped a quiet server: at 231 application GETs a second the views
showed 5.4k ops/s and a 97.5 % hit ratio. So the budget follows the server's traffic, as
each poll reports it:

    allowance = min(ceiling, max(share * application ops/s, min(floor, application ops/s)))

where application ops/s is the server's commands processed minus this process's own
(`cachewatch_target_commands_total`). Another process sampling the same server (a `tui`
beside a `serve`) shows up in the server's OBJECT FREQ / MEMORY USAGE counts beyond this
process's own; this process then takes what the allowance leaves (at least a quarter of
it), moving half-way there at each poll so two processes settle on a split instead of
taking turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from collectors.observer import COMMANDS_METRIC
from monitor.model import Labels

__all__ = ["BudgetPolicy", "SamplingBudget", "TrafficReading", "read_traffic"]

#: commands only a hot-key or big-key sampler sends (TYPE and SCAN applications send too)
_SAMPLER_COMMANDS = ("object|freq", "memory|usage")
_MIN_SHARE_OF_ALLOWANCE = 0.25


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    share: float = 0.02
    floor_per_s: float = 20.0
    ceiling_per_s: float = 2000.0

    def allowance(self, application_ops_per_s: float) -> float:
        """A share of the traffic, at least the floor, but never more than the application
        itself sends (an idle server has no hot keys to find), and at most the ceiling."""
        ops = max(application_ops_per_s, 0.0)
        return min(self.ceiling_per_s, max(self.share * ops, min(self.floor_per_s, ops)))


@dataclass(frozen=True, slots=True)
class TrafficReading:
    """Cumulative counts from one poll of one Redis target."""

    ts_ms: int
    processed: float  # the server's commands processed
    own: float  # this process's commands to it
    server_sampling: float  # the server's OBJECT FREQ + MEMORY USAGE calls
    own_sampling: float  # this process's


def read_traffic(
    ts_ms: int, names: Sequence[str], labels: Sequence[Labels], values: Sequence[float]
) -> TrafficReading | None:
    """The counts a budget needs from a poll's samples; None without commandstats."""
    processed = None
    own = server_sampling = own_sampling = 0.0
    for name, label, value in zip(names, labels, values, strict=True):
        if name == "redis_commands_processed_total":
            processed = value
        elif name == COMMANDS_METRIC:
            own += value
            if dict(label).get("cmd") in _SAMPLER_COMMANDS:
                own_sampling += value
        elif name == "redis_commands_total" and dict(label).get("cmd") in _SAMPLER_COMMANDS:
            server_sampling += value
    if processed is None:
        return None
    return TrafficReading(ts_ms, processed, own, server_sampling, own_sampling)


class SamplingBudget:
    """One target's sampling rate, updated from each new poll reading."""

    def __init__(self, policy: BudgetPolicy) -> None:
        self.policy = policy
        self.rate_per_s = policy.floor_per_s
        self.application_ops_per_s: float | None = None
        self.others_sampling_per_s = 0.0
        self._last: TrafficReading | None = None
        self._settled = False

    def update(self, reading: TrafficReading) -> float:
        last, self._last = self._last, reading
        if last is None or reading.ts_ms <= last.ts_ms:
            return self.rate_per_s
        seconds = (reading.ts_ms - last.ts_ms) / 1000

        def rate(now: float, before: float) -> float | None:
            return (now - before) / seconds if now >= before else None  # None: a reset

        server = rate(reading.processed, last.processed)
        own = rate(reading.own, last.own)
        if server is None or own is None:
            return self.rate_per_s
        self.application_ops_per_s = max(0.0, server - own)
        sampling = rate(reading.server_sampling, last.server_sampling)
        own_sampling = rate(reading.own_sampling, last.own_sampling)
        if sampling is not None and own_sampling is not None:
            self.others_sampling_per_s = max(0.0, sampling - own_sampling)
        allowance = self.policy.allowance(self.application_ops_per_s)
        target = max(allowance - self.others_sampling_per_s, _MIN_SHARE_OF_ALLOWANCE * allowance)
        if self._settled:
            self.rate_per_s += 0.5 * (target - self.rate_per_s)
        else:
            self.rate_per_s, self._settled = target, True
        return self.rate_per_s


_CPU_METRICS = ("redis_cpu_sys_seconds_total", "redis_cpu_user_seconds_total")
#: the span the auto mode judges a server's load over
HEADROOM_WINDOW_MS = 60_000


def read_cpu_seconds(names: Sequence[str], values: Sequence[float]) -> float | None:
    """The server's CPU seconds (system + user) from a poll; None without them."""
    found = [v for name, v in zip(names, values, strict=True) if name in _CPU_METRICS]
    return sum(found) if len(found) == len(_CPU_METRICS) else None


class CpuHeadroom:
    """A server's CPU use over the last minute, as a share of one core, from the CPU
    seconds each poll reports (INFO `used_cpu_sys` + `used_cpu_user`)."""

    def __init__(self) -> None:
        self._readings: list[tuple[int, float]] = []

    def observe(self, ts_ms: int, cpu_seconds: float) -> None:
        if self._readings and cpu_seconds < self._readings[-1][1]:
            self._readings.clear()  # restarted: its counters began again
        self._readings.append((ts_ms, cpu_seconds))
        while len(self._readings) > 2 and ts_ms - self._readings[1][0] >= HEADROOM_WINDOW_MS:
            self._readings.pop(0)

    def cpu_share(self) -> float | None:
        """CPU seconds per second over the readings (up to a minute); None before two."""
        if len(self._readings) < 2:
            return None
        (t0, c0), (t1, c1) = self._readings[0], self._readings[-1]
        return (c1 - c0) / ((t1 - t0) / 1000) if t1 > t0 else None
