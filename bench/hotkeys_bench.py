"""Hot-key detection: accuracy (precision@10) and cost (server throughput lost).

Runs one Redis (allkeys-lfu) and drives it from a separate load process (raw pipelined
RESP, 90 % GET / 10 % SET, Zipf(s) over random key names whose ranks are shuffled, so names
say nothing about heat). In one run:

* accuracy: a fresh detector at default settings stepping every second; precision@10 after
  `--phase` seconds against the exact counts the load process sent meanwhile (LFU `--runs`
  times, then the opt-in MONITOR bursts); then a workload whose hot set switches to other
  keys, checked half a window, one window and two windows after the switch (`--change-runs`
  times, the server a little older each time);
* cost: paired 1 s slots with the detector off and on (random order in each pair, so the
  drift of a shared machine hits both alike): LFU sampling at defaults, a continuous
  MONITOR client beside it, and MONITOR bursts.

The bench prints figures and never asserts.

    .venv/bin/python bench/hotkeys_bench.py [--keys 10000] [--phase 10] [--zipf 1.0]
        [--lfu-log-factor 10] [--runs 4] [--change-runs 2]

Machine note: 2 cores shared by redis-server, the load process and this process (which runs
the detector) -- and by whatever else runs on the box.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import hiredis

from collectors.hotkeys import HotKeyDetector, HotKeyOptions, Method
from collectors.redis_conn import encode_command
from monitor.localservers import LocalRedis
from monitor.targets import parse_target_url

BATCH = 200  # commands per pipeline
BATCHES = 256  # distinct precomputed pipelines per workload
PHASES = 2  # slot 0 parks the load's counting, slot 1 counts the current slot


@dataclass
class Workload:
    """Precomputed pipelines and, per pipeline, how often each key appears in it."""

    batches: list[bytes]
    counts: list[Counter[str]]
    ranked: list[str]  # keys by true weight, hottest first


def make_workload(keys: list[str], zipf_s: float, rng: random.Random) -> Workload:
    ranked = keys[:]
    rng.shuffle(ranked)
    weights = [1 / (rank + 1) ** zipf_s for rank in range(len(ranked))]
    batches, counts = [], []
    for _ in range(BATCHES):
        drawn = rng.choices(ranked, weights, k=BATCH)
        commands = [("SET", k, "w" * 32) if rng.random() < 0.1 else ("GET", k) for k in drawn]
        batches.append(b"".join(encode_command(c) for c in commands))
        counts.append(Counter(drawn))
    return Workload(batches, counts, ranked)


def load_worker(
    port: int,
    workloads: list[list[bytes]],
    phase_ops: Any,
    sends: Any,
    phase: Any,
    current: Any,
    stop: Any,
) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = hiredis.Reader()
    index = 0
    while not stop.is_set():
        which = current.value
        if which < 0:  # paused
            time.sleep(0.01)
            continue
        slot = index % BATCHES
        index += 1
        sock.sendall(workloads[which][slot])
        pending = BATCH
        while pending:
            if reader.gets() is False:
                reader.feed(sock.recv(1 << 20))
            else:
                pending -= 1
        sends[which * BATCHES + slot] += 1
        phase_ops[phase.value] += BATCH
    sock.close()


class Load:
    def __init__(self, port: int, workloads: list[Workload]) -> None:
        ctx = mp.get_context("fork")
        self.workloads = workloads
        self.phase_ops = ctx.Array("d", PHASES, lock=False)
        self.sends = ctx.Array("q", len(workloads) * BATCHES, lock=False)
        self.phase = ctx.Value("i", 0, lock=False)
        self.current = ctx.Value("i", 0, lock=False)
        self.stop = ctx.Event()
        self.process = ctx.Process(
            target=load_worker,
            args=(port, [w.batches for w in workloads], self.phase_ops, self.sends,
                  self.phase, self.current, self.stop),
            daemon=True,
        )  # fmt: skip
        self.process.start()

    def snapshot(self) -> list[int]:
        return list(self.sends)

    def counts_since(self, before: list[int], which: int) -> Counter[str]:
        after = self.snapshot()
        total: Counter[str] = Counter()
        for slot in range(BATCHES):
            sent = after[which * BATCHES + slot] - before[which * BATCHES + slot]
            if sent:
                for key, count in self.workloads[which].counts[slot].items():
                    total[key] += count * sent
        return total

    def close(self) -> None:
        self.stop.set()
        self.process.join(10)


def precision(found: list[str], truth: Counter[str], n: int = 10) -> float:
    top = {key for key, _ in truth.most_common(n)}
    return len(top & set(found[:n])) / n


async def accuracy(
    url: str, load: Load, seconds: float, options: HotKeyOptions
) -> tuple[float, str]:
    """A fresh detector stepping every second for `seconds`; precision@10 at the end."""
    detector = HotKeyDetector(parse_target_url(url), options)
    before = load.snapshot()
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            started = time.monotonic()
            await detector.step()
            pause = min(1.0 - (time.monotonic() - started), end - time.monotonic())
            await asyncio.sleep(max(0.0, pause))
        report = detector.report()
    finally:
        await detector.close()
    truth = load.counts_since(before, 0)
    found = [entry.key for entry in report.hot]
    ranks = {key: rank for rank, (key, _) in enumerate(truth.most_common(), 1)}
    shown = ",".join(str(ranks.get(key, "-")) for key in found[:10])
    saturated = " (some at the LFU ceiling)" if any("ceiling" in n for n in report.notes) else ""
    score = precision(found, truth)
    return score, (
        f"precision@10 {score:.2f} after {seconds:g}s "
        f"({report.methods[0].value}; true ranks of the keys found: {shown}){saturated}"
    )


_SAMPLER_COMMANDS = {
    "cmdstat_scan", "cmdstat_object|freq", "cmdstat_type", "cmdstat_memory|usage",
}  # fmt: skip


class Slots:
    """Cost as paired 1 s slots, detector off / on in random order, so the drift of a shared
    machine hits both sides alike. Two figures per experiment:

    * throughput lost = 1 - ops/s(on) / ops/s(off), as the load process saw it;
    * server CPU per op: 1 - (ops per server-CPU-second on) / (off), from INFO cpu. That is
      the throughput a saturated server would lose, and other processes on the box disturb
      it far less than the raw throughput.
    """

    def __init__(self, load: Load, port: int) -> None:
        self.load = load
        self.rng = random.Random(3)
        self.info = socket.create_connection(("127.0.0.1", port))

    def _info(self, section: str) -> dict[str, str]:
        self.info.sendall(encode_command(("INFO", section)))
        reader = hiredis.Reader()
        while (reply := reader.gets()) is False:
            reader.feed(self.info.recv(1 << 16))
        return dict(line.split(":", 1) for line in reply.decode().splitlines() if ":" in line)

    def server_cpu_s(self) -> float:
        fields = self._info("cpu")
        return float(fields["used_cpu_user"]) + float(fields["used_cpu_sys"])

    def sampling_usec(self) -> float:
        """Server time spent executing the LFU sampler's commands (INFO commandstats)."""
        total = 0.0
        for name, value in self._info("commandstats").items():
            if name in _SAMPLER_COMMANDS:
                total += float(dict(p.split("=") for p in value.split(","))["usec"])
        return total

    async def measure(self, pairs: int, switch_on: Any, switch_off: Any) -> str:
        ops = {"off": 0.0, "on": 0.0}
        seconds = {"off": 0.0, "on": 0.0}
        cpu = {"off": 0.0, "on": 0.0}
        for _ in range(pairs):
            order = ["off", "on"]
            self.rng.shuffle(order)
            for side in order:
                started, cpu_before = time.monotonic(), self.server_cpu_s()
                self.load.phase_ops[1] = 0.0
                self.load.phase.value = 1
                if side == "on":
                    await switch_on()  # inside the slot: a detector step's work counts
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
                if side == "on":
                    await switch_off()
                self.load.phase.value = 0
                seconds[side] += time.monotonic() - started
                cpu[side] += self.server_cpu_s() - cpu_before
                ops[side] += self.load.phase_ops[1]
        rate_off, rate_on = ops["off"] / seconds["off"], ops["on"] / seconds["on"]
        per_cpu_off, per_cpu_on = ops["off"] / cpu["off"], ops["on"] / cpu["on"]
        lost = 1 - rate_on / rate_off
        return (
            f"{rate_off:>9,.0f} -> {rate_on:>9,.0f} ops/s, lost {100 * lost:5.1f} %;"
            f"  ops per server CPU-s {per_cpu_off:>9,.0f} -> {per_cpu_on:>9,.0f},"
            f" lost {100 * (1 - per_cpu_on / per_cpu_off):5.1f} %"
        )


async def sampler_alone(url: str, load: Load, slots: Slots, seconds: int) -> str:
    """The server CPU the LFU sampler's own traffic takes (commands, parsing, replies), with
    the load paused so nothing else moves the counter: `seconds` idle, then `seconds` with
    a detector stepping once a second. On a server saturated at one core, that CPU share is
    the throughput it loses."""
    load.current.value = -1
    await asyncio.sleep(0.5)
    try:
        started, before = time.monotonic(), slots.server_cpu_s()
        await asyncio.sleep(seconds)
        idle = (slots.server_cpu_s() - before) / (time.monotonic() - started)
        detector = HotKeyDetector(parse_target_url(url), HotKeyOptions())
        started, before = time.monotonic(), slots.server_cpu_s()
        try:
            for _ in range(seconds):
                tick = time.monotonic()
                await detector.step()
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        finally:
            await detector.close()
        busy = (slots.server_cpu_s() - before) / (time.monotonic() - started)
    finally:
        load.current.value = 0
    extra = busy - idle
    return (
        f"server CPU {1000 * idle:.1f} ms/s idle -> {1000 * busy:.1f} ms/s with the sampler: "
        f"+{1000 * extra:.1f} ms per second, i.e. a server saturated at one core loses "
        f"{100 * extra:.2f} % of its throughput"
    )


class MonitorReader:
    """A plain MONITOR client that reads everything, in a thread (what cachewatch avoids)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _read(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port)) as sock:
            sock.sendall(encode_command(("MONITOR",)))
            sock.settimeout(0.2)
            while not self._stop.is_set():
                try:
                    self.received += len(sock.recv(1 << 20))
                except TimeoutError:
                    continue


async def hot_set_change(
    url: str, load: Load, window_s: float, new: int
) -> tuple[list[float], str]:
    """Learn workload 0 for a window, then switch to workload `new` (a hot set not used
    before: keys that were hot a minute ago still sit at the LFU ceiling, and LFU cannot
    see them turn hot again)."""
    detector = HotKeyDetector(parse_target_url(url), HotKeyOptions(window_s=window_s))
    results: list[str] = []
    scores: list[float] = []
    try:
        end = time.monotonic() + window_s
        while time.monotonic() < end:  # learn the first hot set
            await detector.step()
            await asyncio.sleep(1.0)
        load.current.value = new
        before = load.snapshot()
        switched = time.monotonic()
        checkpoints = [window_s / 2, window_s, 2 * window_s]
        while checkpoints:
            await detector.step()
            await asyncio.sleep(1.0)
            if time.monotonic() - switched >= checkpoints[0]:
                found = [e.key for e in detector.report().hot]
                truth = load.counts_since(before, new)
                scores.append(precision(found, truth))
                results.append(f"+{checkpoints.pop(0):g}s {scores[-1]:.2f}")
    finally:
        await detector.close()
        load.current.value = 0
    return scores, "precision@10 against the new hot set: " + ", ".join(results)


async def main_async(args: argparse.Namespace, server: LocalRedis, load: Load) -> None:
    await asyncio.sleep(2)  # let the load settle
    defaults = HotKeyOptions()
    print(
        f"detector defaults: budget {defaults.command_budget_per_s:g} cmd/s, "
        f"{defaults.candidates} candidates, window {defaults.window_s:g}s; "
        f"MONITOR bursts {defaults.burst_s * 1000:g} ms every {defaults.burst_every_s:g}s"
    )
    print("\naccuracy (fresh detector each run)")
    lfu_scores = []
    for run in range(args.runs):
        score, line = await accuracy(server.url, load, args.phase, defaults)
        lfu_scores.append(score)
        print(f"  lfu, run {run + 1}: {line}")
    bursts = HotKeyOptions(monitor=True, method=Method.MONITOR)
    print(f"  monitor bursts: {(await accuracy(server.url, load, args.phase, bursts))[1]}")
    one_window = []
    for run in range(args.change_runs):
        scores, line = await hot_set_change(server.url, load, args.phase, new=run + 1)
        one_window.append(scores[1])
        print(f"  hot set change (lfu), run {run + 1}: {line}")
    print(
        f"  lfu summary: precision@10 >= 0.9 in {sum(x >= 0.9 for x in lfu_scores)} of "
        f"{len(lfu_scores)} runs (mean {sum(lfu_scores) / max(1, len(lfu_scores)):.2f}); after a "
        f"hot set change, >= 0.9 one window later in {sum(x >= 0.9 for x in one_window)} "
        f"of {len(one_window)}"
    )

    pairs = args.pairs
    print(f"\ncost ({pairs} paired 1 s slots each, off/on in random order)")
    slots = Slots(load, server.port)
    detector = HotKeyDetector(parse_target_url(server.url), defaults)

    async def nothing() -> None:
        return None

    usec_before, cpu_before = slots.sampling_usec(), slots.server_cpu_s()
    try:
        print(f"  lfu (default)        {await slots.measure(pairs, detector.step, nothing)}")
    finally:
        await detector.close()
    usec = slots.sampling_usec() - usec_before
    cpu_s = slots.server_cpu_s() - cpu_before
    print(
        f"    the sampler's commands ran {usec / 1000 / pairs:.1f} ms per on-slot second, "
        f"{100 * usec / 1e6 / cpu_s:.2f} % of the server's CPU time over these slots "
        "(command execution only, from INFO commandstats)"
    )
    print(f"  lfu sampler alone    {await sampler_alone(server.url, load, slots, pairs)}")
    reader = MonitorReader(server.port)
    print(f"  monitor, continuous  {await slots.measure(pairs, reader.start, reader.stop)}")
    burst_detector = HotKeyDetector(
        parse_target_url(server.url),
        HotKeyOptions(monitor=True, method=Method.MONITOR, burst_every_s=0.0),
    )
    try:
        figures = await slots.measure(pairs, burst_detector.step, nothing)
    finally:
        await burst_detector.close()
    duty = defaults.burst_s / defaults.burst_every_s
    print(f"  monitor, one {defaults.burst_s * 1000:g} ms burst per 1 s slot  {figures}")
    print(
        f"  (the default duty cycle is {100 * duty:g} %, a tenth of that slot's "
        f"{100 * defaults.burst_s:g} %: divide its loss by {defaults.burst_s / duty:g})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--phase", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--zipf", type=float, default=1.0, help="Zipf exponent s")
    parser.add_argument("--lfu-log-factor", type=int, default=10, help="server setting (10)")
    parser.add_argument("--runs", type=int, default=4, help="LFU accuracy runs")
    parser.add_argument("--change-runs", type=int, default=2, help="hot set change runs")
    parser.add_argument("--pairs", type=int, default=10, help="paired 1 s slots per cost")
    args = parser.parse_args()
    rng = random.Random(7)
    keys = [f"{rng.getrandbits(64):016x}" for _ in range(args.keys)]
    workloads = [make_workload(keys, args.zipf, rng) for _ in range(1 + args.change_runs)]
    server = LocalRedis(
        extra=["--maxmemory", "200mb", "--maxmemory-policy", "allkeys-lfu",
               "--lfu-log-factor", str(args.lfu_log_factor)]
    )  # fmt: skip
    server.start()
    try:
        fill = b"".join(encode_command(("SET", k, "v" * rng.randint(10, 2000))) for k in keys)
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(fill)
            reader, pending = hiredis.Reader(), len(keys)
            while pending:
                if reader.gets() is False:
                    reader.feed(sock.recv(1 << 20))
                else:
                    pending -= 1
        print(f"redis-server {server.address}: {args.keys} keys, Zipf s={args.zipf}, "
              f"lfu-log-factor {args.lfu_log_factor}, "
              f"{BATCH}-command pipelines from 1 load process (90% GET, 10% SET)")  # fmt: skip
        load = Load(server.port, workloads)
        try:
            asyncio.run(main_async(args, server, load))
        finally:
            load.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
