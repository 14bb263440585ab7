"""TUI benchmark: one refresh of the fleet overview with 50 targets.

    .venv/bin/python bench/tui_bench.py [--shards 20] [--standalone 5] [--memcached 5] [--frames 50]

Uses the recorded synthetic fleet of the snapshot tests (20 shards x 2 + 5 + 5 = 50 targets
by default, 15 minutes at 10 s), written into an embedded store. Prints, per refresh:
- read model: `fleet_overview` (a dozen PromQL queries + the trend range query), which runs
  in the worker thread, off the UI thread;
- frame: `show()` of the new rows inside `batch_update()` plus the repaint that follows,
  on the UI thread (the target is < 50 ms);
Alternate frames use data from two instants, so cells really change.

With `--startup`: time from a fresh interpreter to the first overview showing a local Redis
and memcached as up (imports, engine start, first poll, first refresh), wall and CPU.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.readmodel import fleet_overview
from monitor.store import EmbeddedStore, StoreConfig
from tests.tui.recorded import NOW_MS, recorded_fleet
from ui.tui.app import CachewatchApp
from ui.tui.overview_screen import OverviewScreen


def _figures(name: str, samples_ms: list[float]) -> None:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(
        f"{name}: median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, "
        f"max {ordered[-1]:.1f} ms over {len(ordered)} refreshes"
    )


async def _frames(args: argparse.Namespace) -> None:
    source = recorded_fleet(args.shards, args.standalone, args.memcached)
    store_dir = tempfile.mkdtemp(prefix="tui-bench-")
    source.copy_into(EmbeddedStore.open(Path(store_dir), StoreConfig()))
    targets = len(source.statuses())
    model_ms = []
    snapshots = []
    for index in range(args.frames):
        started = time.process_time()
        snapshots.append(fleet_overview(source, NOW_MS - (index % 2) * 30_000))
        model_ms.append((time.process_time() - started) * 1000)
    print(f"targets: {targets}, terminal {args.width}x{args.height}")
    _figures("read model CPU (worker thread)", model_ms)

    app = CachewatchApp(source, live=False)
    async with app.run_test(size=(args.width, args.height)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        show_ms, frame_ms, frame_cpu_ms = [], [], []
        for rows in snapshots:
            started, cpu_started = time.perf_counter(), time.process_time()
            with app.batch_update():
                screen.show(rows)
            shown = time.perf_counter()
            await pilot.pause()  # let the compositor repaint the changed cells
            frame_ms.append((time.perf_counter() - started) * 1000)
            frame_cpu_ms.append((time.process_time() - cpu_started) * 1000)
            show_ms.append((shown - started) * 1000)
        idle_ms = []
        for _ in snapshots:  # what the same wait costs with nothing to repaint
            started = time.perf_counter()
            await pilot.pause()
            idle_ms.append((time.perf_counter() - started) * 1000)
    shutil.rmtree(store_dir, ignore_errors=True)
    _figures("show() on the UI thread", show_ms)
    _figures("frame (show + repaint)", frame_ms)
    _figures("frame CPU time (what a loaded machine does not inflate)", frame_cpu_ms)
    _figures("idle wait (baseline of the frame figure)", idle_ms)


_STARTUP = """
import asyncio, sys, time
t0 = time.perf_counter(); c0 = time.process_time()
from monitor.config import Config, config_from_urls
from monitor.readmodel import Health, LocalSource
from monitor.runtime import Runtime
from ui.tui.app import CachewatchApp
from ui.tui.fleet_table import FleetTable
imported = time.perf_counter() - t0
config = config_from_urls(sys.argv[1:], Config(), interval_s=1.0, store_path=sys.argv[0])
runtime = Runtime(config)
runtime.start_background()
async def first_screen():
    app = CachewatchApp(LocalSource(runtime), refresh_s=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        while True:
            rows = [s for s in app.screen.query(FleetTable) for s in s.rows_by_key.values()]
            if len(rows) == len(sys.argv) - 1 and all(r.health is Health.UP for r in rows):
                return
            await pilot.pause(0.01)
asyncio.run(first_screen())
print(f"{imported:.3f} {time.perf_counter() - t0:.3f} {time.process_time() - c0:.3f}")
runtime.stop_background()
"""


def _startup() -> None:
    from monitor.localservers import LocalMemcached, LocalRedis

    redis, memcached = LocalRedis().start(), LocalMemcached().start()
    try:
        for _ in range(3):
            with tempfile.TemporaryDirectory(prefix="tui-bench-") as store:
                out = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        _STARTUP.replace("sys.argv[0]", repr(store)),
                        redis.url,
                        memcached.url,
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=Path(__file__).resolve().parents[1],
                ).stdout.split()
            imports, wall, cpu = (float(x) for x in out[-3:])
            print(
                f"first useful screen: {wall:.2f} s wall ({imports:.2f} s of it imports), "
                f"{cpu:.2f} s CPU"
            )
    finally:
        redis.stop()
        memcached.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shards", type=int, default=20)
    parser.add_argument("--standalone", type=int, default=5)
    parser.add_argument("--memcached", type=int, default=5)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--width", type=int, default=160, help="terminal columns")
    parser.add_argument("--height", type=int, default=60, help="terminal rows (60: all visible)")
    parser.add_argument("--startup", action="store_true", help="also time the first screen")
    args = parser.parse_args()
    asyncio.run(_frames(args))
    if args.startup:
        _startup()


if __name__ == "__main__":
    main()
