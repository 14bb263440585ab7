"""CPU per Redis poll (INFO + LATENCY LATEST + LATENCY HISTOGRAM + SLOWLOG + store append),
against Debian's prometheus-redis-exporter CPU per scrape of the same servers.

Starts `--servers` real redis-server processes, loads them with redis-benchmark so
commandstats, latency histograms and keyspace are populated, then polls every server
`--rounds` times and divides this process's CPU (time.process_time) by the number of polls.
The exporter's CPU comes from /proc/PID/stat (utime + stime) around the same number of
`/scrape?target=` requests. Prints figures; asserts nothing.

    .venv/bin/python bench/redis_poll_bench.py --servers 20 --rounds 50
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
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
    collector (the slow tier too, from its cache between runs), appending to `store`."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20000, help="redis-benchmark -n each")
    args = parser.parse_args()
    servers: list[LocalRedis] = []
    tmp = Path(tempfile.mkdtemp(prefix="cachewatch-bench-"))
    try:
        for _ in range(args.servers):
            servers.append(LocalRedis().start())
        load(servers, args.requests)
        bare, samples = asyncio.run(measure_ours(servers, args.rounds, None))
        store = open_store(tmp / "store")
        with_store = asyncio.run(measure_ours(servers, args.rounds, store))
        store.close()
        exporter = measure_exporter(servers, args.rounds)
        print(f"servers={args.servers} rounds={args.rounds} samples/poll={samples}")
        print(f"cachewatch CPU per poll, collectors only:     {bare:.3f} ms")
        print(f"cachewatch CPU per poll, + EmbeddedStore append: {with_store[0]:.3f} ms")
        if exporter is not None:
            print(f"prometheus-redis-exporter CPU per scrape:      {exporter:.3f} ms")
            print(f"ratio exporter / cachewatch:                   {exporter / with_store[0]:.1f}x")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
