"""The readers at 1,000 targets, against the same views at 20 targets measured in the same run.

    .venv/bin/python bench/readers_scale_bench.py [--targets 1000] [--reference 20]
        [--hours 2] [--rounds 5] [--skip web,tui,...] [--baseline DIR] [--full-head]

Only the query part, against main's `cachewatch query` in the same run:

    git archive main | tar -x -C /tmp/base
    .venv/bin/python bench/readers_scale_bench.py --skip metrics,alerts,readmodel,web,tui \
        --baseline /tmp/base --rounds 3 [--full-head]

Each fleet is a recorded one (`bench/fleet_fixture.py`): one real poll of a real
redis-server and memcached, replicated with other instance labels (80 % Redis, a quarter of
them cluster nodes; 20 % memcached; 20 `service` labels), `--hours` of 10 s samples ending
now, written into a real embedded store. Printed, for each fleet, with its target:

- `/metrics`: HTTP GET through the exporter's WSGI app on waitress, every target with a new
  poll since the last scrape (target < 1 s);
- `cachewatch query` as a subprocess over the store (read-only, beside the fixture's writer,
  which stays open): `rate(redis_commands_processed_total[5m])` and
  `sum by (cmd) (rate(redis_commands_total[5m]))` (target < 1 s), with its modules compiled
  as an installed package has them; with `--baseline`, another tree's too; and in process,
  the engine alone;
- the default alert pack: one evaluation of every group, CPU;
- the read model: `fleet_overview` (the snapshot every view shares), CPU;
- the web overview: first paint in headless Chromium (navigation start until the first
  page of cards is on screen; target < 2 s) and the refresh callback (target < 200 ms);
- the TUI overview: one frame (new rows + repaint) under Textual's Pilot (target < 50 ms).

Asserts nothing. The machine is shared: read the ratio to the reference, measured in the
same run, as much as the absolute figure.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fleet_fixture import Fleet, Template, build_fleet, capture_templates

from monitor.config import Config
from monitor.exporter import Exposition, Format, SelfMetrics
from monitor.http import make_app, serve_forever
from monitor.model import MetricType, SampleBatch, now_ms
from monitor.poller import TargetStatus
from monitor.readmodel.local import LocalSource
from monitor.store import StoreConfig
from monitor.store.api import StoreHealth
from monitor.targets import Target

ROOT = Path(__file__).resolve().parents[1]
QUERIES = (
    "rate(redis_commands_processed_total[5m])",
    "sum by (cmd) (rate(redis_commands_total[5m]))",
)


class BenchRuntime:
    """What the web UI, the TUI's LocalSource and the exporter read from a `Runtime`."""

    def __init__(self, fleet: Fleet) -> None:
        self.store = fleet.store
        self.config = Config(targets=tuple(fleet.targets))
        self.fleet = None
        self.observer = None
        self._statuses = fleet.statuses()

    def statuses(self) -> list[TargetStatus]:
        return list(self._statuses)

    def latest_batches(self) -> list[SampleBatch]:
        return [s.last_batch for s in self._statuses if s.last_batch is not None]

    def polled_targets(self) -> list[Target]:
        return list(self.config.targets)

    def store_health(self) -> StoreHealth:
        return self.store.health()

    def probe(self, url: str, timeout_s: float = 10.0) -> SampleBatch:
        raise RuntimeError("the benchmark has no live targets")


@dataclass
class Figures:
    rows: list[tuple[str, float, str]] = field(default_factory=list)

    def add(self, name: str, value_ms: float, target: str = "") -> None:
        self.rows.append((name, value_ms, target))
        print(f"    {name:<58} {value_ms:9.1f} ms  {target}", flush=True)


def timed(action: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median wall-clock and CPU (this thread) ms."""
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.thread_time()
        action()
        cpus.append((time.thread_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def bench_metrics(fleet: Fleet, rounds: int, figures: Figures) -> None:
    metadata: dict[str, tuple[MetricType, str]] = fleet.store.metadata()
    self_metrics = SelfMetrics()
    for target in fleet.targets:
        self_metrics.observe_poll(target.instance, 0.002, ok=True)
    generation = [list(fleet.last.values())]

    def next_generation() -> None:
        # every target polled again: new timestamps, every counter moved
        generation[0] = [
            SampleBatch(
                ts_ms=b.ts_ms + 10_000,
                target_labels=b.target_labels,
                names=b.names,
                labels=b.labels,
                values=[v * 1.001 for v in b.values],
                source=b.source,
            )
            for b in generation[0]
        ]

    app = make_app(
        latest_batches=lambda: generation[0], metadata=lambda: metadata, self_metrics=self_metrics
    )
    server = serve_forever(app, "127.0.0.1:0")
    request = urllib.request.Request(server.url + "/metrics", headers={"Accept-Encoding": "gzip"})
    walls = []
    size = 0
    try:
        for index in range(rounds + 1):
            next_generation()
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as response:
                size = len(response.read())
            if index:  # the first scrape fills the exporter's caches
                walls.append((time.perf_counter() - started) * 1000)
    finally:
        server.stop()
    samples = sum(len(b) for b in generation[0])
    # the render alone, on this thread's CPU (the HTTP figure is wall clock on a shared box)
    exposition = Exposition()
    exposition.render([*generation[0], self_metrics.snapshot()], metadata, Format.TEXT)
    cpus = []
    for _ in range(rounds):
        next_generation()
        started = time.thread_time()
        exposition.render([*generation[0], self_metrics.snapshot()], metadata, Format.TEXT)
        cpus.append((time.thread_time() - started) * 1000)
    figures.add("/metrics render alone, every target changed, CPU", statistics.median(cpus))
    print(f"    /metrics document: {samples} samples, {size / 1e6:.1f} MB gzipped", flush=True)
    figures.add(
        "/metrics over HTTP, gzip, every target changed",
        statistics.median(walls),
        "< 1000 ms",
    )


def _query_served(
    fleet: Fleet, store_dir: Path, at: str, expr: str, rounds: int
) -> tuple[list[float], list[float], list[float]]:
    """`cachewatch query` beside a serve of the store: this process writes the fixture's
    store (it holds the lock), so it stands for `serve` here: the same query API (the HTTP
    app `serve` mounts, over the same store) and the same `<store>/SERVE` file."""
    from monitor import servefile

    app = make_app(latest_batches=list, metadata=dict, reader=fleet.store)
    server = serve_forever(app, "127.0.0.1:0")
    announced = servefile.announce(store_dir, server.url, auth=False)
    walls, cpus, server_cpus = [], [], []
    try:
        for _ in range(rounds):
            before = time.process_time()  # the serve's threads: this process's CPU
            wall, cpu = _query_process(ROOT, store_dir, at, expr)
            server_cpus.append((time.process_time() - before) * 1000)
            walls.append(wall)
            cpus.append(cpu)
    finally:
        servefile.withdraw(announced)
        server.stop()
    return walls, cpus, server_cpus


def _query_process(tree: Path, store_dir: Path, at: str, expr: str) -> tuple[float, float]:
    """Wall-clock and CPU ms of one `cachewatch query` process run from the source `tree`."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            "query",
            "--store",
            str(store_dir),
            "--at",
            at,
            "--format",
            "json",
            expr,
        ],
        check=True,
        capture_output=True,
        cwd=tree,  # `-m monitor` imports the tree it runs in
    )
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime) * 1000
    return wall, cpu


def bench_query(
    fleet: Fleet, store_dir: Path, rounds: int, figures: Figures, baseline: Path | None = None
) -> None:
    from monitor.query import Engine

    at = str(fleet.end_ms / 1000)
    trees = [("", ROOT)] + ([("baseline ", baseline)] if baseline is not None else [])
    for tree in (t for _, t in trees):
        # as installed: compiled once (this environment may set PYTHONDONTWRITEBYTECODE)
        for package in ("monitor", "collectors", "alerts", "ui"):
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", package], cwd=tree, check=True
            )
    for expr in QUERIES:
        times: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in trees}
        for _ in range(rounds):  # the trees take turns, so both see the same load
            for name, tree in trees:
                times[name].append(_query_process(tree, store_dir, at, expr))
        for name, _ in trees:
            walls, cpus = zip(*times[name], strict=True)
            figures.add(
                f"{name}cachewatch query {expr} (process)", statistics.median(walls), "< 1000 ms"
            )
            figures.add(f"  {name}the same, process CPU", statistics.median(cpus), "< 1000 ms")
        walls, cpus, server_cpus = _query_served(fleet, store_dir, at, expr, rounds)
        figures.add(
            f"cachewatch query {expr}, a serve holding the store (process)",
            statistics.median(walls),
            "< 1000 ms",
        )
        figures.add("  the same, process CPU", statistics.median(cpus), "< 1000 ms")
        figures.add("  the same, the serve's CPU per answer", statistics.median(server_cpus))
        engine = Engine(fleet.store)

        def instant(expr: str = expr, engine: Engine = engine) -> object:
            return engine.instant(expr, fleet.end_ms)

        _, cpu = timed(instant, rounds)
        figures.add(f"  engine alone, CPU: {expr}", cpu)


def bench_alerts(fleet: Fleet, rounds: int, figures: Figures) -> None:
    from alerts.engine import RuleEngine
    from alerts.querier import EngineQuerier
    from alerts.rules import default_rule_files, load_rule_files

    groups = load_rule_files([str(p) for p in default_rule_files()])
    engine = RuleEngine(groups, EngineQuerier.over(fleet.store, timeout_s=120))

    def evaluate() -> None:
        for group in groups:
            engine.evaluate_group(group, fleet.end_ms)

    _, cpu = timed(evaluate, max(1, rounds // 2))
    rules = sum(len(g.rules) for g in groups)
    figures.add(f"default alert pack, one evaluation ({rules} rules), CPU", cpu)


def bench_readmodel(fleet: Fleet, rounds: int, figures: Figures) -> None:
    from monitor.readmodel.local import LocalSource
    from monitor.readmodel.overview import fleet_overview

    source = LocalSource(BenchRuntime(fleet))
    _, cpu = timed(lambda: fleet_overview(source, fleet.end_ms), rounds)
    figures.add("read model: fleet_overview (with trend), CPU", cpu)


def bench_web(fleet: Fleet, rounds: int, figures: Figures) -> None:
    from tests.web.browser import headless_chromium
    from ui.web.context import PageContext
    from ui.web.data import WebData
    from ui.web.pages import overview
    from ui.web.server import run_web

    runtime = BenchRuntime(fleet)
    server = run_web(runtime, "127.0.0.1:0")
    count = "return document.querySelectorAll('.target-card').length"
    paints = []
    try:
        with headless_chromium() as driver:
            for _ in range(rounds + 1):  # the first load warms the browser's cache
                driver.get("about:blank")
                driver.get(server.url + "/?refresh=off")
                deadline = time.monotonic() + 120
                while driver.execute_script(count) < min(len(fleet.targets), 1):
                    if time.monotonic() > deadline:
                        raise TimeoutError("no card appeared in 120 s")
                    time.sleep(0.01)
                # the first page is complete when it has its cards
                expected = min(len(fleet.targets), overview.PAGE_SIZE)
                while driver.execute_script(count) < expected:
                    time.sleep(0.01)
                paints.append(float(driver.execute_script("return performance.now()")))
    finally:
        server.stop()
    figures.add(
        f"web overview: first paint of page 1 ({expected} cards, Chromium)",
        statistics.median(paints[1:]),
        "< 2000 ms",
    )
    ctx = PageContext(WebData.from_runtime(runtime))
    state: dict[str, Any] = {}

    def tick() -> None:
        nonlocal state
        *_, state = overview.overview_update(ctx, "", state or None)

    tick()
    wall, _ = timed(tick, rounds)
    figures.add("web overview: refresh callback (snapshot read + patch)", wall, "< 200 ms")
    wall, _ = timed(lambda: overview.overview_update(ctx, "", None), rounds)
    figures.add("web overview: callback, whole grid", wall, "< 200 ms")


def bench_tui(fleet: Fleet, rounds: int, figures: Figures) -> None:
    from monitor.readmodel.local import LocalSource
    from monitor.readmodel.overview import fleet_overview
    from ui.tui.app import CachewatchApp
    from ui.tui.overview_screen import OverviewScreen

    source = LocalSource(BenchRuntime(fleet))
    snapshots = [fleet_overview(source, fleet.end_ms - (i % 2) * 30_000) for i in range(2)]

    async def frames() -> tuple[list[float], list[float]]:
        app = CachewatchApp(source, live=False)
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, OverviewScreen)
            walls, cpus = [], []
            for index in range(rounds * 2):
                rows = snapshots[index % 2]
                started, cpu = time.perf_counter(), time.process_time()
                with app.batch_update():
                    screen.show(rows)
                await pilot.pause()
                walls.append((time.perf_counter() - started) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
            return walls, cpus

    walls, cpus = asyncio.run(frames())
    figures.add("TUI overview: frame (show + repaint), wall", statistics.median(walls), "< 50 ms")
    figures.add("TUI overview: frame, CPU", statistics.median(cpus), "< 50 ms")


PARTS = {
    "metrics": bench_metrics,
    "query": bench_query,
    "alerts": bench_alerts,
    "readmodel": bench_readmodel,
    "web": bench_web,
    "tui": bench_tui,
}


def run(
    count: int, hours: float, templates: tuple[Template, Template], args: argparse.Namespace
) -> Figures:
    tmp = Path(tempfile.mkdtemp(prefix=f"cachewatch-readers-{count}-"))
    figures = Figures()
    try:
        started = time.perf_counter()
        end_ms = None
        if args.full_head:  # just before a block cut: the head (and the log) at its largest
            now, block = now_ms(), StoreConfig().block_duration_ms
            end_ms = now - now % block - 10_000
        fleet = build_fleet(
            tmp / "store", count, hours, templates, end_ms=end_ms, progress=count > 100
        )
        stats = fleet.store.stats()
        print(
            f"  {count} targets, {hours:g} h at 10 s: {stats.series} series, "
            f"{stats.samples / 1e6:.0f} M samples, built in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        # every view reads the fleet as of its last poll, as a live one would: building a
        # big fleet takes minutes, and by then a one-minute rate window would be empty
        LocalSource.now_ms = lambda self: fleet.end_ms  # type: ignore[method-assign]
        for name, part in PARTS.items():
            if name in args.skip:
                continue
            if name == "query":
                fleet.store.flush()
                bench_query(fleet, tmp / "store", args.rounds, figures, args.baseline)
            else:
                part(fleet, args.rounds, figures)  # type: ignore[operator]
        fleet.store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--reference", type=int, default=20)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip", default="", help="comma-separated: " + ",".join(PARTS))
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a source tree (`git archive main | tar -x -C DIR`) whose `cachewatch query` is "
        "timed too, on the same stores, taking turns with this tree's",
    )
    parser.add_argument(
        "--full-head",
        action="store_true",
        help="end the fleets just before a block cut, so the head holds a whole block window "
        "(the largest log a read-only open replays); default: end now",
    )
    args = parser.parse_args()
    args.skip = set(filter(None, args.skip.split(",")))
    templates = capture_templates()
    print(
        f"templates: redis {len(templates[0].names)} samples, "
        f"memcached {len(templates[1].names)} samples per poll",
        flush=True,
    )
    print(f"reference: {args.reference} targets", flush=True)
    reference = run(args.reference, args.hours, templates, args)
    print(f"fleet: {args.targets} targets", flush=True)
    big = run(args.targets, args.hours, templates, args)
    print(f"\n{'ms':<72} {args.reference:>8} {args.targets:>8}  ratio  target")
    for (name, ref, _), (_, value, target) in zip(reference.rows, big.rows, strict=True):
        ratio = value / ref if ref else float("nan")
        print(f"{name[:72]:<72} {ref:8.1f} {value:8.1f} {ratio:6.1f}x  {target}")


if __name__ == "__main__":
    main()
