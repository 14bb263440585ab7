"""TUI benchmark: one refresh of the fleet overview with 50 targets.

    .venv/bin/python bench/tui_bench.py [--shards 20] [--standalone 5] [--memcached 5] [--frames 50]

Uses the recorded synthetic fleet of the snapshot tests (20 shards x 2 + 5 + 5 = 50 targets
by default, 15 minutes at 10 s), written into an embedded store. Prints, per refresh:
- read model: `fleet_overview` (a dozen PromQL queries + the trend range query), which runs
  in the worker thread, off the UI thread;
- frame: `show()` of the new rows inside `batch_update()` plus the repaint that follows,
  on the UI thread (the target is < 50 ms);
Alternate frames use data from two instants, so cells really change. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
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
        started = time.perf_counter()
        snapshots.append(fleet_overview(source, NOW_MS - (index % 2) * 30_000))
        model_ms.append((time.perf_counter() - started) * 1000)
    print(f"targets: {targets}")
    _figures("read model (worker thread)", model_ms)

    app = CachewatchApp(source, live=False)
    async with app.run_test(size=(160, 60)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        show_ms, frame_ms = [], []
        for rows in snapshots:
            started = time.perf_counter()
            with app.batch_update():
                screen.show(rows)
            shown = time.perf_counter()
            await pilot.pause()  # let the compositor repaint the changed cells
            frame_ms.append((time.perf_counter() - started) * 1000)
            show_ms.append((shown - started) * 1000)
        idle_ms = []
        for _ in snapshots:  # what the same wait costs with nothing to repaint
            started = time.perf_counter()
            await pilot.pause()
            idle_ms.append((time.perf_counter() - started) * 1000)
    shutil.rmtree(store_dir, ignore_errors=True)
    _figures("show() on the UI thread", show_ms)
    _figures("frame (show + repaint)", frame_ms)
    _figures("idle wait (baseline of the frame figure)", idle_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shards", type=int, default=20)
    parser.add_argument("--standalone", type=int, default=5)
    parser.add_argument("--memcached", type=int, default=5)
    parser.add_argument("--frames", type=int, default=50)
    asyncio.run(_frames(parser.parse_args()))


if __name__ == "__main__":
    main()
