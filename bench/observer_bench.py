"""The observer's footprint: what a `cachewatch serve` at its defaults sends one Redis, and
what that costs the server, on a quiet and a busy server, with an LFU policy (the hot-key
sampler runs) and an LRU one (it does not).

For each case a real redis-server (`--keys` keys) runs, optionally under a pipelined
redis-benchmark load, and `cachewatch serve <bare URL>` watches it for `--seconds` (after a
warm-up). The server's own INFO commandstats, read at the start and the end from this
script's connection, say what cachewatch's commands were (the monitoring and sampling
commands no load here sends: INFO, LATENCY, SLOWLOG, CONFIG, CLIENT, COMMAND, OBJECT, MEMORY,
SCAN, TYPE) and how much server CPU they took (commandstats `usec`), against the server's
whole CPU (`used_cpu_user + used_cpu_sys`) and all of its commands. This script's own two
INFO calls are left out. Prints figures; asserts nothing.

    .venv/bin/python bench/observer_bench.py --seconds 60
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from monitor.localservers import LocalRedis, free_port

#: what cachewatch sends (the loads here send none of these)
_OBSERVER = ("info", "latency", "slowlog", "config", "client", "command", "object", "memory",
             "scan", "type", "cluster", "select", "hello", "auth")  # fmt: skip


def _stats(client: redis.Redis) -> tuple[dict[str, tuple[int, int]], float, int]:
    """(cmd → (calls, usec), server CPU seconds, commands processed)."""
    info = client.info("all")
    commands = {
        key.removeprefix("cmdstat_"): (int(value["calls"]), int(value["usec"]))
        for key, value in info.items()
        if key.startswith("cmdstat_")
    }
    cpu = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    return commands, cpu, int(info["total_commands_processed"])


def _observer(commands: dict[str, tuple[int, int]]) -> tuple[int, int]:
    calls = usec = 0
    for cmd, (n, us) in commands.items():
        if cmd.split("|")[0] in _OBSERVER:
            calls, usec = calls + n, usec + us
    return calls, usec


def run_case(policy: str, busy: bool, keys: int, seconds: float, warmup: float) -> None:
    server = LocalRedis(extra=["--maxmemory", "512mb", "--maxmemory-policy", policy]).start()
    client = redis.Redis(port=server.port)
    for start in range(0, keys, 10_000):
        client.mset({f"api:v1:user:{i}": "v" * 64 for i in range(start, min(keys, start + 10_000))})
    load = None
    if busy:
        load = subprocess.Popen(
            ["redis-benchmark", "-p", str(server.port), "-q", "-l", "-P", "16", "-c", "4",
             "-r", str(keys), "-t", "get,set"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    store = tempfile.mkdtemp(prefix="cachewatch-observer-")
    port = free_port()
    watcher = subprocess.Popen(
        [sys.executable, "-m", "monitor", "serve", server.url, "--store", store,
         "--listen", f"127.0.0.1:{port}", "--alerts-state-dir", store],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(warmup)
        before, cpu0, processed0 = _stats(client)
        t0 = time.monotonic()
        time.sleep(seconds)
        after, cpu1, processed1 = _stats(client)
        elapsed = time.monotonic() - t0
    finally:
        watcher.terminate()
        watcher.wait(30)
        if load is not None:
            load.kill()
            load.wait(10)
        client.close()
        server.stop()
    calls0, usec0 = _observer(before)
    calls1, usec1 = _observer(after)
    own_calls = calls1 - calls0 - 1  # this script's second INFO ran before it was counted
    own_usec = usec1 - usec0
    server_cpu = cpu1 - cpu0
    all_ops = (processed1 - processed0 - 1) / elapsed
    name = f"{policy:12s} {'busy' if busy else 'quiet':5s}"
    # where the server's time for cachewatch went, by command (the costliest four)
    costs = sorted(
        (
            (after[c][1] - before.get(c, (0, 0))[1], after[c][0] - before.get(c, (0, 0))[0], c)
            for c in after
            if c.split("|")[0] in _OBSERVER
        ),
        reverse=True,
    )
    top = ", ".join(
        f"{c} {n / elapsed:.1f}/s {us / max(n, 1):.0f} µs" for us, n, c in costs[:4] if n
    )
    print(
        f"{name} cachewatch {own_calls / elapsed:7.1f} cmd/s"
        f" ({100 * own_calls / max(processed1 - processed0, 1):5.2f} % of the server's commands,"
        f" all {all_ops:9.0f}/s);"
        f" server CPU for them {own_usec / elapsed / 1e4:6.3f} % of a core"
        f" ({100 * own_usec / 1e6 / max(server_cpu, 1e-9):5.2f} % of the server's CPU)"
        f"\n    costliest: {top}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=25.0)
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument(
        "--cases", default="lfu-quiet,lfu-busy,lru-quiet,lru-busy", help="which to run"
    )
    args = parser.parse_args()
    os.chdir(Path(__file__).resolve().parent.parent)
    for case in args.cases.split(","):
        policy, load = case.split("-")
        run_case(f"allkeys-{policy}", load == "busy", args.keys, args.seconds, args.warmup)


if __name__ == "__main__":
    main()
