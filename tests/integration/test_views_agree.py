"""For one store, the TUI, the web dashboard and the CLI show the same numbers.

Seen before: a memcached server at 87.7 % (web) / 99.5 % (CLI) / 14.0M of 16.0M (TUI) at
the same moment. Here real servers fill and evict, the store is then frozen, and all three
views render it at one instant: the TUI's fleet table (in a real terminal app, Pilot), the
web's fleet cards (the page callback) and `cachewatch evictions --at` (a subprocess). Each
number is read back from the text a person sees and compared within its display precision.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from monitor.config import config_from_urls
from monitor.discovery import ClusterTopology
from monitor.model import Event
from monitor.query import Engine
from monitor.readmodel.local import target_state
from monitor.readmodel.source import AlertRow, InstantSample, RangeSeries, TargetState
from monitor.runtime import Runtime
from monitor.store import EmbeddedStore
from tests.loads import fill_memcached, fill_redis, run_loads
from tests.servers import LocalMemcached, LocalRedis
from tests.tui.helpers import until
from ui.tui.app import CachewatchApp
from ui.tui.fleet_table import COLUMNS, FleetTable
from ui.web.context import PageContext
from ui.web.data import WebData
from ui.web.pages.overview import overview_update


class FrozenSource:
    """A `DataSource` over a closed store at one instant: what every view reads."""

    def __init__(self, store: EmbeddedStore, states: list[TargetState], at_ms: int) -> None:
        self.engine = Engine(store)
        self.states = states
        self.at_ms = at_ms

    def now_ms(self) -> int:
        return self.at_ms

    def statuses(self) -> list[TargetState]:
        return list(self.states)

    def instant(self, expr: str, at_ms: int) -> list[InstantSample]:
        return [InstantSample(lb, v) for lb, v in self.engine.instant(expr, at_ms).samples]

    def range(self, expr: str, start: int, end: int, step: int) -> list[RangeSeries]:
        return [
            RangeSeries(lb, tuple(int(t) for t in ts), tuple(float(v) for v in vs))
            for lb, ts, vs in self.engine.range(expr, start, end, step).series
        ]

    def events(self, kind: str, instance: str | None, start: int, limit: int) -> list[Event]:
        return []

    def topologies(self) -> dict[str, ClusterTopology]:
        return {}

    def alerts(self, now_ms: int) -> list[AlertRow]:
        return []

    def silence(self, matchers: dict[str, str], duration_ms: int, comment: str) -> str:
        raise NotImplementedError


def _count(text: str) -> float:
    """A count or rate as either UI prints it: `312`, `1.2k`, `5.6M`, `90.0%`, `90.0 %`."""
    match = re.fullmatch(r"\s*([-\d.]+)\s*([kMG]?)[^\d]*", text)
    assert match, text
    return float(match.group(1)) * {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9}[match.group(2)]


def _bytes(text: str) -> float:
    """Bytes as either UI prints them: `2.9M` (TUI), `2.9 MiB` (web), `512B`, `900 B`."""
    match = re.fullmatch(r"\s*([-\d.]+)\s*([KMGT]?)(i?B)?\s*", text)
    assert match, text
    return float(match.group(1)) * 1024 ** " KMGT".index(match.group(2) or " ")


def _tui_cells(source: FrozenSource) -> dict[str, dict[str, str]]:
    async def run() -> dict[str, dict[str, str]]:
        app = CachewatchApp(source, live=False)
        async with app.run_test(size=(200, 30)) as pilot:
            table = app.screen.query_one(FleetTable)
            await until(pilot, lambda: table.row_count == len(source.states))
            return {
                state.instance: {
                    column.key: cell.plain.strip()
                    for column, cell in zip(COLUMNS, table.cells_of(state.instance), strict=True)
                }
                for state in source.states
            }

    return asyncio.run(run())


def _web_cards(source: FrozenSource) -> dict[str, dict[str, str]]:
    context = PageContext(WebData(source=source, latest_batch=lambda instance: None))
    grid, *_ = overview_update(context, "", None)
    cards: dict[str, dict[str, str]] = {}

    def walk(node: Any, into: dict[str, str]) -> None:
        children = getattr(node, "children", None)
        if getattr(node, "className", "") == "card-metrics":
            for metric in children:
                label, value = (c.children for c in metric.children)
                into[label] = value
            return
        for child in children if isinstance(children, list) else [children]:
            if child is not None and not isinstance(child, str):
                walk(child, into)

    for card in grid:
        if isinstance(getattr(card, "id", None), dict):
            walk(card, cards.setdefault(card.id["instance"], {}))
    return cards


def _cli(store: Path, url: str, at_ms: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "evictions", url, "--store", str(store),
         "--at", f"{at_ms / 1000:.3f}", "--format", "json"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _collect(tmp_path: Path, seconds: float) -> tuple[Path, list[TargetState]]:
    """Real servers filling and evicting, polled every second for `seconds` into a store."""
    redis_server = LocalRedis(extra=["--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru"])
    memcached_server = LocalMemcached(memory_mb=2)
    redis_server.start()
    memcached_server.start()
    store_path = tmp_path / "store"
    config = config_from_urls(
        [redis_server.url, memcached_server.url], interval_s=1.0, store_path=str(store_path)
    )
    runtime = Runtime(config)
    stop, loads = run_loads(
        (fill_redis, (redis_server.port,)), (fill_memcached, (memcached_server.port,))
    )
    runtime.start_background()
    try:
        time.sleep(seconds)
        states = [target_state(status) for status in runtime.statuses()]
    finally:
        stop.set()
        runtime.stop_background()
        for load in loads:
            load.join(10)
        redis_server.stop()
        memcached_server.stop()
    return store_path, states


def _views(store_path: Path, states: list[TargetState], at_ms: int) -> tuple[dict, dict]:  # type: ignore[type-arg]
    store = EmbeddedStore.open(store_path, read_only=True)
    try:
        source = FrozenSource(store, states, at_ms)
        return _tui_cells(source), _web_cards(source)
    finally:
        store.close()


def test_tui_web_and_cli_show_the_same_numbers(tmp_path: Path) -> None:
    store_path, states = _collect(tmp_path, 66)
    at_ms = min(state.last_poll_ms for state in states)
    # a fresh view (40 s of history): rates over the history there is, not a minute's
    # window extrapolated from two thirds of it (which showed evictions at 2/3 of the CLI's)
    young_ms = max(state.up_since_ms for state in states) + 40_000
    tui, _ = _views(store_path, states, young_ms)
    for state in states:
        minute = _cli(store_path, f"{state.kind}://{state.instance}", young_ms)["windows"][0]
        assert minute["status"] == "partial"
        shown = _count(tui[state.instance]["evictions"])
        assert shown == pytest.approx(minute["evictions_per_s"], rel=0.06)
    # a minute in: every view over the same full window
    tui, web = _views(store_path, states, at_ms)
    for state in states:
        cli = _cli(store_path, f"{state.kind}://{state.instance}", at_ms)
        minute = next(w for w in cli["windows"] if w["window"] == "1m")
        assert minute["status"] == "complete"
        (memory,) = cli["memory"]
        row, card = tui[state.instance], web[state.instance]
        # hit ratio: the application's, to the 0.1 % both UIs print
        assert _count(row["hit"]) == pytest.approx(_count(card["hit ratio"]), abs=0.051)
        assert _count(row["hit"]) == pytest.approx(100 * minute["hit_ratio"], abs=0.051)
        # evictions/s over one minute
        shown = _count(row["evictions"])
        assert shown == pytest.approx(_count(card["evictions/s"]), rel=0.06)
        assert shown == pytest.approx(minute["evictions_per_s"], rel=0.06)
        assert shown > 1
        # memory fill: what the server evicts by, the same used and limit everywhere
        used, limit = (_bytes(part) for part in row["memory"].split("/"))
        assert used / limit == pytest.approx(memory["used_ratio"], abs=0.035)
        limit_label = next(label for label in card if label.startswith("memory of"))
        web_fill = _bytes(card[limit_label]) / _bytes(limit_label.removeprefix("memory of"))
        assert web_fill == pytest.approx(memory["used_ratio"], abs=0.035)
