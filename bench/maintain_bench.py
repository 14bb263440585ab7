"""How long store maintenance stalls appends: block cuts and raw compaction at fleet scale.

Appends `--targets` x `--series` samples per poll at synthetic timestamps 1 s apart (with
1 s of `--minutes` of data), calling `maintain(ts)` after every poll as the runtime does.
Whenever maintain() has real work (a block cut, a compaction) it runs in a worker thread
while this thread plays the polling loop: it appends the next poll's batches one by one
(as the event loop does) and records how long each `append` took. The longest such append
is the stall a poll would see; the longest hold of the store's lock inside maintain() is
the part of it the store controls (the rest is the GIL and the OS scheduler). Prints
figures; asserts nothing.

    .venv/bin/python bench/maintain_bench.py --targets 200 --series 300 --minutes 13
    .venv/bin/python bench/maintain_bench.py --targets 50 --series 300 --minutes 133
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from soak_bench import TimedLock  # bench/ is on sys.path when run as a script

from monitor.model import SampleBatch
from monitor.store import EmbeddedStore, StoreConfig

T0 = 1_700_006_400_000  # a multiple of 2 h: blocks and compaction windows start here


def poll_batches(targets: int, series: int, poll: int, names: list[str]) -> list[SampleBatch]:
    rng = np.random.default_rng(poll)
    rates = np.random.default_rng(7).integers(0, 5000, series)
    ts = T0 + poll * 1000
    out = []
    for t in range(targets):
        batch = SampleBatch(ts + int(rng.integers(0, 5)), (("instance", f"10.0.{t}.1:6379"),))
        batch.names = names
        batch.labels = [()] * series
        batch.values = (rates * poll + t).astype(float).tolist()
        out.append(batch)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--minutes", type=int, default=13)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="maintain-bench-"))
    store = EmbeddedStore.open(path, StoreConfig())
    lock = TimedLock(store._lock)
    store._lock = lock  # type: ignore[assignment]
    names = [f"redis_metric_{i}_total" for i in range(args.series)]
    polls = args.minutes * 60
    raw_dir = path / "raw"
    #: maintain s, max append ms, p99 append ms, blocks, longest lock hold ms
    busy: list[tuple[float, float, float, int, float]] = []
    try:
        poll = 0
        plain_worst = 0.0
        config = store.config
        wait_ms = config.block_duration_ms + config.chunk_duration_ms
        while poll < polls:
            batches = poll_batches(args.targets, args.series, poll, names)
            for batch in batches:
                t = time.perf_counter()
                store.append(batch)
                plain_worst = max(plain_worst, (time.perf_counter() - t) * 1000)
            now = batches[0].ts_ms
            blocks_before = len(list(raw_dir.glob("*.blk")))
            due = [b for b in store._head.pending_blocks() if b + wait_ms <= now]
            poll += 1
            if not due:
                store.maintain(now)
                continue
            holds_before = len(lock.holds)
            worker = threading.Thread(target=store.maintain, args=(now,), name="maintain")
            started = time.perf_counter()
            worker.start()
            stalls: list[float] = []
            while worker.is_alive():
                for batch in poll_batches(args.targets, args.series, poll, names):
                    t = time.perf_counter()
                    store.append(batch)
                    stalls.append((time.perf_counter() - t) * 1000)
                    if not worker.is_alive():
                        break
                poll += 1
            worker.join()
            took = time.perf_counter() - started
            stalls.sort()
            blocks = len(list(raw_dir.glob("*.blk"))) - blocks_before
            held = max(h for name, h in lock.holds[holds_before:] if name == "maintain") * 1000
            busy.append((took, stalls[-1], stalls[int(len(stalls) * 0.99)], blocks, held))
    finally:
        store.close()
        shutil.rmtree(path, ignore_errors=True)
    print(f"targets={args.targets} series={args.series} minutes={args.minutes} (1 s polls)")
    print(f"longest append outside maintain() (chunk closes happen here): {plain_worst:.1f} ms")
    for took, worst, p99, blocks, held in busy:
        print(
            f"maintain with work: {took * 1000:8.1f} ms wall, lock held at most {held:6.1f} ms; "
            f"appends meanwhile: max {worst:7.1f} ms, p99 {p99:6.2f} ms; raw blocks {blocks:+d}"
        )


if __name__ == "__main__":
    main()
