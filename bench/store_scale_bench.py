"""The embedded store at fleet scale: N targets x ~450 INFO-like series, every 10 s.

No servers: batches are synthetic but shaped like a Redis poll (mostly constants and slow
counters with decimal values, some gauges, latency-histogram buckets), each target on its
own phase of the 10 s grid (`--interval`). Simulated time advances one second at a time; each second
appends the batches due in it and calls `maintain(now)` as the runtime does, so WAL flushes,
segment encoding, block cuts (every 10 minutes plus the grace) and, with `--minutes` of 130
or more, a 2-hour raw compaction all happen. CPU (`time.process_time`) is taken around the
appends and around `maintain()` (the batches are built outside), and divided by the polls
appended; memory is the process RSS and an estimate of the head's bytes (open matrices,
sealed and encoded segments, rollups), both sampled every simulated minute.

Each tree runs in its own process, this one and, with `--tree DIR`, a baseline checkout
(`git archive main | tar -x -C DIR`), at the same time so both meet the same machine load;
the figures are printed side by side with their ratios. Prints figures; asserts nothing.

    .venv/bin/python bench/store_scale_bench.py --targets 1000 --minutes 35 --tree DIR
    .venv/bin/python bench/store_scale_bench.py --targets 200 --minutes 135 --tree DIR
    .venv/bin/python bench/store_scale_bench.py --codec   # bulk vs per-column codec
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

T0 = 1_700_006_400_000  # a multiple of 2 h: blocks and compaction windows start here
HERE = Path(__file__).resolve()


class Fleet:
    """Every target's series values, advanced one poll at a time."""

    def __init__(self, targets: int, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        self.rng = rng
        names: list[str] = []
        kinds: list[str] = []

        def add(prefix: str, count: int, kind: str) -> None:
            names.extend(f"{prefix}_{i}" for i in range(count))
            kinds.extend([kind] * count)

        add("redis_config_value", 180, "const")  # CONFIG GET, static INFO fields
        add("redis_keyspace_keys", 20, "const_int")
        add("redis_commands_total", 100, "counter")  # commandstats calls
        add("redis_commands_usec_total", 40, "counter_dec")  # usec with decimals
        add("redis_cpu_seconds_total", 10, "counter_dec6")  # used_cpu_sys: 6 decimals
        add("redis_memory_bytes", 30, "gauge_int")
        add("redis_ratio", 10, "gauge_dec2")  # mem_fragmentation_ratio, hit ratio
        add("redis_latency_bucket", 54, "bucket")  # LATENCY HISTOGRAM, cumulative
        add("redis_latency_sum", 6, "counter_dec")
        self.names = names
        self.kinds = np.array(kinds)
        shape = (targets, len(names))
        self.values = np.zeros(shape)
        self.rates = np.zeros(shape)
        k = self.kinds
        self.values[:, k == "const"] = np.round(
            rng.random((targets, (k == "const").sum())) * 1e4, 1
        )
        self.values[:, k == "const_int"] = rng.integers(
            0, 10**6, (targets, (k == "const_int").sum())
        )
        for kind, scale in (("counter", 1), ("counter_dec", 1), ("counter_dec6", 1), ("bucket", 1)):
            cols = k == kind
            self.values[:, cols] = rng.integers(0, 10**7, (targets, cols.sum()))
            # most commands are idle most of the time
            rate = rng.exponential(20, (targets, cols.sum())) * (
                rng.random((targets, cols.sum())) < 0.4
            )
            self.rates[:, cols] = rate * scale
        self.values[:, k == "gauge_int"] = rng.integers(
            10**6, 10**9, (targets, (k == "gauge_int").sum())
        )

    def step(self) -> np.ndarray:
        rng, k, v = self.rng, self.kinds, self.values
        grow = rng.poisson(self.rates).astype(np.float64)
        for kind in ("counter", "bucket"):
            v[:, k == kind] += grow[:, k == kind]
        dec = k == "counter_dec"
        v[:, dec] = np.round(v[:, dec] + grow[:, dec] * 3.7, 2)
        dec6 = k == "counter_dec6"
        v[:, dec6] = np.round(v[:, dec6] + rng.random((v.shape[0], dec6.sum())) * 0.05, 6)
        gauges = k == "gauge_int"
        moving = rng.random((v.shape[0], gauges.sum())) < 0.5
        v[:, gauges] += np.where(moving, rng.integers(-4096, 4096, moving.shape), 0)
        ratios = k == "gauge_dec2"
        v[:, ratios] = np.round(1 + rng.random((v.shape[0], ratios.sum())), 2)
        return v


def head_bytes(head: Any) -> int:
    """What the head's segments hold, by object (shared dicts counted once); works on the
    baseline's head and on this one's."""
    seen: set[int] = set()
    total = 0

    def once(obj: Any) -> int:
        if id(obj) in seen:
            return 0
        seen.add(id(obj))
        return sys.getsizeof(obj)

    def array(a: np.ndarray) -> int:
        base = a if a.base is None else a.base
        return base.nbytes if id(base) not in seen and not seen.add(id(base)) else 0  # type: ignore[func-returns-value]

    def encoded(seg: Any) -> int:
        if id(seg) in seen:
            return 0
        seen.add(id(seg))
        columns = seg.columns
        size = len(seg.ts_bytes) + sum(map(len, columns)) + 33 * len(columns) + once(columns)
        return size + once(seg.col_of) + array(seg.gids)

    def piece(p: Any) -> int:
        if isinstance(p, tuple):
            return sum(array(a) for a in p)
        if hasattr(p, "columns"):
            return encoded(p)
        return array(p.values) + array(p.ts) + once(p.col_of)

    for state in head.by_tid:
        seg = state.segment
        if seg is not None:
            total += array(seg.matrix) + array(seg.ts) + once(seg.col_of)
        for closed in state.closed:
            total += piece(closed)
    for parts in head.rollups.values():
        for p in parts:
            total += piece(p)
    return total


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker(args: argparse.Namespace) -> dict[str, Any]:
    import monitor.store  # from the tree on PYTHONPATH
    from monitor.model import SampleBatch
    from monitor.store import EmbeddedStore, StoreConfig

    path = Path(tempfile.mkdtemp(prefix="store-scale-"))
    store = EmbeddedStore.open(path, StoreConfig())
    timed = {"cut": 0.0, "compact": 0.0}
    for step in ("cut", "compact"):
        original = getattr(store, f"_{step}")

        def wrapped(*a: Any, _original: Any = original, _step: str = step) -> Any:
            t = time.process_time()
            try:
                return _original(*a)
            finally:
                timed[_step] += time.process_time() - t

        setattr(store, f"_{step}", wrapped)
    fleet = Fleet(args.targets)
    names = fleet.names
    labels: list[tuple[tuple[str, str], ...]] = [()] * len(names)
    target_labels = [
        (("instance", f"10.{t // 250}.{t % 250}.1:6379"),) for t in range(args.targets)
    ]
    # phases quantised to 40 groups per interval, like the scheduler's
    interval = args.interval
    phase_s = (np.arange(args.targets) * 40 // args.targets) * interval * 1000 // 40
    append_cpu = maintain_cpu = 0.0
    polls = 0
    rss_trace: list[float] = []
    head_trace: list[int] = []
    warm = args.warmup_minutes * 60
    values = fleet.step()
    try:
        for second in range(args.minutes * 60):
            now = T0 + second * 1000
            if second % interval == 0:
                values = fleet.step()
            offset = (second % interval) * 1000
            due = np.flatnonzero((phase_s >= offset) & (phase_s < offset + 1000))
            batches = []
            for t in due.tolist():
                batch = SampleBatch(now + int(phase_s[t]) - offset, target_labels[t])
                batch.names = names
                batch.labels = labels
                batch.values = values[t].tolist()
                batches.append(batch)
            c0 = time.process_time()
            for batch in batches:
                store.append(batch)
            c1 = time.process_time()
            store.maintain(now + 999)
            c2 = time.process_time()
            if second >= warm:
                append_cpu += c1 - c0
                maintain_cpu += c2 - c1
                polls += len(batches)
            if second % 60 == 59:
                rss_trace.append(rss_mib())
                head_trace.append(head_bytes(store._head))
    finally:
        store.close()
        raw_blocks = sorted(p.name for p in (path / "raw").glob("*.blk"))
        disk = sum(p.stat().st_size for p in path.rglob("*.blk"))
        shutil.rmtree(path, ignore_errors=True)
    measured_s = args.minutes * 60 - warm
    return {
        "monitor": str(Path(monitor.store.__file__).parents[2]),
        "polls": polls,
        "append_ms_per_poll": append_cpu / polls * 1000,
        "maintain_ms_per_poll": maintain_cpu / polls * 1000,
        "cut_ms_per_poll": timed["cut"] / polls * 1000,
        "compact_s": timed["compact"],
        "core_pct": (append_cpu + maintain_cpu) / measured_s * 100,
        "rss_mib_end": rss_trace[-1] if rss_trace else 0.0,
        "rss_mib_max": max(rss_trace, default=0.0),
        "head_mib_max": max(head_trace, default=0) / 2**20,
        "head_mib_mean": float(np.mean(head_trace)) / 2**20 if head_trace else 0.0,
        "rss_trace": [round(r) for r in rss_trace],
        "head_trace": [round(h / 2**20) for h in head_trace],
        "raw_blocks": len(raw_blocks),
        "block_bytes": disk,
    }


def codec_timing() -> None:
    """The bulk codec against the per-column one on one target's segment, in this tree."""
    from monitor.store.segment import (
        decode_column_filled,
        decode_columns,
        encode_column,
        encode_columns,
    )

    fleet = Fleet(4)
    for rows in (12, 60, 120, 720):
        matrix = np.stack([fleet.step()[1].copy() for _ in range(rows)])
        columns = encode_columns(matrix)
        timings = [
            _cpu_ms(lambda m: [encode_column(m[:, i]) for i in range(m.shape[1])], matrix),
            _cpu_ms(encode_columns, matrix),
            _cpu_ms(lambda r, cs: [decode_column_filled(r, c) for c in cs], rows, columns),
            _cpu_ms(decode_columns, rows, columns),
        ]
        print(
            f"{rows:4d} rows x {matrix.shape[1]} columns: encode {timings[0]:.2f} ms per column "
            f"-> {timings[1]:.2f} ms bulk; decode {timings[2]:.2f} -> {timings[3]:.2f} ms"
        )


def _cpu_ms(work: Any, *args: Any, repeat: int = 20) -> float:
    t = time.process_time()
    for _ in range(repeat):
        work(*args)
    return (time.process_time() - t) / repeat * 1000


def run_tree(tree: Path, args: argparse.Namespace) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    command = [sys.executable, str(HERE), "--worker", "--targets", str(args.targets)]
    command += ["--minutes", str(args.minutes), "--warmup-minutes", str(args.warmup_minutes)]
    command += ["--interval", str(args.interval)]
    return subprocess.Popen(command, env=env, cwd=tree, stdout=subprocess.PIPE, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=35, help="simulated minutes")
    parser.add_argument("--interval", type=int, default=10, help="poll interval, seconds")
    parser.add_argument("--warmup-minutes", type=int, default=1, help="not counted in CPU")
    parser.add_argument("--tree", type=Path, help="a baseline checkout, run at the same time")
    parser.add_argument("--sequential", action="store_true", help="one tree after the other")
    parser.add_argument("--codec", action="store_true", help="time the codecs and stop")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.codec:
        codec_timing()
        return
    if args.worker:
        print(json.dumps(worker(args)))
        return
    trees = [("this", HERE.parents[1])] + ([("baseline", args.tree.resolve())] if args.tree else [])
    started = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    if args.sequential:
        for name, tree in trees:
            out, _ = run_tree(tree, args).communicate()
            results[name] = json.loads(out)
    else:
        procs = {name: run_tree(tree, args) for name, tree in trees}
        for name, proc in procs.items():
            out, _ = proc.communicate()
            results[name] = json.loads(out)
    print(
        f"{args.targets} targets x {len(Fleet(1).names)} series at {args.interval} s, "
        f"{args.minutes} simulated minutes ({time.monotonic() - started:.0f} s wall), "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    keys = [
        "append_ms_per_poll",
        "maintain_ms_per_poll",
        "cut_ms_per_poll",
        "compact_s",
        "core_pct",
        "rss_mib_end",
        "rss_mib_max",
        "head_mib_max",
        "head_mib_mean",
        "raw_blocks",
        "block_bytes",
    ]
    print(
        f"{'':22}"
        + "".join(f"{name:>14}" for name in results)
        + ("     ratio" if args.tree else "")
    )
    for key in keys:
        row = [results[name][key] for name in results]
        line = f"{key:22}" + "".join(
            f"{v:14.3f}" if isinstance(v, float) else f"{v:14d}" for v in row
        )
        if args.tree and row[1]:
            line += f"{row[0] / row[1]:10.2f}"
        print(line)
    for name, result in results.items():
        print(f"{name}: {result['monitor']}")
        print(f"  RSS by minute (MiB): {result['rss_trace']}")
        print(f"  head by minute (MiB): {result['head_trace']}")


if __name__ == "__main__":
    main()
