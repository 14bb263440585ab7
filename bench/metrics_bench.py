"""How long `/metrics` takes to render for 200 targets of ~300 samples each.

    .venv/bin/python bench/metrics_bench.py [--targets 200] [--samples 300] [--rounds 20]

Prints the median milliseconds (wall clock and CPU) of: a cold render (empty cache); a
render where every target has a fresh batch of the same shape (the steady state when polls
are faster than scrapes; every counter and half the gauges changed); a render where no
target changed, the same in OpenMetrics; and the gzip of the document that the HTTP server
adds when the scraper asks for it. The target is < 100 ms.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import time
import urllib.request
from collections.abc import Callable

from monitor.exporter import Exposition, Format, SelfMetrics
from monitor.http import make_app, serve_forever
from monitor.model import MetricType, SampleBatch

_COMMANDS = [f"cmd{i}" for i in range(40)]


def make_batch(target: int, samples: int, tick: int) -> tuple[SampleBatch, dict]:
    batch = SampleBatch(
        ts_ms=1_700_000_000_000 + tick * 1000,
        target_labels=(("instance", f"10.0.{target // 250}.{target % 250}:6379"),),
    )
    metadata: dict[str, tuple[MetricType, str]] = {}
    for cmd in _COMMANDS:
        batch.add("redis_commands_total", float(tick * 7 + len(cmd)), (("cmd", cmd),))
        batch.add("redis_commands_duration_seconds_total", tick * 0.013, (("cmd", cmd),))
    metadata["redis_commands_total"] = (MetricType.COUNTER, "Total number of calls per command")
    metadata["redis_commands_duration_seconds_total"] = (
        MetricType.COUNTER,
        "Total amount of time in seconds spent per command",
    )
    for cmd in _COMMANDS[:5]:
        for bound in ("0.001", "0.01", "0.1", "1", "+Inf"):
            batch.add("redis_latency_seconds_bucket", float(tick), (("cmd", cmd), ("le", bound)))
        batch.add("redis_latency_seconds_sum", tick * 0.5, (("cmd", cmd),))
        batch.add("redis_latency_seconds_count", float(tick), (("cmd", cmd),))
    metadata["redis_latency_seconds"] = (MetricType.HISTOGRAM, "Command latency")
    gauge = 0
    while len(batch) < samples:
        name = f"redis_gauge_{gauge}"
        # half the gauges move every poll, half hold still (configs, info, idle counters)
        batch.add(name, tick * 1.5 + gauge if gauge % 2 else gauge * 1024.0)
        metadata[name] = (MetricType.GAUGE, f"Gauge number {gauge}")
        gauge += 1
    return batch, metadata


def median_ms(action: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds of `action`; on a shared machine the CPU
    figure is the one that says what a render costs."""
    wall, cpu = [], []
    for _ in range(rounds):
        started_wall, started_cpu = time.perf_counter(), time.thread_time()
        action()
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started_wall) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def median_ms_http(
    generations: list[list[SampleBatch]],
    metadata: dict[str, tuple[MetricType, str]],
    self_metrics: SelfMetrics,
    rounds: int,
) -> float:
    """Wall-clock ms of a whole scrape through waitress, every target changed each time
    (CPU is spread over the server's threads, so only wall clock is shown)."""
    ticks = iter(generations)
    current: list[SampleBatch] = next(ticks)
    app = make_app(
        latest_batches=lambda: current, metadata=lambda: metadata, self_metrics=self_metrics
    )
    server = serve_forever(app, "127.0.0.1:0")
    request = urllib.request.Request(server.url + "/metrics", headers={"Accept-Encoding": "gzip"})
    timings = []
    try:
        for _ in range(min(rounds, len(generations) - 1)):
            current = next(ticks)
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        server.stop()
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    metadata: dict[str, tuple[MetricType, str]] = {}
    generations = []
    for tick in range(args.rounds + 1):
        batches = []
        for target in range(args.targets):
            batch, meta = make_batch(target, args.samples, tick)
            metadata.update(meta)
            batches.append(batch)
        generations.append(batches)
    self_metrics = SelfMetrics()
    for target in range(args.targets):
        self_metrics.observe_poll(f"10.0.0.{target}:6379", 0.002, ok=True)

    def render(batches: list[SampleBatch], fmt: Format = Format.TEXT) -> bytes:
        return exposition.render([*batches, self_metrics.snapshot()], metadata, fmt)

    def cold() -> None:
        nonlocal exposition
        exposition = Exposition()
        render(generations[0])

    exposition = Exposition()
    cold_ms = median_ms(cold, args.rounds)
    ticks = iter(generations[1:])
    changed_ms = median_ms(lambda: render(next(ticks)), args.rounds)
    unchanged_ms = median_ms(lambda: render(generations[-1]), args.rounds)
    om_ms = median_ms(lambda: render(generations[-1], Format.OPENMETRICS), args.rounds)
    document = render(generations[-1])
    gzip_ms = median_ms(lambda: gzip.compress(document, compresslevel=1), args.rounds)
    http_ms = (median_ms_http(generations, metadata, self_metrics, args.rounds), float("nan"))
    samples = sum(len(batch) for batch in generations[0])
    print(f"targets={args.targets} samples={samples} document={len(document) / 1e6:.1f} MB")
    rows = [
        ("cold render (empty cache)", cold_ms),
        ("every target changed (steady)", changed_ms),
        ("no target changed", unchanged_ms),
        ("no target changed, OpenMetrics", om_ms),
        ("gzip level 1 of the document", gzip_ms),
        ("HTTP GET /metrics, gzip, steady", http_ms),
    ]
    print(f"{'':34}{'wall ms':>9}{'cpu ms':>9}")
    for label, (wall, cpu) in rows:
        cpu_text = "" if cpu != cpu else f"{cpu:9.1f}"
        print(f"{label:34}{wall:9.1f}{cpu_text}")


if __name__ == "__main__":
    main()
