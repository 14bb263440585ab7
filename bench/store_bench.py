"""Store benchmark: ingest rate, bytes/sample on real Redis INFO data, query latency, RSS.

    .venv/bin/python bench/store_bench.py [--targets 200] [--series 300] [--polls 600]

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import redis

from monitor.localservers import LocalRedis
from monitor.model import Matcher, SampleBatch
from monitor.store import EmbeddedStore, StoreConfig

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


def info_floats(info: dict[str, object], prefix: str = "") -> dict[str, float]:
    """Flatten redis-py's parsed INFO ALL into numeric fields."""
    out: dict[str, float] = {}
    for key, value in info.items():
        if isinstance(value, dict):
            out.update(info_floats(value, f"{prefix}{key}_"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[f"{prefix}{key}"] = float(value)
    return out


def bench_real_size(args: argparse.Namespace) -> None:
    server = LocalRedis().start()
    load = subprocess.Popen(
        [
            "redis-benchmark",
            "-p",
            str(server.port),
            "-h",
            "127.0.0.1",
            "-q",
            "-l",
            "-c",
            "4",
            "-n",
            "100000",
            "-t",
            "get,set,incr,lpush",
            "-r",
            "10000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    path = Path(tempfile.mkdtemp(prefix="store-bench-real-"))
    store = EmbeddedStore.open(path, StoreConfig())
    client = redis.Redis(port=server.port)
    try:
        for poll in range(args.real_polls):
            info = client.info("all")
            batch = SampleBatch(T0 + poll * 1000 + poll % 3, (("instance", server.address),))
            for name, value in info_floats(info).items():
                batch.add(f"redis_{name}", value)
            store.append(batch)
            time.sleep(args.real_interval)
        store.maintain(T0 + 10 * 3_600_000)
        stats = store.stats()
        print(
            f"real INFO ALL data: {len(batch)} series x {args.real_polls} polls "
            f"(polled every {args.real_interval}s, stamped 1 s apart): "
            f"{stats.bytes_per_sample:.3f} bytes/sample in raw blocks"
        )
    finally:
        client.close()
        load.kill()
        load.wait()
        store.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--polls", type=int, default=600)
    parser.add_argument("--real-polls", type=int, default=240)
    parser.add_argument("--real-interval", type=float, default=0.25)
    args = parser.parse_args()
    bench_ingest(args)
    bench_real_size(args)


if __name__ == "__main__":
    main()
