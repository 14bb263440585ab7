"""LFU sampling: SCAN slices + OBJECT FREQ, folded into a decaying top-K.

Under an `*-lfu` maxmemory policy every key carries a logarithmic access counter (0-255).
Redis bumps it from c to c+1 with probability 1 / ((c - 5) * lfu-log-factor + 1), so a
counter stands for an expected number of accesses (`accesses_for_counter`), and the
difference between two readings of the same key over time is an access rate.

Each step spends a command budget: first it re-reads the counters of the current
candidates and of the keys on probation (so their rates stay fresh and keys that cooled
down lose their place), then it continues the SCAN cursor and reads the counters of the keys
it returns; the highest of those go on probation, to be read again next step. Every
`bigkey_sample_every`-th key also gets `TYPE` and `MEMORY USAGE ... SAMPLES 5`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from collectors.hotkeys.bigkeys import BiggestPerType
from collectors.hotkeys.cluster import SlotHeat
from collectors.hotkeys.report import HotKeyEntry, Method, display_key
from collectors.hotkeys.topk import DecayingTopK
from collectors.keyslot import key_slot
from collectors.redis_conn import RedisConnection, ReplyError

__all__ = [
    "LFU_INIT_VAL",
    "LFU_MAX",
    "LfuConfig",
    "LfuRefused",
    "LfuSampler",
    "TokenBucket",
    "accesses_for_counter",
    "accesses_per_increment",
    "accesses_spread",
]

#: the counter a new key starts at (Redis's LFU_INIT_VAL)
LFU_INIT_VAL = 5
#: readings of one key closer together than this are ignored (the older one stays the base)
MIN_READ_INTERVAL_S = 0.5
#: the counter's ceiling: with lfu-log-factor 10 it is reached after ~311k accesses
LFU_MAX = 255


class LfuRefused(Exception):
    """OBJECT FREQ was refused (no LFU policy, or the command is renamed/denied)."""


def accesses_per_increment(counter: int, log_factor: int) -> float:
    """Expected accesses that move the counter from `counter` to `counter + 1`."""
    return max(0, counter - LFU_INIT_VAL) * log_factor + 1


def accesses_for_counter(counter: int, log_factor: int) -> float:
    """Expected accesses that took a new key (at LFU_INIT_VAL) to `counter`."""
    steps = counter - LFU_INIT_VAL
    if steps <= 0:
        return 0.0
    return steps + log_factor * steps * (steps - 1) / 2


def accesses_spread(first: int, last: int, log_factor: int) -> float:
    """One standard deviation of the accesses behind a counter that moved from `first` to
    `last`. Each step is a geometric wait of mean m = accesses_per_increment (variance about
    m²), and where the key stood inside its step at either reading is unknown (up to one
    step at each end)."""
    low, high = max(first, LFU_INIT_VAL) - LFU_INIT_VAL, max(last, LFU_INIT_VAL) - LFU_INIT_VAL

    def squares(n: int) -> float:  # sum of (j*f + 1)^2 for j in [0, n)
        return log_factor**2 * (n - 1) * n * (2 * n - 1) / 6 + log_factor * (n - 1) * n + n

    steps = max(0.0, squares(high) - squares(low))
    ends = (
        accesses_per_increment(first, log_factor) ** 2
        + accesses_per_increment(last, log_factor) ** 2
    )
    return math.sqrt(steps + ends)


@dataclass(frozen=True, slots=True)
class LfuConfig:
    log_factor: int = 10
    decay_minutes: int = 1


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self._at = now

    def take_all(self, now: float) -> int:
        self.tokens = min(self.burst, self.tokens + self.rate * (now - self._at))
        self._at = now
        granted = max(0, int(self.tokens))
        self.tokens -= granted
        return granted

    def refund(self, unused: int) -> None:
        self.tokens = min(self.burst, self.tokens + unused)


class LfuSampler:
    def __init__(
        self,
        instance: str,
        config: LfuConfig,
        *,
        candidates: int,
        window_s: float,
        bigkey_sample_every: int,
        bigkeys_per_type: int,
        memory: int = 200_000,
        server_started: float | None = None,
    ) -> None:
        self.instance = instance
        #: monotonic time the server started, when its counters all began at LFU_INIT_VAL
        #: since then (None: unknown, or counters were loaded from an RDB)
        self.server_started = server_started
        self.config = config
        self.window_s = window_s
        self.bigkey_sample_every = bigkey_sample_every
        self.big = BiggestPerType(bigkeys_per_type)
        self._half_life_s = window_s / 4
        self._candidates: DecayingTopK[bytes] = DecayingTopK(candidates, self._half_life_s)
        self._history: dict[bytes, deque[tuple[float, int]]] = {}
        #: the last counter read of every key scanned (bounded by `memory`, oldest dropped)
        self.memory = memory
        self._seen: dict[bytes, tuple[float, int]] = {}
        #: when each key in `_seen` was first read at the ceiling (while it stays there)
        self._ceiling_since: dict[bytes, float] = {}
        #: last rate measured below the counter ceiling, and when
        self._measured: dict[bytes, tuple[float, float]] = {}
        #: keys read once (by the SCAN) with the highest counters: read again next step, so
        #: that every score is built from differences, never from a lifetime count
        self._probation: dict[bytes, int] = {}
        self.probation_size = max(8, candidates // 2)
        self._cursor = b"0"
        self._scanned = 0
        #: keys to examine before continuing the SCAN (e.g. from hot cluster slots)
        self.priority: deque[bytes] = deque()
        #: CPU per cluster slot (CLUSTER SLOT-STATS), read by the detector on cluster nodes:
        #: orders the keys at the ceiling that nothing else ranks
        self.slot_heat: SlotHeat | None = None
        #: OBJECT FREQ readings so far (what the estimates rest on)
        self.readings = 0

    async def step(self, conn: RedisConnection, budget: int, slice_size: int = 200) -> int:
        """Spend at most about `budget` commands, in pipelined slices of `slice_size`;
        returns the commands sent."""
        spent = 0
        keys = [*self._candidates.keys(), *self._probation][: max(0, budget // 2)]
        self._probation.clear()
        for start in range(0, len(keys), slice_size):
            chunk = keys[start : start + slice_size]
            replies = await conn.pipeline([("OBJECT", "FREQ", k) for k in chunk])
            spent += len(chunk)
            self._observe_all(chunk, replies, time.monotonic())
        while budget - spent > 2:
            per_key = 1 + (2 / self.bigkey_sample_every if self.bigkey_sample_every else 0)
            wanted = max(1, min(slice_size, int((budget - spent - 1) / per_key)))
            batch, scan_commands = await self._next_keys(conn, wanted)
            spent += scan_commands
            if batch:
                spent += await self._sample(conn, batch)
            if scan_commands and self._cursor == b"0":
                break  # one pass per step at most: a second reading now would measure nothing
            await asyncio.sleep(0)
        return spent

    async def _next_keys(self, conn: RedisConnection, wanted: int) -> tuple[list[bytes], int]:
        if self.priority:
            count = min(wanted, len(self.priority))
            return [self.priority.popleft() for _ in range(count)], 0
        reply = await conn.execute("SCAN", self._cursor, "COUNT", wanted)
        if not (isinstance(reply, list) and len(reply) == 2 and isinstance(reply[1], list)):
            raise ValueError(f"{self.instance}: SCAN reply is not [cursor, keys]: {reply!r:.80}")
        self._cursor = reply[0]
        return [k for k in reply[1] if isinstance(k, bytes)], 1

    async def _sample(self, conn: RedisConnection, keys: list[bytes]) -> int:
        commands: list[tuple[Any, ...]] = []
        sized: list[bytes] = []
        for key in keys:
            commands.append(("OBJECT", "FREQ", key))
            self._scanned += 1
            if self.bigkey_sample_every and self._scanned % self.bigkey_sample_every == 0:
                sized.append(key)
        for key in sized:
            commands.append(("TYPE", key))
            commands.append(("MEMORY", "USAGE", key, "SAMPLES", 5))
        replies = await conn.pipeline(commands)
        self._observe_all(keys, replies[: len(keys)], time.monotonic())
        size_replies = replies[len(keys) :]
        for index, key in enumerate(sized):
            kind, size = size_replies[2 * index], size_replies[2 * index + 1]
            if isinstance(kind, bytes) and isinstance(size, int) and kind != b"none":
                self.big.offer(key, kind.decode("latin-1"), size)
        return len(commands)

    def _observe_all(self, keys: list[bytes], replies: list[Any], now: float) -> None:
        for key, reply in zip(keys, replies, strict=True):
            if isinstance(reply, int):
                self.readings += 1
                self.observe(key, reply, now)
                continue
            if isinstance(reply, ReplyError):
                message = str(reply)
                if "no such key" in message.lower():
                    self._forget(key)
                    continue
                raise LfuRefused(f"{self.instance}: OBJECT FREQ refused: {message}")
            self._forget(key)

    def observe(self, key: bytes, counter: int, now: float) -> None:
        """Fold one counter reading in: the rate since this key's previous reading updates
        its score (a moving average). A key read for the first time goes on probation (read
        again next step) if its counter is among the highest seen; so a hot key that cooled
        down earns nothing when the SCAN comes round again, and fades."""
        factor = self.config.log_factor
        previous = self._seen.get(key)
        if previous is not None and now - previous[0] < MIN_READ_INTERVAL_S:
            return  # too soon: one counter step over milliseconds is not a rate
        self._seen.pop(key, None)
        self._seen[key] = (now, counter)
        if counter < LFU_MAX:
            self._ceiling_since.pop(key, None)
        else:
            self._ceiling_since.setdefault(key, now)
        if len(self._seen) > self.memory:
            oldest = next(iter(self._seen))
            del self._seen[oldest]
            self._ceiling_since.pop(oldest, None)
        if previous is None:
            self._put_on_probation(key, counter)
            return
        elapsed = now - previous[0]
        if counter >= LFU_MAX and previous[1] >= LFU_MAX:
            rate = self._saturated_rate(key, now)
        else:
            gained = accesses_for_counter(counter, factor) - accesses_for_counter(
                previous[1], factor
            )
            rate = max(0.0, gained) / elapsed
            if previous[1] < LFU_MAX:
                self._measured[key] = (rate, now)
        # The score is an exponentially weighted moving average of the rate (the top-K
        # decays it, this adds the new reading's share), so a key found late is not ranked
        # behind keys that were watched for longer.
        if key in self._candidates:
            amount = rate * (1 - math.exp(-elapsed * math.log(2) / self._half_life_s))
        else:
            amount = rate
        if not self._candidates.offer(key, amount, now):
            return
        history = self._history.get(key)
        if history is None:
            history = self._history[key] = deque([previous])
        history.append((now, counter))
        while len(history) > 2 and history[1][0] <= now - self.window_s:
            history.popleft()
        if len(self._history) > 2 * self._candidates.capacity:
            self._history = {k: h for k, h in self._history.items() if k in self._candidates}
            self._measured = {k: r for k, r in self._measured.items() if k in self._candidates}

    def _put_on_probation(self, key: bytes, counter: int) -> None:
        if counter <= LFU_INIT_VAL:  # not accessed since it was written, or decayed
            return
        if len(self._probation) >= self.probation_size:
            weakest = min(self._probation, key=self._probation.__getitem__)
            if self._probation[weakest] >= counter:
                return
            del self._probation[weakest]
        self._probation[key] = counter

    def _saturated_rate(self, key: bytes, now: float, sharing: int = 1) -> float:
        """A counter at the ceiling (255) no longer moves, so no rate can be read off it, and
        a key that cooled down (but is still read once per lfu-decay-time) cannot be told
        from one still hot. On a cluster node with SLOT-STATS CPU, its slot's commands per
        second stand in (`SlotHeat`). Otherwise it ranks by the best evidence gathered:

        * the last rate measured below the ceiling;
        * the lifetime bound: a counter reaches 255 after ~A(255) accesses, so a key first
          read at the ceiling t seconds after the server started averaged at least
          A(255) / t until then;

        each counting fully for one window after it was gathered, then fading within a few
        tenths of a window (evidence goes stale: so a hot set that moved on is followed).
        Never less than the floor, A(255) / uptime (at least one decay period): what any key
        at the ceiling averaged at least, and in a steady workload more than any key below it
        does. The lifetime figures hold when
        every counter began at LFU_INIT_VAL after the server started (no RDB loaded); else
        the floor is the rate that reaches the ceiling within one lfu-decay-time (a prior
        for ranking, not a measurement)."""
        slot_ops = self._slot_ops(key)
        if slot_ops is not None:
            return slot_ops / max(1, sharing)
        ceiling = accesses_for_counter(LFU_MAX, self.config.log_factor)
        period_s = 60 * max(1, self.config.decay_minutes)
        started = self.server_started
        if started is None or now <= started:
            return max(ceiling / period_s, self._held_rate(key, now))
        best = ceiling / max(now - started, period_s)
        bound = self._lifetime_bound(key)
        if bound is not None:
            rate, since = bound
            best = max(best, rate * self._freshness(now - since))
        return max(best, self._held_rate(key, now))

    def _lifetime_bound(self, key: bytes) -> tuple[float, float] | None:
        """(the least the key averaged since the server started, when that was read): for a
        key first read at the ceiling, once the server's start is known."""
        since = self._ceiling_since.get(key)
        started = self.server_started
        if since is None or started is None or since <= started:
            return None
        return accesses_for_counter(LFU_MAX, self.config.log_factor) / (since - started), since

    def _stale_evidence(self, key: bytes) -> float:
        """The evidence about a key at the ceiling, however old (orders keys that tie)."""
        bound = self._lifetime_bound(key)
        return max(self._measured.get(key, (0.0, 0.0))[0], bound[0] if bound else 0.0)

    def _held_rate(self, key: bytes, now: float) -> float:
        measured = self._measured.get(key)
        if measured is None:
            return 0.0
        rate, at = measured
        return rate * self._freshness(now - at)

    def _freshness(self, age_s: float) -> float:
        """How much evidence gathered `age_s` ago still counts: all of it within the window
        the report covers, then half as much every tenth of a window."""
        stale_s = max(0.0, age_s - self.window_s)
        return 0.5 ** (stale_s / (self.window_s / 10))

    def _forget(self, key: bytes) -> None:
        self._candidates.discard([key])
        self._history.pop(key, None)
        self._seen.pop(key, None)
        self._ceiling_since.pop(key, None)
        self._probation.pop(key, None)
        self.big.forget(key)

    def hot(self, top: int, now: float) -> list[HotKeyEntry]:
        """The candidates with the highest rates over the window. (The moving-average score
        only decides who stays a candidate; the rate over the whole window is less noisy.)

        Ranked by the rate less half its error: a key read over a short span (found late in
        the window) has a wide error, and one lucky counter step must not lift it past keys
        measured over the whole window. A key at the counter ceiling ranks by its held or
        floor rate, which is a lower bound already."""
        return [entry for _, entry in self._ranked(now)[:top]]

    def _ranked(self, now: float) -> list[tuple[bytes, HotKeyEntry]]:
        ranked = []
        # keys at the ceiling in one slot split its commands: which of them is hot, the
        # slot cannot tell
        sharing = Counter(key_slot(key) for key in self._ceiling_keys())
        for key in self._candidates:
            rate, error = self._rate(key, now, sharing)
            entry = HotKeyEntry(
                display_key(key), rate, error, Method.LFU, self.instance, self.window_s
            )
            if rate is None:
                rank = (-1.0, 0.0, 0.0)
            elif self._at_ceiling(key):
                # Keys on the floor tie: their slot's CPU (on clusters), then their stale
                # evidence, order them.
                rank = (rate, self._slot_rate(key) or 0.0, self._stale_evidence(key))
            else:
                rank = (rate - (error or 0.0) / 2, 0.0, 0.0)
            ranked.append((rank, key, entry))
        ranked.sort(key=lambda item: item[0], reverse=True)
        return [(key, entry) for _, key, entry in ranked]

    def saturated(self) -> int:
        """Candidates whose counter sits at the ceiling (their rates are held, not measured)."""
        return sum(1 for key in self._candidates if self._at_ceiling(key))

    def unranked(self, top: int, now: float) -> int:
        """How many of the `top` keys sit at the ceiling with no evidence from within the
        window: their order is a guess (on a long-running busy server, most hot keys)."""
        return sum(
            1
            for key, _ in self._ranked(now)[:top]
            if self._at_ceiling(key) and not self._has_fresh_evidence(key, now)
        )

    @property
    def candidate_capacity(self) -> int:
        return self._candidates.capacity

    def ceiling_slots(self) -> list[int]:
        """The cluster slots of the candidates and keys on probation at the ceiling (whose
        CPU can rank them)."""
        return sorted({key_slot(key) for key in self._ceiling_keys()})

    def _ceiling_keys(self) -> list[bytes]:
        watched = {*self._candidates.keys(), *self._probation}
        return [key for key in watched if self._at_ceiling(key)]

    def _at_ceiling(self, key: bytes) -> bool:
        """Whether the key's last counter reading was 255."""
        return self._seen.get(key, (0.0, 0))[1] >= LFU_MAX

    def _slot_rate(self, key: bytes) -> float | None:
        return None if self.slot_heat is None else self.slot_heat.rate(key_slot(key))

    def _slot_ops(self, key: bytes) -> float | None:
        return None if self.slot_heat is None else self.slot_heat.ops(key_slot(key))

    def _has_fresh_evidence(self, key: bytes, now: float) -> bool:
        if self._slot_ops(key) is not None:
            return True
        measured = self._measured.get(key)
        if measured is not None and now - measured[1] <= self.window_s:
            return True
        bound = self._lifetime_bound(key)
        return bound is not None and now - bound[1] <= self.window_s

    def _rate(
        self, key: bytes, now: float, sharing: Counter[int] | None = None
    ) -> tuple[float | None, float | None]:
        history = self._history.get(key)
        if not history:
            return None, None
        factor = self.config.log_factor
        (t0, c0), (t1, c1) = history[0], history[-1]
        if c0 >= LFU_MAX:
            shared = sharing[key_slot(key)] if sharing and self.slot_heat is not None else 1
            held = self._saturated_rate(key, now, shared)
            return held, held
        if c1 >= LFU_MAX:
            # It reached the ceiling at or before its first reading there: measure up to
            # that reading, not across the time it then sat still.
            t1 = next(t for t, c in history if c >= LFU_MAX)
        if t1 - t0 > 0:
            elapsed = t1 - t0
            gained = max(0.0, accesses_for_counter(c1, factor) - accesses_for_counter(c0, factor))
            return gained / elapsed, accesses_spread(c0, c1, factor) / elapsed
        if self.config.decay_minutes <= 0:
            return None, None
        # One reading only: in equilibrium the counter gains one step per decay period.
        steady = accesses_per_increment(c1, factor) / (60 * self.config.decay_minutes)
        return steady, steady
