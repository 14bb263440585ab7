"""Query one series over a genuine hour of raw data in the embedded store, and the store's
memory for a fleet's hour.

Appends `--targets` x `--series` counters at synthetic timestamps 1 s apart for `--minutes`
(default 60, plus the 12 minutes a block window waits before it is cut), calling
`maintain(ts)` after every poll as the runtime does, so the older part of the hour is in
on-disk blocks (cut every 10 minutes) and the rest in the head. Then times, median of
`--rounds`:
- `select` of one series over the last hour;
- `rate(x[1m])` at one instant (reads the last minute);
- `rate(x[1m])` and `x` as range queries over the hour at 1 s steps (3600 points);
and prints RSS after the fill. Prints figures; asserts nothing.

    .venv/bin/python bench/store_query_bench.py --targets 200 --series 300
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from monitor.model import Matcher, SampleBatch
from monitor.query import Engine
from monitor.store import EmbeddedStore, StoreConfig

HOUR_MS = 3_600_000
T0 = 1_700_006_400_000  # a multiple of 2 h


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def instance(target: int) -> str:
    return f"10.0.{target // 250}.{target % 250}:6379"


def fill(store: EmbeddedStore, targets: int, series: int, polls: int) -> int:
    names = [f"redis_metric_{i}_total" for i in range(series)]
    rates = np.random.default_rng(7).integers(0, 5000, series)
    labels = [(("instance", instance(t)),) for t in range(targets)]
    for poll in range(polls):
        rng = np.random.default_rng(poll)
        ts = T0 + poll * 1000
        base = rates * poll
        for t in range(targets):
            batch = SampleBatch(ts + int(rng.integers(0, 5)), labels[t])
            batch.names = names
            batch.labels = [()] * series
            batch.values = (base + t).astype(float).tolist()
            store.append(batch)
        store.maintain(ts)
    return T0 + (polls - 1) * 1000


def median_ms(run: Callable[[], object], rounds: int) -> float:
    run()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--minutes", type=int, default=72)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="store-query-bench-"))
    rss0 = rss_mb()
    store = EmbeddedStore.open(path, StoreConfig())
    try:
        started = time.process_time()
        end = fill(store, args.targets, args.series, args.minutes * 60)
        fill_cpu = time.process_time() - started
        rss = rss_mb()
        samples = args.targets * args.series * args.minutes * 60
        blocks = len(list((path / "raw").glob("*.blk")))
        print(
            f"filled {args.targets} targets x {args.series} series x {args.minutes} min at 1 s "
            f"= {samples:,} samples in {fill_cpu:.0f} s CPU ({samples / fill_cpu:,.0f}/s incl. "
            f"maintain); raw blocks on disk: {blocks}"
        )
        print(f"RSS after the fill: {rss:.0f} MB (grew {rss - rss0:.0f} MB)")
        start = end - HOUR_MS
        name = "redis_metric_7_total"
        matchers = [
            Matcher("__name__", "=", name),
            Matcher("instance", "=", instance(args.targets // 2)),
        ]
        (data,) = store.select(matchers, start, end)
        engine = Engine(store)
        selector = f'{name}{{instance="{instance(args.targets // 2)}"}}'
        cases: list[tuple[str, Callable[[], object]]] = [
            (
                f"select 1 h of one series ({data.ts.size} samples)",
                lambda: store.select(matchers, start, end),
            ),
            ("instant rate(x[1m])", lambda: engine.instant(f"rate({selector}[1m])", end)),
            (
                "range rate(x[1m]) 1 h @1s",
                lambda: engine.range(f"rate({selector}[1m])", start, end, 1000),
            ),
            ("range x 1 h @1s", lambda: engine.range(selector, start, end, 1000)),
        ]
        for label, run in cases:
            print(f"{label:<46} {median_ms(run, args.rounds):8.2f} ms (median of {args.rounds})")
    finally:
        store.close()
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
