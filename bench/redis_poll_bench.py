"""CPU per Redis poll (INFO + LATENCY LATEST + LATENCY HISTOGRAM + SLOWLOG [+ store append]),
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
import logging
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from collectors.base import CollectContext, Unsupported
from collectors.redis_conn import RedisConnection
from collectors.redis_info import InfoCollector
from collectors.redis_latency import LatencyHistogramCollector, LatencyLatestCollector
from collectors.redis_probe import probe
from collectors.redis_slowlog import SlowlogCollector
from monitor.localservers import LocalRedis, free_port
from monitor.model import SampleBatch
from monitor.targets import parse_target_url

POLLED = (InfoCollector, LatencyLatestCollector, LatencyHistogramCollector, SlowlogCollector)
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
    try:
        from monitor.store.embedded import EmbeddedStore
    except ImportError:
        return None
    return EmbeddedStore.open(path)


class Target:
    def __init__(self, conn: RedisConnection, ctx: CollectContext) -> None:
        self.conn = conn
        self.ctx = ctx
        self.collectors = [cls() for cls in POLLED]
        self.samples = 0

    async def poll(self, store: Any) -> None:
        out = SampleBatch(
            ts_ms=int(time.time() * 1000), target_labels=(("instance", self.conn.target.instance),)
        )
        for collector in self.collectors:
            try:
                await collector.collect(self.conn, self.ctx, out)
            except Unsupported:
                continue
        self.ctx.events.clear()
        self.samples = len(out)
        if store is not None:
            store.append(out)


async def measure_ours(servers: list[LocalRedis], rounds: int, store: Any) -> tuple[float, int]:
    targets = []
    for server in servers:
        conn = await RedisConnection.open(parse_target_url(server.url))
        ctx = CollectContext(
            target=conn.target, capabilities=await probe(conn), log=logging.getLogger("bench")
        )
        targets.append(Target(conn, ctx))
    for target in targets:  # warm-up: first slowlog poll, caches
        await target.poll(store)
    start = time.process_time()
    for _ in range(rounds):
        await asyncio.gather(*(t.poll(store) for t in targets))
    cpu = time.process_time() - start
    for target in targets:
        await target.conn.close()
    return cpu * 1000 / (rounds * len(targets)), targets[0].samples


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
        with_store = asyncio.run(measure_ours(servers, args.rounds, store)) if store else None
        if store is not None:
            store.close()
        exporter = measure_exporter(servers, args.rounds)
        print(f"servers={args.servers} rounds={args.rounds} samples/poll={samples}")
        print(f"cachewatch CPU per poll, collectors only:     {bare:.3f} ms")
        if with_store is not None:
            print(f"cachewatch CPU per poll, + EmbeddedStore append: {with_store[0]:.3f} ms")
        if exporter is not None:
            print(f"prometheus-redis-exporter CPU per scrape:      {exporter:.3f} ms")
            ours = with_store[0] if with_store is not None else bare
            print(f"ratio exporter / cachewatch:                   {exporter / ours:.1f}x")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
