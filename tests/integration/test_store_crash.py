"""A writer killed with SIGKILL loses at most its last flush interval; older data is intact."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from monitor.model import Matcher, SampleBatch
from monitor.store import EmbeddedStore, RollupTier, StoreConfig

CONFIG = StoreConfig(
    chunk_duration_ms=10_000,
    block_duration_ms=20_000,
    raw_compact_to_ms=40_000,
    tiers=(RollupTier("10s", 10_000, 86_400_000, 40_000),),
)
T0 = 1_700_000_000_000
WRITER = """
import sys
from pathlib import Path
from monitor.model import SampleBatch
from monitor.store import EmbeddedStore, StoreConfig
from monitor.store import RollupTier
config = StoreConfig(
    chunk_duration_ms=10_000, block_duration_ms=20_000, raw_compact_to_ms=40_000,
    tiers=(RollupTier("10s", 10_000, 86_400_000, 40_000),),
)
store = EmbeddedStore.open(Path(sys.argv[1]), config)
t0 = 1_700_000_000_000
i = 0
while True:
    now = t0 + i * 100
    for target in range(20):
        batch = SampleBatch(now, (("instance", f"t{target}"),))
        for k in range(50):
            batch.add(f"m{k}_total", float(i * (k + 1)))
        store.append(batch)
    store.maintain(now)
    if i % 10 == 0:
        print(now, flush=True)  # every sample up to here was flushed at least one interval ago
    i += 1
"""


def _run_and_kill(path: Path, ticks: int) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    last = 0
    try:
        for _ in range(ticks):
            last = int(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    return last


def test_kill_9_loses_at_most_the_flush_interval(tmp_path: Path) -> None:
    reported = _run_and_kill(tmp_path, 700)
    # Timestamps advance 100 ms per tick on a fake clock; the store flushes every 1000 ms of it.
    durable_until = reported - CONFIG.flush_interval_ms
    store = EmbeddedStore.open(tmp_path, CONFIG)
    try:
        series = store.select([Matcher("__name__", "=~", "m(0|49)_total")], T0, 2**62)
        assert len(series) == 40
        for data in series:
            k = int(data.labels["__name__"][1:-6])
            upto = data.ts[data.ts <= durable_until]
            assert upto.size >= (durable_until - T0) // 100 + 1
            ticks = (data.ts - T0) // 100
            assert np.array_equal(data.values, ticks * float(k + 1))
        assert list((tmp_path / "raw").glob("*.blk")), "the run should have cut blocks"
    finally:
        store.close()


def test_clean_close_loses_nothing(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path, CONFIG)
    for i in range(250):
        batch = SampleBatch(1_700_000_000_000 + i * 100, (("instance", "a"),))
        batch.add("x", float(i))
        store.append(batch)
        store.maintain(1_700_000_000_000 + i * 100)
    store.close()
    store = EmbeddedStore.open(tmp_path, CONFIG)
    (x,) = store.select([Matcher("__name__", "=", "x")], T0, 2**62)
    store.close()
    assert x.values.tolist() == [float(i) for i in range(250)]
