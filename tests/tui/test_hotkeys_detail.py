"""The detail view's hot-key table on a local runtime: the live detector report with real key
names (after the configured mask), rates with their error and method, not the `#rank` series."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from textual.widgets import Static

from monitor.config import Config, config_from_urls
from monitor.hotkeys_runner import HotKeysRunner, RunningHotKeys
from monitor.readmodel import LocalSource, Window, target_detail
from monitor.runtime import Runtime
from tests.loads import fill_keys, run_loads, zipf_keys, zipf_load
from tests.servers import LocalRedis
from tests.tui.helpers import until
from ui.tui.app import CachewatchApp
from ui.tui.detail_screen import DetailScreen
from ui.tui.vim_table import VimTable

HOT = ("user:alpha", "user:bravo", "user:charlie")


def _skewed_gets(port: int, stop: threading.Event) -> None:
    """GETs where the i-th key is requested ~1/i^1.2 as often: the HOT keys lead."""
    client = redis.Redis(port=port)
    keys = list(HOT) + [f"other:{i}" for i in range(1000)]
    client.mset(dict.fromkeys(keys, "x"))
    weights = [(rank + 1) ** -1.2 for rank in range(len(keys))]
    chooser = random.Random(7)
    while not stop.is_set():
        pipe = client.pipeline(transaction=False)
        for key in chooser.choices(keys, weights, k=200):
            pipe.get(key)
        pipe.execute()
    client.close()


@pytest.fixture
def lfu_source(tmp_path: Path) -> Iterator[tuple[LocalSource, str]]:
    server = LocalRedis(extra=["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lfu"]).start()
    stop = threading.Event()
    load = threading.Thread(target=_skewed_gets, args=(server.port, stop), daemon=True)
    load.start()
    # key names stay out of the series: the table must not depend on them
    runner = HotKeysRunner(
        # this thread's load is small: the default 2 % of it ranks 1,000 keys slowly
        {
            "command_floor": 1000,
            "top": 5,
            "mask_regex": "^user:(.*)$",
            "mask_replacement": "u:<\\1>",
        }
    )
    config = config_from_urls(
        [server.url], Config(), interval_s=1.0, store_path=str(tmp_path / "store")
    )
    runtime = Runtime(config)
    runtime.on_started(runner.start)
    runtime.on_stopping(runner.stop)
    runtime.start_background()
    try:
        yield LocalSource(runtime, hotkeys=RunningHotKeys(runtime, runner)), server.address
    finally:
        stop.set()
        runtime.stop_background()
        load.join(5)
        server.stop()


def _masked_hot_rows(source: LocalSource, instance: str, wait_s: float = 40) -> set[str]:
    deadline = time.monotonic() + wait_s
    shown: set[str] = set()
    while time.monotonic() < deadline:
        detail = target_detail(source, instance, Window.M5, with_charts=False)
        assert detail is not None
        shown = {row.key for row in detail.hot_keys}
        if {"u:<alpha>", "u:<bravo>", "u:<charlie>"} <= shown:
            return shown
        time.sleep(0.5)
    raise AssertionError(f"hot keys not shown by name within {wait_s:g}s: {shown}")


def test_detail_shows_live_hot_keys_by_masked_name(lfu_source: tuple[LocalSource, str]) -> None:
    source, instance = lfu_source
    _masked_hot_rows(source, instance)
    detail = target_detail(source, instance, Window.M5, with_charts=False)
    assert detail is not None
    assert not any(row.key.startswith("user:") for row in detail.hot_keys + detail.big_keys)
    assert not any(row.key.startswith("#") for row in detail.hot_keys)
    assert [row.rank for row in detail.hot_keys] == list(range(1, len(detail.hot_keys) + 1))
    top = detail.hot_keys[0]
    assert top.method == "lfu" and top.value > 0 and top.error is not None
    assert all(row.type == "string" for row in detail.big_keys)
    # the series carry no key names (export_key_names is off): the table did not read them
    series = source.instant(
        f'cachewatch_hotkey_ops_per_second{{instance="{instance}"}}', source.now_ms()
    )
    assert all("key" not in s.labels for s in series)

    async def scenario() -> None:
        app = CachewatchApp(source, refresh_s=0.2)
        async with app.run_test(size=(140, 40)) as pilot:
            app.push_screen(DetailScreen(instance))
            await until(pilot, lambda: getattr(app.screen, "detail", None) is not None)
            app.screen.query_one("#tabs").active = "keys"  # type: ignore[attr-defined]
            table = app.screen.query_one("#hotkeys-table", VimTable)
            await until(pilot, lambda: table.row_count > 0)
            names = {str(table.get_row_at(i)[1]) for i in range(table.row_count)}
            assert names & {"u:<alpha>", "u:<bravo>", "u:<charlie>"}
            assert [str(c.label) for c in table.columns.values()][:4] == [
                "rank",
                "hot key",
                "ops/s",
                "±",
            ]

    asyncio.run(scenario())


def test_detail_says_why_no_hot_keys_are_ranked_and_samples_now(tmp_path: Path) -> None:
    # noeviction, background MONITOR off: the detector has no method, says so, and a person
    # pressing x gets a bounded MONITOR sample now
    server = LocalRedis().start()
    keys = zipf_keys(500)
    fill_keys(server.port, keys)
    stop, threads = run_loads((zipf_load, (server.port, keys)))
    runner = HotKeysRunner({"top": 5, "request_duration": "2s"})
    config = config_from_urls(
        [server.url], Config(), interval_s=1.0, store_path=str(tmp_path / "store")
    )
    runtime = Runtime(config)
    runtime.on_started(runner.start)
    runtime.on_stopping(runner.stop)
    runtime.start_background()
    try:
        source = LocalSource(runtime, hotkeys=RunningHotKeys(runtime, runner))

        def notes() -> tuple[str, ...]:
            detail = target_detail(source, server.address, Window.M5, with_charts=False)
            return () if detail is None else detail.hot_key_notes

        deadline = time.monotonic() + 20
        while not notes() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert any("maxmemory-policy is 'noeviction'" in note for note in notes())

        async def scenario() -> None:
            app = CachewatchApp(source, refresh_s=0.2)
            async with app.run_test(size=(140, 40)) as pilot:
                app.push_screen(DetailScreen(server.address))
                await until(pilot, lambda: getattr(app.screen, "detail", None) is not None)
                app.screen.query_one("#tabs").active = "keys"  # type: ignore[attr-defined]
                shown = app.screen.query_one("#hotkeys-notes", Static)
                await until(pilot, lambda: "noeviction" in str(shown.render()))
                assert "background MONITOR bursts are off" in str(shown.render())
                assert "sample now" in str(shown.render())
                head = app.screen.query_one("#hotkeys-sampled", Static)
                table = app.screen.query_one("#hotkeys-table", VimTable)
                for _ in range(3):  # the in-process load can starve on a loaded machine: again
                    before = str(head.render())
                    await pilot.press("x")
                    # "sampling" while it runs; a quick sample may be over before a refresh
                    # shows that, so a new "sampled now" line counts too
                    await until(
                        pilot,
                        lambda b=before: (
                            "sampling" in (now := str(head.render()))  # type: ignore[misc]
                            or (now != b and "sampled now" in now)
                        ),
                    )
                    await until(pilot, lambda: "sampled now" in str(head.render()), 30)
                    if table.row_count >= 3:
                        break
                assert "monitor over" in str(head.render()) and "commands" in str(head.render())
                assert table.row_count >= 3, str(head.render())
                assert keys[0] in {str(table.get_row_at(i)[1]) for i in range(table.row_count)}
                patterns = app.screen.query_one("#patterns-table", VimTable)
                assert patterns.row_count == 2

        asyncio.run(scenario())
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        runtime.stop_background()
        server.stop()
