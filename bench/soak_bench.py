"""A bounded soak: the real `Runtime` polling `--servers` real redis-servers every second.

Reports, over `--seconds` of steady state:
- poll lateness: when each poll finished minus its sample timestamp (the slot the scheduler
  stamped it with), and the start lateness (the same minus the poll's duration);
- poll spacing: each poll's start minus the target's previous start, minus the interval
  (a stalled loop shows up here whatever the phase of the schedule);
- a reference from the same loop: how late a bare `asyncio.sleep` to each 100 ms boundary
  wakes up;
- how long each `append` into the store took (a stall there stalls the event loop);
- `maintain()` runs: wall time, and how long the store's lock was held inside them;
- this process's CPU (user + system) per second and per poll, and RSS.

The store's windows are shortened (1 min chunks, 2 min blocks, 4 min compaction) so block
cuts, WAL rotations and compactions happen within a few minutes; with the defaults they
would come every 10 minutes and 2 hours. A few servers get a short redis-benchmark run first so
commandstats and latency histograms are populated. Prints figures; asserts nothing.

    .venv/bin/python bench/soak_bench.py --servers 50 --seconds 300
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from monitor.config import Config, config_from_urls
from monitor.localservers import LocalRedis
from monitor.model import SampleBatch
from monitor.runtime import Runtime
from monitor.store import EmbeddedStore, RollupTier, StoreConfig

SOAK_STORE = StoreConfig(
    chunk_duration_ms=60_000,
    block_duration_ms=120_000,
    raw_compact_to_ms=240_000,
    tiers=(
        RollupTier("10s", 10_000, 14 * 86_400_000, 240_000),
        RollupTier("1m", 60_000, 90 * 86_400_000, 480_000),
    ),
)


class TimedLock:
    """Wraps the store's lock to record how long each hold lasted, per thread."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._local = threading.local()
        self.holds: list[tuple[str, float]] = []

    def __enter__(self) -> None:
        self._inner.acquire()
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self._local.since = time.perf_counter()
        self._local.depth = depth + 1

    def __exit__(self, *exc: object) -> None:
        self._local.depth -= 1
        if self._local.depth == 0:
            held = time.perf_counter() - self._local.since
            self.holds.append((threading.current_thread().name, held))
        self._inner.release()


class MeasuredStore:
    """The store as the runtime sees it, timing appends and maintenance."""

    def __init__(self, store: EmbeddedStore, lock: TimedLock) -> None:
        self._store = store
        self._lock = lock
        self.late_ms: list[float] = []
        self.start_late_ms: list[float] = []
        self.append_ms: list[float] = []
        self.maintain_runs: list[tuple[float, float]] = []  # (wall ms, longest lock hold ms)
        self.measuring = False
        #: start of each poll minus (start of the target's previous poll + the interval)
        self.spacing_error_ms: list[float] = []
        self._last_start: dict[object, float] = {}
        self.interval_ms = 1000.0

    def append(self, batch: SampleBatch) -> None:
        started = time.perf_counter()
        self._store.append(batch)
        if not self.measuring:
            return
        now = time.time() * 1000
        self.append_ms.append((time.perf_counter() - started) * 1000)
        self.late_ms.append(now - batch.ts_ms)
        duration = batch.values[batch.names.index("cachewatch_poll_duration_seconds")]
        start = now - duration * 1000
        self.start_late_ms.append(start - batch.ts_ms)
        previous = self._last_start.get(batch.target_labels)
        if previous is not None:
            self.spacing_error_ms.append(start - previous - self.interval_ms)
        self._last_start[batch.target_labels] = start

    def maintain_store(self, now: int | None = None) -> None:
        before = len(self._lock.holds)
        started = time.perf_counter()
        self._store.maintain(now)
        wall = (time.perf_counter() - started) * 1000
        me = threading.current_thread().name
        mine = [h for name, h in self._lock.holds[before:] if name == me]
        if self.measuring:
            self.maintain_runs.append((wall, max(mine, default=0.0) * 1000))

    def __getattr__(self, name: str) -> Any:
        if name == "maintain":
            return self.maintain_store
        return getattr(self._store, name)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def tick_lateness(late_ms: list[float], stop: asyncio.Event) -> None:
    """The reference: how late a bare `asyncio.sleep` to each 100 ms boundary wakes up in the
    same loop (what the machine and the loop allow, before any poll work)."""
    while not stop.is_set():
        due = (time.time() // 0.1 + 1) * 0.1
        await asyncio.sleep(due - time.time())
        late_ms.append((time.time() - due) * 1000)


async def soak(config: Config, store: MeasuredStore, warmup_s: float, seconds: float) -> None:
    runtime = Runtime(config, store=store, with_store=False)
    await runtime.start()
    ticks: list[float] = []
    stop = asyncio.Event()
    try:
        await asyncio.sleep(warmup_s)
        store.measuring = True
        ticker = asyncio.create_task(tick_lateness(ticks, stop))
        cpu0, wall0, rss0 = os.times(), time.perf_counter(), rss_mb()
        await asyncio.sleep(seconds)
        cpu1, wall1 = os.times(), time.perf_counter()
        store.measuring = False
        stop.set()
        await ticker
    finally:
        await runtime.stop()
    polls = len(store.late_ms)
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    print(
        f"targets={len(config.targets)} interval=1s measured {wall1 - wall0:.0f} s, {polls} polls"
    )
    print(
        f"CPU: {cpu / (wall1 - wall0) * 100:.1f}% of one core; {cpu * 1000 / max(polls, 1):.3f} ms"
        f" per poll (everything: polls, store, maintain, scheduler); RSS {rss_mb():.0f} MB "
        f"(was {rss0:.0f} MB after warm-up)"
    )
    for name, values in (
        ("poll finish lateness", store.late_ms),
        ("poll start lateness", store.start_late_ms),
        ("poll spacing - 1 s", store.spacing_error_ms),
        ("append into store", store.append_ms),
        ("bare sleep lateness", ticks),
    ):
        print(
            f"{name:<22} ms: p50 {pct(values, 0.5):7.2f}  p95 {pct(values, 0.95):7.2f}  "
            f"p99 {pct(values, 0.99):7.2f}  max {max(values, default=float('nan')):7.2f}"
        )
    heavy = sorted(store.maintain_runs, reverse=True)[:5]
    walls = [w for w, _ in store.maintain_runs]
    print(
        f"maintain(): {len(walls)} runs, median {statistics.median(walls or [0]):.1f} ms wall; "
        "longest (wall ms / longest lock hold ms): "
        + ", ".join(f"{w:.0f}/{h:.1f}" for w, h in heavy)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--warmup", type=float, default=15)
    parser.add_argument("--loaded", type=int, default=10, help="servers given traffic first")
    args = parser.parse_args()
    servers: list[LocalRedis] = []
    loads: list[subprocess.Popen[bytes]] = []
    tmp = Path(tempfile.mkdtemp(prefix="cachewatch-soak-"))
    try:
        for _ in range(args.servers):
            servers.append(LocalRedis().start())
        for server in servers[: args.loaded]:
            loads.append(
                subprocess.Popen(
                    [
                        "redis-benchmark",
                        "-p",
                        str(server.port),
                        "-q",
                        "-n",
                        "2000",
                        "-t",
                        "get,set,incr,lpush,hset",
                        "-r",
                        "1000",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for proc in loads:
            proc.wait(300)
        config = config_from_urls([s.url for s in servers], interval_s=1.0)
        config = replace(config, global_=replace(config.global_, slow_interval_s=60.0))
        inner = EmbeddedStore.open(tmp / "store", SOAK_STORE)
        lock = TimedLock(inner._lock)
        inner._lock = lock  # type: ignore[assignment]
        store = MeasuredStore(inner, lock)
        asyncio.run(soak(config, store, args.warmup, args.seconds))
        inner.close()
    finally:
        for proc in loads:
            proc.kill()
            proc.wait()
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
