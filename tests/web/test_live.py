"""Live updates send only what changed: whole figures on the first render, then only the
new steps (`extendData`); the overview sends nothing when no card changed. Over the TUI's
recorded fleet, with a clock the test moves."""

from __future__ import annotations

from typing import Any

import dash

from monitor.readmodel import queries as q
from tests.tui.recorded import CLUSTER, NOW_MS, recorded_fleet
from ui.web.context import PageContext
from ui.web.data import WebData
from ui.web.live import LiveCharts
from ui.web.pages.overview import overview_update
from ui.web.panels import REDIS_CHARTS
from ui.web.theme import THEMES


class Clock:
    """The recorded source with `now_ms` under the test's control."""

    def __init__(self, source: Any, now_ms: int) -> None:
        self._source = source
        self.now = now_ms

    def now_ms(self) -> int:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)


def charts(clock: Clock) -> LiveCharts:
    return LiveCharts(clock, REDIS_CHARTS, q.selector(CLUSTER), interval_s=10.0)


def test_a_tick_sends_only_the_steps_that_elapsed() -> None:
    clock = Clock(recorded_fleet(), NOW_MS - 120_000)
    live = charts(clock)
    first = live.update(300, THEMES["dark"], 600, None, from_tick=False)
    assert all(isinstance(f, dict) for f in first.figures)
    assert all(e is dash.no_update for e in first.extends)
    drawn = [f for f in first.figures if f["data"]]
    assert len(drawn) >= 6

    clock.now += 10_000  # one step later
    tick = live.update(300, THEMES["dark"], 600, first.state, from_tick=True)
    assert all(f is dash.no_update for f in tick.figures)
    sent = [e for e in tick.extends if e is not dash.no_update]
    assert sent, "a tick one step later must extend the charts"
    for update, indices, max_points in sent:
        assert all(len(xs) == 1 for xs in update["x"])  # exactly the one new step
        assert len(indices) == len(update["x"])
        assert max_points == first.state["points"]

    same = live.update(300, THEMES["dark"], 600, tick.state, from_tick=True)
    assert all(e is dash.no_update for e in same.extends)  # nothing elapsed: nothing sent


def test_what_changes_the_meaning_of_a_chart_redraws_it() -> None:
    clock = Clock(recorded_fleet(), NOW_MS - 120_000)
    live = charts(clock)
    first = live.update(300, THEMES["dark"], 600, None, from_tick=False)
    clock.now += 10_000
    for range_s, theme in ((900, "dark"), (300, "light")):
        redraw = live.update(range_s, THEMES[theme], 600, first.state, from_tick=True)
        assert all(isinstance(f, dict) for f in redraw.figures)


def test_the_overview_sends_nothing_when_no_card_changed() -> None:
    source = recorded_fleet()
    ctx = PageContext(WebData(source=source, latest_batch=lambda _instance: None, interval_s=3600))
    grid, _stats, _updated, state = overview_update(ctx, "?range=1h", None)
    assert isinstance(grid, list) and len(grid) == len(state["keys"])
    assert any(key.startswith("card:") for key in state["keys"])
    again, _, _, same_state = overview_update(ctx, "?range=1h", state)
    assert again is dash.no_update
    assert same_state == state
    filtered, *_ = overview_update(ctx, "?range=1h&filter=role=replica", state)
    assert isinstance(filtered, list)  # a different set of cards: the grid is re-sent
