"""Charts that follow the clock. The first render sends whole figures; each refresh after
that sends only the steps that elapsed since (`Graph.extendData`, trimmed to the window by
`maxPoints`). Anything that changes what a chart means (target, range, step, theme) sends
whole figures again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import dash
import numpy as np

from monitor.durations import parse_duration
from monitor.query import QueryError
from monitor.readmodel.latency import QUANTILES, LatencyHistogram, latency_histogram
from monitor.readmodel.source import DataSource
from ui.web.charts import (
    ChartSpec,
    Frame,
    Trace,
    empty_figure,
    extend_payload,
    frame_for,
    line_figure,
    plan_step,
    time_labels,
    traces_of,
)
from ui.web.latency import bucket_labels
from ui.web.panels import LATENCY_HEATMAP, LATENCY_PERCENTILES
from ui.web.theme import Theme

__all__ = ["LiveCharts", "ChartsUpdate"]


@dataclass(frozen=True, slots=True)
class ChartsUpdate:
    figures: list[Any]  # a figure or dash.no_update per chart
    extends: list[Any]  # an extendData payload or dash.no_update per chart
    state: dict[str, Any]
    error: str | None = None


@dataclass(frozen=True, slots=True)
class LiveCharts:
    source: DataSource
    specs: Sequence[ChartSpec]
    selector: str
    interval_s: float

    def update(
        self,
        range_s: int,
        theme: Theme,
        width_px: int,
        state: dict[str, Any] | None,
        from_tick: bool,
        identity: str = "",
    ) -> ChartsUpdate:
        step = plan_step(range_s, width_px, self.interval_s)
        frame = frame_for(range_s, self.source.now_ms(), step, self.interval_s)
        key = [identity, self.selector, range_s, step, theme.name, [s.id for s in self.specs]]
        count = len(self.specs)
        if from_tick and state and state.get("key") == key:
            if frame.end_ms <= state["end"]:
                return ChartsUpdate([dash.no_update] * count, [dash.no_update] * count, state)
            return self._extend(frame, state)
        return self._full(frame, theme, key)

    def _full(self, frame: Frame, theme: Theme, key: list[Any]) -> ChartsUpdate:
        figures: list[Any] = []
        names: dict[str, list[str]] = {}
        errors: list[str] = []
        cache: dict[str, Any] = {}
        for spec in self.specs:
            try:
                figure, shown = self._figure(spec, frame, theme, cache)
            except QueryError as exc:
                errors.append(f"{spec.title}: {exc}")
                figure, shown = empty_figure(theme, "Query failed"), []
            figures.append(figure)
            names[spec.id] = shown
        state = {"key": key, "end": frame.end_ms, "names": names, "points": len(frame.steps)}
        return ChartsUpdate(
            figures, [dash.no_update] * len(self.specs), state, "; ".join(errors) or None
        )

    def _extend(self, frame: Frame, state: dict[str, Any]) -> ChartsUpdate:
        tail = replace(frame, start_ms=state["end"] + frame.step_ms)
        extends: list[Any] = []
        cache: dict[str, Any] = {}
        for spec in self.specs:
            shown = state["names"].get(spec.id) or []
            if not shown:
                extends.append(dash.no_update)
                continue
            try:
                extends.append(self._tail(spec, tail, shown, state["points"], cache))
            except QueryError:
                extends.append(dash.no_update)
        new_state = {**state, "end": frame.end_ms}
        return ChartsUpdate([dash.no_update] * len(self.specs), extends, new_state)

    # -- one chart -----------------------------------------------------------------------

    def _query(self, expr: str | Callable[[str, str], str], frame: Frame) -> Any:
        if callable(expr):
            text = expr(self.selector, frame.rate_window)
        else:
            text = expr.format(sel=self.selector, w=frame.rate_window)
        return self.source.range(text, frame.start_ms, frame.end_ms, frame.step_ms)

    def _histogram(self, frame: Frame, cache: dict[str, Any]) -> LatencyHistogram:
        if "histogram" not in cache:
            window_ms = round(parse_duration(frame.rate_window) * 1000)
            cache["histogram"] = latency_histogram(
                self.source, self.selector, frame.start_ms, frame.end_ms, frame.step_ms, window_ms
            )
        return cache["histogram"]  # type: ignore[no-any-return]

    def _traces(
        self, spec: ChartSpec, frame: Frame, keep: Sequence[str] | None, cache: dict[str, Any]
    ) -> list[Trace]:
        if spec.id == LATENCY_PERCENTILES:
            histogram = self._histogram(frame, cache)
            if not histogram.bounds.size:
                return []
            return [Trace(name, histogram.quantile(q)) for name, q in QUANTILES]
        results = [self._query(q.expr, frame) for q in spec.queries]
        return traces_of(spec, results, frame, keep)

    def _figure(
        self, spec: ChartSpec, frame: Frame, theme: Theme, cache: dict[str, Any]
    ) -> tuple[dict[str, Any], list[str]]:
        if spec.id == LATENCY_HEATMAP:
            histogram = self._histogram(frame, cache)
            if not histogram.bounds.size:
                return empty_figure(theme, "No latency histogram (Redis 7.0+ with calls)"), []
            return heatmap_figure(histogram, frame, theme), bucket_labels(histogram)
        traces = self._traces(spec, frame, None, cache)
        if not traces or not any(np.isfinite(t.values).any() for t in traces):
            return empty_figure(theme, "No data in this range"), []
        return line_figure(spec, traces, frame, theme), [t.name for t in traces]

    def _tail(
        self, spec: ChartSpec, tail: Frame, shown: Sequence[str], points: int, cache: dict[str, Any]
    ) -> Any:
        if spec.id == LATENCY_HEATMAP:
            histogram = self._histogram(tail, cache)
            if bucket_labels(histogram) != list(shown):
                return dash.no_update  # a new bucket appeared: the next full render shows it
            return [{"x": [time_labels(tail.steps)], "z": [_columns(histogram)]}, [0], points]
        traces = self._traces(spec, tail, shown, cache)
        return extend_payload(traces, tail, points, drop_missing=spec.stacked)


def _columns(histogram: LatencyHistogram) -> list[list[float | None]]:
    return [
        [None if not math.isfinite(v) else round(float(v), 3) for v in column]
        for column in histogram.per_second.T
    ]


def heatmap_figure(histogram: LatencyHistogram, frame: Frame, theme: Theme) -> dict[str, Any]:
    layout = theme.plotly_layout()
    layout["yaxis"] = {**layout["yaxis"], "type": "category", "rangemode": None}
    layout["hovermode"] = "closest"
    return {
        "data": [
            {
                "type": "heatmap",
                "x": time_labels(frame.steps),
                "y": bucket_labels(histogram),
                "z": _columns(histogram),
                "transpose": True,
                "colorscale": [list(stop) for stop in theme.heatmap],
                "showscale": False,
                "zmin": 0,
                "hovertemplate": "%{x}<br>%{y}: %{z:.3~s} calls/s<extra></extra>",
            }
        ],
        "layout": layout,
    }
