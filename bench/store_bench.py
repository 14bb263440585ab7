"""Store benchmark: ingest rate, bytes/sample on really collected data, query latency, RSS.

    .venv/bin/python bench/store_bench.py [--targets 200] [--series 300] [--polls 600]
    .venv/bin/python bench/store_bench.py --only-real [--real-polls 240] [--real-interval 1]
    .venv/bin/python bench/store_bench.py --span-hours 24 --span-interval 1 --model M.npz

The size figure polls one redis-server under steady traffic through the real collectors at a
real interval (not fast polls stamped 1 s apart, which would understate how much counters
move between samples).

`--span-hours` shows what a user's store looks like after hours of polling, every tier
included, without waiting that long: it records `--model-polls` real polls of a
redis-server under the same traffic (saved to `--model`, reused when it exists, so a run of
another commit stores the same data), then replays them for the whole span on the
scheduler's grid (see `replay_span`). The figure is the bytes of every tier's block files
over the raw samples of the block windows already cut.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import redis

from monitor.config import Config
from monitor.localservers import LocalRedis
from monitor.model import Event, Labels, Matcher, MetricType, SampleBatch, now_ms
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
        # (stats().samples also counts the head's samples ever appended, blocks included)
        sizes = tier_bytes(path)
        raw_samples = sizes["raw"][0] / stats.bytes_per_sample if stats.bytes_per_sample else 1
        every_tier = sum(size for size, _ in sizes.values()) / raw_samples
        print(
            f"real polls via the collectors: {series} series x {args.real_polls} polls at a real "
            f"{args.real_interval:g} s interval, {args.real_ops:g} ops/s of traffic: "
            f"{stats.bytes_per_sample:.3f} bytes/sample in raw blocks, {every_tier:.3f} "
            f"in the blocks of every tier (a store minutes old: one block window per tier)"
        )
    finally:
        stop.set()
        load.join()
        store.close()
        server.stop()


class _Recorder:
    """A poller sink that keeps the batches."""

    def __init__(self) -> None:
        self.batches: list[SampleBatch] = []

    def append(self, batch: SampleBatch) -> None:
        self.batches.append(batch)

    def add_events(self, events: list[Event]) -> None:
        pass


async def _record_polls(url: str, polls: int, interval_s: float) -> list[SampleBatch]:
    target = parse_target_url(url, timeout_s=5.0)
    recorder = _Recorder()
    poller = TargetPoller(target, collector_factory(Config())(target), sink=recorder)
    started = time.monotonic()
    try:
        for poll in range(polls):
            await asyncio.sleep(max(0.0, started + poll * interval_s - time.monotonic()))
            await poller.poll()
    finally:
        await poller.close()
    return recorder.batches


def record_model(path: Path, args: argparse.Namespace) -> None:
    """Poll a redis-server under steady traffic at 1 s and save every series that every
    poll (after a warm-up) carries: names, labels, counter flags, values (polls x series)."""
    server = LocalRedis().start()
    stop = threading.Event()
    load = threading.Thread(target=steady_load, args=(server.port, args.real_ops, stop))
    load.start()
    try:
        batches = asyncio.run(_record_polls(server.url, args.model_polls, 1.0))[5:]
    finally:
        stop.set()
        load.join()
        server.stop()
    metadata: dict[str, tuple[MetricType, str]] = {}
    rows: list[dict[tuple[str, Labels], float]] = []
    for batch in batches:
        metadata.update(batch.metadata)
        keys_of = zip(batch.names, batch.labels, strict=True)
        rows.append(dict(zip(keys_of, batch.values, strict=True)))
    keys = sorted(set.intersection(*(set(row) for row in rows)))
    values = np.array([[row[key] for key in keys] for row in rows], np.float64)
    counter = [
        metadata.get(name, (MetricType.GAUGE, ""))[0] == MetricType.COUNTER
        or name.endswith(("_total", "_count", "_sum", "_bucket"))
        for name, _ in keys
    ]
    np.savez(
        path,
        names=np.array([name for name, _ in keys]),
        labels=np.array([json.dumps(labels) for _, labels in keys]),
        counter=np.array(counter),
        values=values,
    )
    print(f"model: {len(keys)} series x {len(rows)} real polls saved to {path}")


class SpanModel:
    """Realistic values for any number of polls from a few minutes of real ones, per series:

    - a constant field stays constant;
    - a counter (never went down) grows by increases drawn independently each poll: from a
      normal law with the recorded mean and spread when its increases are many-valued (bytes,
      CPU seconds), else from the recorded increases themselves (uptime's 1 s, rare hits);
    - a many-valued gauge (memory, fragmentation, poll duration) is an AR(1) process with the
      recorded mean, spread and poll-to-poll correlation;
    - a few-valued gauge (clients, flags) walks randomly over the recorded polls, so it
      changes as rarely as it did.

    Values are made as scaled decimal integers where the recorded ones were decimals, so they
    print like INFO's. Nothing repeats periodically or is drawn from a small set where the
    real value is noisy: either would flatter deflate (a first version, which walked over the
    recorded polls for every series, measured a third of the real bytes)."""

    MANY = 20

    def __init__(self, path: Path) -> None:
        data = np.load(path)
        self.names = [str(n) for n in data["names"]]
        self.labels = [tuple(tuple(p) for p in json.loads(str(x))) for x in data["labels"]]
        self.values = values = data["values"]
        self.polls = values.shape[0]
        self.decimals = np.array([_decimals(values[:, i]) for i in range(values.shape[1])])
        self.scale = 10.0 ** np.maximum(self.decimals, 0)
        scaled = np.where(self.decimals >= 0, np.round(values * self.scale), values)
        moves = np.diff(scaled, axis=0)
        varies = np.ptp(values, axis=0) > 0
        distinct = np.array([np.unique(values[:, i]).size for i in range(values.shape[1])])
        self.is_counter = varies & (self.decimals >= 0) & np.all(moves >= 0, axis=0)
        gauge = varies & ~self.is_counter
        self.ar = gauge & (distinct > self.MANY)
        self.walked = gauge & ~self.ar
        self.moves = moves
        self.scaled = scaled
        steps_distinct = np.array([np.unique(moves[:, i]).size for i in range(moves.shape[1])])
        self.normal = self.is_counter & (steps_distinct > self.MANY)
        mean = scaled.mean(axis=0)
        spread = scaled.std(axis=0)
        centred = scaled - mean
        lag1 = (centred[1:] * centred[:-1]).sum(axis=0) / np.maximum(
            (centred**2).sum(axis=0), 1e-300
        )
        self.ar_mean, self.ar_spread = mean, spread
        #: the step a value moves by (memory moves in pages: 4096)
        offsets = np.abs(np.where(self.decimals >= 0, scaled - scaled[0], 0)).astype(np.int64)
        self.quantum = np.maximum(np.gcd.reduce(offsets, axis=0), 1).astype(np.float64)
        self.ar_rho = np.clip(lag1, 0.0, 0.999)

    def stream(self, seed: int, rows: int, every: int) -> Iterator[np.ndarray]:
        """`rows` polls `every` seconds apart, in pieces of at most an hour's polls."""
        rng = np.random.default_rng(seed)
        counters, ar, walked = (np.flatnonzero(m) for m in (self.is_counter, self.ar, self.walked))
        normal = self.normal[counters]
        totals = self.scaled[0, counters].astype(np.int64)
        level = self.scaled[0, ar]
        rho = self.ar_rho[ar] ** every
        noise = self.ar_spread[ar] * np.sqrt(1 - rho**2)
        rounded = self.decimals[ar] >= 0
        quantum = self.quantum[ar]
        floor = np.where(self.values[:, ar].min(axis=0) >= 0, 0.0, -np.inf)
        last = self.polls - 1
        position = int(rng.integers(0, last))
        step_mean = self.moves[:, counters].mean(axis=0)[normal]
        step_spread = self.moves[:, counters].std(axis=0)[normal]
        done = 0
        while done < rows:
            n = min(3600, rows - done)
            out = np.repeat(self.values[:1], n, axis=0)
            picks = rng.integers(0, self.polls - 1, (n, every))
            drawn = self.moves[:, counters][picks].sum(axis=1)
            gaussian = rng.normal(
                step_mean * every, step_spread * np.sqrt(every), (n, normal.sum())
            )
            quantum_normal = self.quantum[counters][normal]
            drawn[:, normal] = np.maximum(np.round(gaussian / quantum_normal) * quantum_normal, 0)
            grown = totals + np.cumsum(drawn.astype(np.int64), axis=0)
            totals = grown[-1]
            out[:, counters] = grown / self.scale[counters]
            shocks = rng.normal(0.0, 1.0, (n, ar.size)) * noise
            mean = self.ar_mean[ar]
            for i in range(n):
                level = mean + rho * (level - mean) + shocks[i]
                quantised = np.round(level / quantum) * quantum / self.scale[ar]
                out[i, ar] = np.maximum(np.where(rounded, quantised, level), floor)
            walk = (position + np.cumsum(rng.choice((-1, 1), n * every))) % (2 * last)
            walk = last - np.abs(last - walk)  # reflected at both ends
            position = int(walk[-1])
            out[:, walked] = self.values[walk[every - 1 :: every]][:, walked]
            done += n
            yield out


def _decimals(column: np.ndarray) -> int:
    for decimals in range(7):
        factor = 10.0**decimals
        scaled = np.round(column * factor)
        if np.all(np.abs(scaled) < 2**53) and np.array_equal(scaled / factor, column):
            return decimals
    return -1


def tier_bytes(path: Path) -> dict[str, tuple[int, int]]:
    """Bytes and files of each tier's blocks."""
    out = {}
    for tier in sorted(p.name for p in path.iterdir() if p.is_dir() and p.name != "wal"):
        files = list((path / tier).glob("*.blk"))
        out[tier] = (sum(f.stat().st_size for f in files), len(files))
    return out


def replay_span(args: argparse.Namespace) -> None:
    model_path = Path(args.model)
    if not model_path.exists():
        record_model(model_path, args)
    model = SpanModel(model_path)
    interval_ms = int(args.span_interval * 1000)
    rows = int(args.span_hours * 3_600_000 // interval_ms)
    start = T0 - T0 % (2 * 86_400_000) + int(args.span_offset_hours * 3_600_000)
    path = Path(tempfile.mkdtemp(prefix="store-bench-span-"))
    store = EmbeddedStore.open(path, StoreConfig())
    checkpoints = sorted(int(h * 3_600_000 // interval_ms) for h in args.report_hours)
    streams = [model.stream(seed, rows, interval_ms // 1000) for seed in range(args.span_targets)]
    series = len(model.names)
    ingested: list[int] = []  # samples per row, all targets
    print(
        f"span: {args.span_targets} targets x {series} series ({int(model.is_counter.sum())} "
        f"counters) at {args.span_interval:g} s for {args.span_hours:g} h from "
        f"{start} (tier bytes / raw samples of the windows cut)"
    )
    print("age h | raw | 10s | 1m | all tiers | files raw/10s/1m | maintain CPU s")
    cpu = 0.0
    row = 0
    for pieces in zip(*streams, strict=True):
        for i in range(pieces[0].shape[0]):
            ts = start + row * interval_ms
            for target, piece in enumerate(pieces):
                batch = SampleBatch(ts + target * 37, (("instance", f"10.0.0.{target}:6379"),))
                batch.names = model.names
                batch.labels = model.labels
                batch.values = piece[i].tolist()
                store.append(batch)
            ingested.append(series * len(pieces))
            row += 1
            if row % max(1, 10_000 // interval_ms) == 0 or row in checkpoints:
                began = time.process_time()
                store.maintain(ts + 1000)
                cpu += time.process_time() - began
            if row in checkpoints:
                _report_span(path, start, interval_ms, ingested, row, cpu)
    store.close()


def _report_span(
    path: Path, start: int, interval_ms: int, ingested: list[int], row: int, cpu: float
) -> None:
    sizes = tier_bytes(path)
    cut_end = max((int(f.stem.split("-")[1]) for f in (path / "raw").glob("*.blk")), default=start)
    samples = sum(ingested[: max(0, (cut_end - start + interval_ms - 1) // interval_ms)])
    per = {tier: size / samples if samples else 0.0 for tier, (size, _) in sizes.items()}
    files = "/".join(str(sizes.get(t, (0, 0))[1]) for t in ("raw", "10s", "1m"))
    print(
        f"{row * interval_ms / 3_600_000:5.1f} | {per.get('raw', 0):.3f} | "
        f"{per.get('10s', 0):.3f} | {per.get('1m', 0):.3f} | **{sum(per.values()):.3f}** | "
        f"{files} | {cpu:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--polls", type=int, default=600)
    parser.add_argument("--real-polls", type=int, default=240)
    parser.add_argument("--real-interval", type=float, default=1.0)
    parser.add_argument("--real-ops", type=float, default=300.0, help="traffic, ops/s")
    parser.add_argument("--only-real", action="store_true", help="skip the synthetic ingest")
    parser.add_argument("--span-hours", type=float, default=0.0, help="replay this long, only")
    parser.add_argument("--span-interval", type=float, default=1.0, help="poll interval, s")
    parser.add_argument("--span-targets", type=int, default=2)
    parser.add_argument(
        "--span-offset-hours",
        type=float,
        default=7.0,
        help="start this long after a 2-day (1m tier file) boundary",
    )
    parser.add_argument("--report-hours", type=float, nargs="+", default=[2, 6, 12, 24])
    parser.add_argument("--model", default="store-span-model.npz", help="recorded polls")
    parser.add_argument("--model-polls", type=int, default=605, help="first 5 dropped")
    args = parser.parse_args()
    if args.span_hours:
        replay_span(args)
        return
    if not args.only_real:
        bench_ingest(args)
    bench_real_size(args)


if __name__ == "__main__":
    main()
