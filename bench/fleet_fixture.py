"""A recorded fleet of N targets, written straight into a real embedded store, for the
reader benchmarks (`bench/readers_scale_bench.py`).

The series are the collectors' own: one real poll of a real redis-server (after a little
traffic of a dozen commands, so the per-command counters and latency buckets exist) and of a
real memcached is taken as the template, then replicated with other `instance` labels and
user labels (`service` on every target; `cluster`/`shard`/`role` on a quarter of the Redis
targets, in clusters of three primary/replica pairs). Counters grow at a steady per-target
rate with a slow wave (every counter of a target by the same factor, so histogram buckets
stay cumulative and buckets that were 0 stay 0, as sparse buckets do); gauges wave a few
percent around the template's value.

Samples are written 10 s apart for `hours` ending at `end_ms`, with `maintain()` run on the
simulated clock, so the store holds what a real one would after that long: compacted raw
blocks, rollups, and a head of the last minutes.
"""

from __future__ import annotations

import math
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.config import Config
from monitor.localservers import LocalMemcached, LocalRedis
from monitor.model import Labels, MetricType, SampleBatch, now_ms
from monitor.poller import TargetStatus
from monitor.runtime import Runtime
from monitor.store import EmbeddedStore, StoreConfig
from monitor.store.blockfile import block_name, write_block
from monitor.store.segment import encode_segment
from monitor.store.series_index import SeriesIndex, SeriesKey
from monitor.targets import Target, TargetKind

__all__ = ["Fleet", "Template", "capture_templates", "build_fleet", "INTERVAL_S"]

INTERVAL_S = 10.0
_COUNTER_SUFFIXES = ("_total", "_bucket", "_count", "_sum")
_TRAFFIC = (
    "SET k{i} v{i}",
    "GET k{i}",
    "GET missing{i}",
    "INCR n{i}",
    "EXPIRE k{i} 3600",
    "HSET h{i} f v",
    "HGET h{i} f",
    "LPUSH l{i} a",
    "LRANGE l{i} 0 10",
    "MGET k{i} k1 k2",
    "DEL n{i}",
    "EXISTS k{i}",
)


@dataclass(frozen=True)
class Template:
    """One real poll: its series and which of them are counters."""

    kind: TargetKind
    names: list[str]
    labels: list[Labels]
    values: np.ndarray
    counter: np.ndarray  # bool per sample
    decimals: np.ndarray  # per sample: 0 for a whole number, else 3
    metadata: dict[str, tuple[MetricType, str]]


@dataclass
class Fleet:
    store: EmbeddedStore
    targets: list[Target]
    last: dict[str, SampleBatch]  # instance -> its newest poll
    end_ms: int

    def statuses(self) -> list[TargetStatus]:
        start = self.end_ms - 3600_000
        return [
            TargetStatus(
                t,
                up=True,
                last_poll_ms=self.end_ms,
                last_batch=self.last[t.instance],
                up_since_ms=start,
            )
            for t in self.targets
        ]


def _template(batch: SampleBatch, kind: TargetKind) -> Template:
    metadata = dict(batch.metadata)
    counter = np.array(
        [
            n.endswith(_COUNTER_SUFFIXES)
            or metadata.get(n, (MetricType.GAUGE, ""))[0] == MetricType.COUNTER
            for n in batch.names
        ]
    )
    return Template(
        kind,
        list(batch.names),
        list(batch.labels),
        np.array(batch.values, np.float64),
        counter,
        np.array([0 if float(v).is_integer() else 3 for v in batch.values]),
        metadata,
    )


def capture_templates() -> tuple[Template, Template]:
    """Poll a fresh redis-server (after some traffic) and memcached once each."""
    redis, memcached = LocalRedis().start(), LocalMemcached().start()
    try:
        with socket.create_connection(("127.0.0.1", redis.port)) as sock:
            for i in range(300):
                sock.sendall(b"".join(_inline(c.format(i=i)) for c in _TRAFFIC))
            _drain(sock)
        with socket.create_connection(("127.0.0.1", memcached.port)) as sock:
            for i in range(300):
                sock.sendall(f"set k{i} 0 0 1\r\nx\r\nget k{i}\r\nget m{i}\r\n".encode())
            _drain(sock)
        runtime = Runtime(Config())
        return (
            _template(runtime.probe(redis.url), TargetKind.REDIS),
            _template(runtime.probe(memcached.url), TargetKind.MEMCACHED),
        )
    finally:
        redis.stop()
        memcached.stop()


def _inline(command: str) -> bytes:
    return (command + "\r\n").encode()


def _drain(sock: socket.socket) -> None:
    sock.settimeout(0.3)
    try:
        while sock.recv(1 << 16):
            pass
    except TimeoutError:
        pass


def fleet_targets(count: int) -> list[Target]:
    """80 % Redis (a quarter of them cluster nodes), 20 % memcached; 20 services."""
    targets = []
    for i in range(count):
        host = f"10.{i // 250}.{(i // 50) % 5}.{i % 50 + 10}"
        labels: list[tuple[str, str]] = [("service", f"svc-{i % 20:02d}")]
        if i % 5 == 4:
            targets.append(
                Target(TargetKind.MEMCACHED, host=host, port=11211, labels=tuple(labels))
            )
            continue
        if i % 4 == 0:
            node = (i // 4) % 6
            shard = node // 2
            labels += [
                ("cluster", f"cluster-{i // 24:02d}"),
                ("role", "master" if node % 2 == 0 else "slave"),
                ("shard", f"{shard * 5461}-{shard * 5461 + 5460}"),
            ]
        targets.append(Target(TargetKind.REDIS, host=host, port=6379, labels=tuple(labels)))
    return targets


class _Values:
    """The recorded values of every target at any tick, from its template."""

    def __init__(self, targets: list[Target], templates: tuple[Template, Template]) -> None:
        self.targets = targets
        self.templates = templates
        rng = np.random.default_rng(7)
        count = len(targets)
        # per target: its counter rate (per tick, relative to the template), phase, size
        self.rates = rng.uniform(0.002, 0.02, count)
        self.phases = rng.uniform(0, 2 * math.pi, count)
        self.scale = rng.uniform(0.5, 3.0, count)

    def template(self, i: int) -> Template:
        redis, memcached = self.templates
        return redis if self.targets[i].kind is TargetKind.REDIS else memcached

    def growth(self, i: int, ticks: np.ndarray) -> np.ndarray:
        """Counter factor at each tick: 1 + the integral of a rate with a slow wave."""
        t = ticks.astype(np.float64)
        phase = self.phases[i]
        # integral of rate * (1 + 0.3 sin(t/30 + phase)) dt
        wave = 0.3 * 30 * (np.cos(phase) - np.cos(t / 30 + phase))
        return 1 + self.rates[i] * (t + wave)

    def matrix(self, i: int, ticks: np.ndarray) -> np.ndarray:
        tpl = self.template(i)
        gauge = 1 + 0.05 * np.sin(ticks / 50 + self.phases[i])
        counters = tpl.values * self.scale[i]
        # counters are integers (or the template's precision), as a server reports them
        unit = 10.0 ** tpl.decimals[None, :]
        raw = np.where(
            tpl.counter[None, :],
            counters[None, :] * self.growth(i, ticks)[:, None],
            tpl.values[None, :] * gauge[:, None],
        )
        return np.round(raw * unit) / unit


def _series_key(target: Target, name: str, labels: Labels) -> SeriesKey:
    """The key the head gives a sample of this target (`Head._gid`)."""
    merged = dict(labels)
    merged.update(target.series_labels())
    merged["__name__"] = name
    return tuple(sorted(merged.items()))


def _write_history(
    path: Path, values: _Values, windows: list[tuple[int, int]], first_ts: int, step: int
) -> None:
    """Raw blocks for the older history, one segment per target per block (as the writer
    would have after compaction), so the fixture does not spend an hour compressing 2-minute
    chunks one by one."""
    index = SeriesIndex()
    gids = []
    for i, target in enumerate(values.targets):
        tpl = values.template(i)
        keys = [_series_key(target, n, lb) for n, lb in zip(tpl.names, tpl.labels, strict=True)]
        gids.append(np.array([index.intern(k) for k in keys], np.int64))
    (path / "raw").mkdir(parents=True, exist_ok=True)
    for start, end in windows:
        ticks = np.arange(
            (start - first_ts + step - 1) // step, (end - first_ts + step - 1) // step
        )
        ticks = ticks[ticks >= 0]
        if ticks.size == 0:
            continue
        ts = first_ts + ticks * step
        segments = [encode_segment(gids[i], ts, values.matrix(i, ticks)) for i in range(len(gids))]
        write_block(
            path / "raw" / block_name(start, end),
            "raw",
            start,
            end,
            segments,
            index.keys.__getitem__,
        )


def build_fleet(
    path: Path,
    count: int,
    hours: float,
    templates: tuple[Template, Template],
    end_ms: int | None = None,
    progress: bool = False,
) -> Fleet:
    """`hours` of polls ending at `end_ms` (default now): raw blocks for all but the current
    10-minute block window (one per 2 h window, then 10-minute blocks for the last half
    hour), which goes through the head as polls would."""
    end = now_ms() if end_ms is None else end_ms
    step = int(INTERVAL_S * 1000)
    end -= end % step
    ticks = int(hours * 3600 / INTERVAL_S)
    first_ts = end - (ticks - 1) * step
    config = StoreConfig()
    block = config.block_duration_ms
    span = config.raw_compact_to_ms
    head_from = end - end % block
    recent = max(first_ts, head_from - block)
    recent -= recent % block
    windows = []
    cursor = first_ts - first_ts % block
    while cursor < recent:
        window_end = min(cursor - cursor % span + span, recent)
        windows.append((cursor, window_end))
        cursor = window_end
    windows += [(b, b + block) for b in range(recent, head_from, block)]
    targets = fleet_targets(count)
    values = _Values(targets, templates)
    started = time.monotonic()
    _write_history(path, values, windows, first_ts, step)
    if progress:
        print(f"  history: {len(windows)} blocks in {time.monotonic() - started:.0f} s", flush=True)
    store = EmbeddedStore.open(path, config)
    store.register_metadata({**templates[0].metadata, **templates[1].metadata})
    last: dict[str, SampleBatch] = {}
    first_head_tick = max(0, (head_from - first_ts + step - 1) // step)
    for tick in range(first_head_tick, ticks):
        ts = first_ts + tick * step
        for i, target in enumerate(targets):
            tpl = values.template(i)
            batch = SampleBatch(
                ts_ms=ts,
                target_labels=target.series_labels(),
                names=tpl.names,
                labels=tpl.labels,
                values=values.matrix(i, np.array([tick]))[0].tolist(),
                source=target.store_source,
            )
            store.append(batch)
            last[target.instance] = batch
        store.maintain(ts)
    store.maintain(end)
    store.flush()
    if progress:
        print(f"  head and maintenance: {time.monotonic() - started:.0f} s", flush=True)
    return Fleet(store, targets, last, end)
