"""How fast the PromQL engine answers, over the in-memory reader and the embedded store.

    .venv/bin/python bench/query_bench.py [--rounds 20] [--series 200]

Prints the median milliseconds of:
- `rate(x[1m])` at an instant, one series of 1 h at 1 s (target < 5 ms);
- `x` and `rate(x[1m])` as range queries over that series, 1 h at 1 s steps;
- `sum by (instance) (rate(redis_commands_processed_total[1m]))` over `--series` series of
  1 h at 1 s, range 1 h at 15 s steps;
- the same grouped query at one instant.
Each over a MemoryReader and over an EmbeddedStore in a temporary directory (head only, and
after the samples were cut into on-disk blocks).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from monitor.model import SampleBatch
from monitor.query import Engine, MemoryReader
from monitor.store import EmbeddedStore
from monitor.store.api import SeriesReader

HOUR_MS = 3600_000
START_MS = (int(time.time() * 1000) // HOUR_MS - 6) * HOUR_MS
END_MS = START_MS + HOUR_MS


def _series_values(i: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(i)
    return np.cumsum(rng.poisson(50, n)).astype(np.float64)


def fill_memory(series: int) -> MemoryReader:
    reader = MemoryReader()
    ts = np.arange(START_MS, END_MS, 1000, dtype=np.int64)
    reader.add_series({"__name__": "x", "instance": "one"}, ts, _series_values(0, len(ts)))
    for i in range(series):
        reader.add_series(
            {
                "__name__": "redis_commands_processed_total",
                "instance": f"10.0.0.{i % 50}:6379",
                "shard": str(i),
            },
            ts,
            _series_values(i + 1, len(ts)),
        )
    return reader


def fill_store(path: Path, series: int, cut_blocks: bool) -> EmbeddedStore:
    store = EmbeddedStore.open(path)
    n = HOUR_MS // 1000
    single = _series_values(0, n)
    values = np.array([_series_values(i + 1, n) for i in range(series)])
    for k in range(n):
        ts = START_MS + k * 1000
        one = SampleBatch(ts, (("instance", "one"),))
        one.add("x", float(single[k]))
        store.append(one)
        for i in range(series):
            batch = SampleBatch(ts, (("instance", f"10.0.0.{i % 50}:6379"), ("shard", str(i))))
            batch.add("redis_commands_processed_total", float(values[i, k]))
            store.append(batch)
    if cut_blocks:
        store.maintain(END_MS + HOUR_MS)
    return store


def median_ms(run: Callable[[], object], rounds: int) -> float:
    run()  # warm caches, as a dashboard refresh would find them
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def report(name: str, reader: SeriesReader, rounds: int, series: int) -> None:
    engine = Engine(reader)
    grouped = "sum by (instance) (rate(redis_commands_processed_total[1m]))"
    cases = [
        ("rate(x[1m]) instant, 1 series", lambda: engine.instant("rate(x[1m])", END_MS)),
        ("x range 1h @1s, 1 series", lambda: engine.range("x", START_MS, END_MS, 1000)),
        (
            "rate(x[1m]) range 1h @1s, 1 series",
            lambda: engine.range("rate(x[1m])", START_MS, END_MS, 1000),
        ),
        (
            f"sum by (instance)(rate[1m]) range 1h @15s, {series} series",
            lambda: engine.range(grouped, START_MS, END_MS, 15_000),
        ),
        (
            f"sum by (instance)(rate[1m]) instant, {series} series",
            lambda: engine.instant(grouped, END_MS),
        ),
    ]
    for label, run in cases:
        print(f"{name:<14} {label:<52} {median_ms(run, rounds):9.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--series", type=int, default=200)
    args = parser.parse_args()
    report("memory", fill_memory(args.series), args.rounds, args.series)
    with tempfile.TemporaryDirectory() as tmp:
        store = fill_store(Path(tmp) / "head", args.series, cut_blocks=False)
        report("store (head)", store, args.rounds, args.series)
        store.close()
        store = fill_store(Path(tmp) / "blocks", args.series, cut_blocks=True)
        report("store (blocks)", store, args.rounds, args.series)
        store.close()


if __name__ == "__main__":
    main()
