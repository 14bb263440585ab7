"""CPU per Redis poll (INFO + LATENCY LATEST + LATENCY HISTOGRAM + SLOWLOG + store append),
against Debian's prometheus-redis-exporter CPU per scrape of the same servers.

Starts `--servers` real redis-server processes, loads them with redis-benchmark so
commandstats, latency histograms and keyspace are populated, then polls every server
`--rounds` times (`--repeat` times over, reporting the median: the machine is shared) and
divides this process's CPU (time.process_time) by the number of polls.
The exporter's CPU comes from /proc/PID/stat (utime + stime) around the same number of
`/scrape?target=` requests. Prints figures; asserts nothing.

    .venv/bin/python bench/redis_poll_bench.py --servers 20 --rounds 150 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from monitor.config import Config
from monitor.localservers import LocalRedis, free_port
from monitor.poller import TargetPoller
from monitor.runtime import collector_factory
from monitor.targets import parse_target_url

EXPORTER = "/usr/bin/prometheus-redis-exporter"


def load(servers: list[LocalRedis], requests: int) -> None:
    procs = [
        subprocess.Popen(
            [
                "redis-benchmark",
                "-p",
                str(s.port),
                "-n",
                str(requests),
                "-r",
                "10000",
                "-q",
                "-t",
                "set,get,incr,lpush,hset,lrange_100",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for s in servers
    ]
    for proc in procs:
        proc.wait(300)


def open_store(path: Path) -> Any:
    from monitor.store import EmbeddedStore

    return EmbeddedStore.open(path)


async def measure_ours(servers: list[LocalRedis], rounds: int, store: Any) -> tuple[float, int]:
    """CPU per poll through the real path: `TargetPoller` with every registered Redis
    collector (the slow tier too, from its cache between runs), appending to `store`.

    With a store, `maintain()` runs after every round, as the runtime runs it every second,
    so the figure includes the store's whole cost: WAL flushes and compressing the chunks
    that close during the run (rounds > 120 cross at least one 2-minute chunk boundary)."""
    make = collector_factory(Config())
    pollers = []
    for server in servers:
        target = parse_target_url(server.url, timeout_s=5.0)
        pollers.append(TargetPoller(target, make(target), sink=store))
    base_ms = int(time.time() * 1000)
    for poller in pollers:  # warm-up: connect, probe, first slowlog read, caches
        await poller.poll(base_ms)
    start = time.process_time()
    for round_number in range(1, rounds + 1):
        ts_ms = base_ms + round_number * 1000  # polls 1 s apart, as the scheduler spaces them
        await asyncio.gather(*(p.poll(ts_ms) for p in pollers))
        if store is not None:
            store.maintain(ts_ms)
    cpu = time.process_time() - start
    samples = len(pollers[0].status.last_batch or ())
    for poller in pollers:
        await poller.close()
    return cpu * 1000 / (rounds * len(pollers)), samples


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_exporter(servers: list[LocalRedis], rounds: int) -> float | None:
    if not Path(EXPORTER).exists():
        return None
    port = free_port()
    proc = subprocess.Popen(
        [EXPORTER, "--redis.addr=", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(base + "/metrics", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.05)
        urls = [f"{base}/scrape?target=redis://127.0.0.1:{s.port}" for s in servers]
        for url in urls:  # warm-up
            urllib.request.urlopen(url, timeout=10).read()
        before = proc_cpu_s(proc.pid)
        for _ in range(rounds):
            for url in urls:
                urllib.request.urlopen(url, timeout=10).read()
        return (proc_cpu_s(proc.pid) - before) * 1000 / (rounds * len(urls))
    finally:
        proc.kill()
        proc.wait(5)


def fmt(runs: list[float]) -> str:
    return " ".join(f"{r:.3f}" for r in runs)


def median(runs: list[float]) -> str:
    return f"{statistics.median(runs):.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--requests", type=int, default=5000, help="redis-benchmark -n each")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the median is reported")
    args = parser.parse_args()
    servers: list[LocalRedis] = []
    tmp = Path(tempfile.mkdtemp(prefix="cachewatch-bench-"))
    try:
        for _ in range(args.servers):
            servers.append(LocalRedis().start())
        load(servers, args.requests)
        bare_runs, store_runs, exporter_runs = [], [], []
        for run in range(args.repeat):
            bare, samples = asyncio.run(measure_ours(servers, args.rounds, None))
            store = open_store(tmp / f"store{run}")
            with_store, _ = asyncio.run(measure_ours(servers, args.rounds, store))
            store.close()
            exporter = measure_exporter(servers, args.rounds)
            bare_runs.append(bare)
            store_runs.append(with_store)
            if exporter is not None:
                exporter_runs.append(exporter)
        print(f"servers={args.servers} rounds={args.rounds} samples/poll={samples}")
        print(f"runs (ms): collectors {fmt(bare_runs)}; +store {fmt(store_runs)}; ", end="")
        print(f"exporter {fmt(exporter_runs)}")
        with_store = statistics.median(store_runs)
        print(f"cachewatch CPU per poll, collectors only:          {median(bare_runs)}")
        print(f"cachewatch CPU per poll, + EmbeddedStore (median):  {median(store_runs)}")
        if exporter_runs:
            exporter = statistics.median(exporter_runs)
            print(f"prometheus-redis-exporter CPU per scrape (median): {median(exporter_runs)}")
            print(
                f"ratio exporter / cachewatch:                       {exporter / with_store:.1f}x"
            )
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
