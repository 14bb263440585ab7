"""Store benchmark: ingest rate, bytes/sample on really collected data, query latency, RSS.

    .venv/bin/python bench/store_bench.py [--targets 200] [--series 300] [--polls 600]
    .venv/bin/python bench/store_bench.py --only-real [--real-polls 240] [--real-interval 1]

The size figure polls one redis-server under steady traffic through the real collectors at a
real interval (not fast polls stamped 1 s apart, which would understate how much counters
move between samples).

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import redis

from monitor.config import Config
from monitor.localservers import LocalRedis
from monitor.model import Matcher, SampleBatch, now_ms
from monitor.poller import TargetPoller
from monitor.runtime import collector_factory
from monitor.store import EmbeddedStore, StoreConfig
from monitor.targets import parse_target_url

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_poll(targets: int, series: int, poll: int) -> list[SampleBatch]:
    """One poll of every target: counters with per-series rates, a few ms of jitter."""
    rng = np.random.default_rng(poll)
    rates = np.random.default_rng(7).integers(0, 5000, series)
    ts = T0 + poll * 1000
    row = []
    for t in range(targets):
        batch = SampleBatch(ts + int(rng.integers(0, 5)), (("instance", f"10.0.{t}.1:6379"),))
        batch.names = [f"redis_metric_{i}_total" for i in range(series)]
        batch.labels = [()] * series
        batch.values = (rates * poll + t).astype(float).tolist()
        row.append(batch)
    return row


def bench_ingest(args: argparse.Namespace) -> None:
    path = Path(tempfile.mkdtemp(prefix="store-bench-"))
    rss0 = rss_mb()
    store = EmbeddedStore.open(path, StoreConfig())
    samples = 0
    cpu = 0.0
    for poll in range(args.polls):
        batches = synthetic_poll(args.targets, args.series, poll)
        started = time.process_time()
        for batch in batches:
            store.append(batch)
            samples += len(batch)
        store.maintain(batches[0].ts_ms)
        cpu += time.process_time() - started
    print(
        f"ingest: {samples:,} samples in {cpu:.2f} s CPU = {samples / cpu:,.0f} samples/s "
        f"(incl. maintain: WAL flush, chunk compression, block cuts)"
    )
    print(
        f"RSS growth for {args.targets} targets x {args.series} series x {args.polls} polls: "
        f"{rss_mb() - rss0:.0f} MB (peak RSS {rss_mb():.0f} MB)"
    )
    matchers = [
        Matcher("__name__", "=", "redis_metric_7_total"),
        Matcher("instance", "=", "10.0.3.1:6379"),
    ]
    end = T0 + args.polls * 1000
    store.select(matchers, end - 3_600_000, end)
    runs = 50
    started = time.perf_counter()
    for _ in range(runs):
        (data,) = store.select(matchers, end - 3_600_000, end)
    per_query = (time.perf_counter() - started) / runs * 1000
    print(f"query 1 h of one series ({data.ts.size} samples, head+blocks): {per_query:.2f} ms")
    store.close()


def steady_load(port: int, ops_per_s: float, stop: threading.Event) -> None:
    """A modest, steady workload (a few hundred ops/s, not a flat-out benchmark), so counters
    move the way a production server's do between polls."""
    client = redis.Redis(port=port)
    rng = np.random.default_rng(1)
    try:
        while not stop.is_set():
            pipe = client.pipeline(transaction=False)
            for _ in range(int(ops_per_s / 10)):
                key = f"key:{int(rng.zipf(1.3)) % 10_000}"
                match int(rng.integers(0, 4)):
                    case 0:
                        pipe.set(key, "x" * int(rng.integers(1, 200)))
                    case 1:
                        pipe.get(key)
                    case 2:
                        pipe.incr(f"counter:{key}")
                    case _:
                        pipe.lpush(f"list:{int(rng.integers(0, 50))}", "v")
            pipe.execute()
            stop.wait(0.1)
    finally:
        client.close()


async def poll_for_real(url: str, store: EmbeddedStore, polls: int, interval_s: float) -> int:
    """Poll through the real path (`TargetPoller`, every registered collector) on a real
    clock, `interval_s` apart; returns samples in the last batch."""
    target = parse_target_url(url, timeout_s=5.0)
    poller = TargetPoller(target, collector_factory(Config())(target), sink=store)
    started = time.monotonic()
    try:
        for poll in range(polls):
            await asyncio.sleep(max(0.0, started + poll * interval_s - time.monotonic()))
            await poller.poll()
            store.maintain()
    finally:
        await poller.close()
    return len(poller.status.last_batch or ())


def bench_real_size(args: argparse.Namespace) -> None:
    server = LocalRedis().start()
    stop = threading.Event()
    load = threading.Thread(target=steady_load, args=(server.port, args.real_ops, stop))
    load.start()
    path = Path(tempfile.mkdtemp(prefix="store-bench-real-"))
    store = EmbeddedStore.open(path, StoreConfig())
    try:
        series = asyncio.run(poll_for_real(server.url, store, args.real_polls, args.real_interval))
        store.maintain(now_ms() + 10 * 3_600_000)  # cut every block window now
        stats = store.stats()
        print(
            f"real polls via the collectors: {series} series x {args.real_polls} polls at a real "
            f"{args.real_interval:g} s interval, {args.real_ops:g} ops/s of traffic: "
            f"{stats.bytes_per_sample:.3f} bytes/sample in raw blocks"
        )
    finally:
        stop.set()
        load.join()
        store.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--polls", type=int, default=600)
    parser.add_argument("--real-polls", type=int, default=240)
    parser.add_argument("--real-interval", type=float, default=1.0)
    parser.add_argument("--real-ops", type=float, default=300.0, help="traffic, ops/s")
    parser.add_argument("--only-real", action="store_true", help="skip the synthetic ingest")
    args = parser.parse_args()
    if not args.only_real:
        bench_ingest(args)
    bench_real_size(args)


if __name__ == "__main__":
    main()
