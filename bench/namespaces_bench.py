"""The namespace sampler's accuracy and what it costs the server, at a command budget.

A real redis-server gets `--keys` keys in six patterns (tests/namespace_dataset.py: strings,
lists, hashes; no TTL, < 1 h, < 1 d, longer) and the exact truth per pattern (key count,
`MEMORY USAGE SAMPLES 0` summed over every key). The sampler then runs in real time at
`--rate` commands a second (default: the `[doctor]` budget's ceiling, 200/s; its floor is
20/s) until one pass is complete, optionally under a pipelined redis-benchmark GET load.
The server's INFO commandstats, read before and after from this script's connection, say
what the sampler sent (SCAN, MEMORY USAGE, TTL, INFO) and the server CPU it took (`usec`).
Prints the figures and the estimate errors; asserts nothing.

    .venv/bin/python bench/namespaces_bench.py --keys 220000
    .venv/bin/python bench/namespaces_bench.py --keys 220000 --load   # throughput lost
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collectors.namespaces import NamespaceOptions, NamespaceSampler
from monitor.doctor.settings import DEFAULT_BUDGET
from monitor.localservers import LocalRedis
from monitor.targets import parse_target_url
from tests.namespace_dataset import populate

_SAMPLER = ("scan", "memory|usage", "ttl", "info")


def _commandstats(port: int) -> dict[str, tuple[int, int]]:
    with redis.Redis(port=port) as client:
        info = client.info("commandstats")
    return {
        key.removeprefix("cmdstat_"): (int(v["calls"]), int(v["usec"]))
        for key, v in info.items()
        if key.startswith("cmdstat_")
    }


async def _pass_at(url: str, rate: float) -> tuple[float, int]:
    """One whole pass at `rate` commands/s (credit per 100 ms tick, as the runner's 1 s
    steps but smoother); returns (seconds, commands sent)."""
    sampler = NamespaceSampler(parse_target_url(url), NamespaceOptions())
    started = time.monotonic()
    credit = 0.0
    try:
        while sampler.report().passes == 0:
            credit += rate * 0.1
            allowance = int(credit)
            if allowance:
                credit -= await sampler.step(allowance)
            await asyncio.sleep(0.1)
        report = sampler.report()
        return time.monotonic() - started, sampler.commands_sent, report  # type: ignore[return-value]
    finally:
        await sampler.close()


def _benchmark(port: int) -> subprocess.Popen[bytes] | None:
    tool = shutil.which("redis-benchmark")
    if tool is None:
        return None
    return subprocess.Popen(
        [tool, "-p", str(port), "-t", "get", "-P", "16", "-c", "8", "-n", "1000000000",
         "-r", "200000", "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _processed(port: int) -> int:
    with redis.Redis(port=port) as client:
        return int(client.info("stats")["total_commands_processed"])


def _ops(port: int, seconds: float) -> float:
    before = _processed(port)
    time.sleep(seconds)
    return (_processed(port) - before) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=220_000)
    parser.add_argument("--rate", type=float, default=DEFAULT_BUDGET.ceiling_per_s)
    parser.add_argument("--load", action="store_true", help="measure GET throughput lost")
    args = parser.parse_args()

    server = LocalRedis().start()
    load = None
    try:
        truth = populate(server.port, args.keys)
        print(f"{sum(truth.keys.values())} keys in {len(truth.keys)} patterns")
        if args.load:
            load = _benchmark(server.port)
            time.sleep(2)
            baseline = _ops(server.port, 10)
        before = _commandstats(server.port)
        processed = _processed(server.port)
        seconds, commands, report = asyncio.run(_pass_at(server.url, args.rate))
        # the application's commands while the pass ran: all of them less the sampler's
        loaded = (_processed(server.port) - processed - commands) / seconds
        after = _commandstats(server.port)
    finally:
        if load is not None:
            load.terminate()
            load.wait()
        server.stop()
    calls = usec = 0
    for cmd in _SAMPLER:
        c1, u1 = after.get(cmd, (0, 0))
        c0, u0 = before.get(cmd, (0, 0))
        calls, usec = calls + c1 - c0, usec + u1 - u0
        print(f"  {cmd:<14} calls {c1 - c0:>7}  server usec {u1 - u0:>9}")
    print(f"one pass at {args.rate:g} commands/s: {seconds:.1f} s, {commands} commands sent")
    print(
        f"server CPU for the pass: {usec / 1e3:.1f} ms ({usec / max(calls, 1):.1f} us a command)"
        f"; {usec / seconds / 1e4:.3f} % of one core while it runs"
    )
    worst_keys = worst_memory = 0.0
    for row in report.rows:
        keys, memory = truth.keys[row.pattern], truth.memory[row.pattern]
        dk, dm = (row.keys - keys) / keys, (row.memory_bytes - memory) / memory
        worst_keys, worst_memory = max(worst_keys, abs(dk)), max(worst_memory, abs(dm))
        print(
            f"  {row.pattern:<24} keys {row.keys:>9.0f} (truth {keys:>7}, {dk:+.1%})"
            f"  memory {row.memory_bytes / 1e6:>7.2f} MB (truth {memory / 1e6:.2f}, {dm:+.1%})"
        )
    print(f"worst error: keys {worst_keys:.1%}, memory {worst_memory:.1%}")
    if args.load:
        print(
            f"GET load: {baseline:,.0f} ops/s before, {loaded:,.0f} while sampling "
            f"({(baseline - loaded) / baseline:+.1%} lost; run-to-run noise is a few %)"
        )


if __name__ == "__main__":
    main()
