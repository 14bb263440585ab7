"""Charts as plain Plotly figure dicts, built from read-model range series, and the
incremental form a live refresh sends (`extendData`: only the new points).

A chart asks for about one point per two pixels of its width (`plan_step`), never finer
than the poll interval, so a 7-day window costs the same to draw as a 5-minute one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.readmodel.source import RangeSeries
from monitor.readmodel.windows import chart_rate_window_s, rate_window_text
from ui.web.theme import Theme
from ui.web.units import PLOTLY_TICK_SUFFIX, Unit

__all__ = [
    "SeriesQuery",
    "ChartSpec",
    "Trace",
    "Frame",
    "plan_step",
    "frame_for",
    "time_labels",
    "traces_of",
    "line_figure",
    "extend_payload",
    "empty_figure",
    "blank_figure",
    "trace_volume",
    "on_grid",
]

_NICE_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400)
_MIN_POINTS, _MAX_POINTS = 60, 800


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """One PromQL expression of a chart: a template whose `{sel}` is replaced by the target's
    label matchers and `{w}` by the rate window, or the read model's builder called with
    the two; `legend` names each resulting series (`{label}` placeholders take the series'
    labels)."""

    expr: str | Callable[[str, str], str]
    legend: str
    dash: str = "solid"


@dataclass(frozen=True, slots=True)
class ChartSpec:
    id: str
    title: str
    unit: str
    queries: tuple[SeriesQuery, ...]
    stacked: bool = False
    #: the rest are dropped, biggest first by their mean, so a legend stays readable
    max_traces: int = 8


@dataclass(frozen=True, slots=True)
class Trace:
    name: str
    values: np.ndarray  # float64 on the frame's step grid, NaN where missing
    dash: str = "solid"


@dataclass(frozen=True, slots=True)
class Frame:
    """A step grid: `start_ms`, `start_ms + step_ms`, ..., `end_ms` (all multiples of step)."""

    start_ms: int
    end_ms: int
    step_ms: int
    rate_window: str

    @property
    def steps(self) -> np.ndarray:
        return np.arange(self.start_ms, self.end_ms + 1, self.step_ms, dtype=np.int64)


def plan_step(range_s: float, width_px: int | None, interval_s: float) -> int:
    """Step in ms: about one point per two pixels, rounded up to a readable step."""
    points = max(_MIN_POINTS, min(_MAX_POINTS, (width_px or 1200) // 2))
    wanted = max(range_s / points, interval_s)
    for nice in _NICE_STEPS_S:
        if nice >= wanted:
            return nice * 1000
    return math.ceil(wanted) * 1000


def frame_for(range_s: float, now_ms: int, step_ms: int, interval_s: float) -> Frame:
    end = now_ms - now_ms % step_ms
    start = end - int(range_s * 1000)
    start -= start % step_ms
    return Frame(start, end, step_ms, rate_window_text(chart_rate_window_s(step_ms, interval_s)))


def time_labels(steps: np.ndarray) -> list[str]:
    """Step times as the server's local wall-clock text, which Plotly shows as given."""
    offset_ms = -time.timezone * 1000 if not time.localtime().tm_isdst else -time.altzone * 1000
    stamps = (steps + offset_ms).astype("datetime64[ms]")
    return [str(s) for s in np.datetime_as_string(stamps, unit="s")]


def _legend(template: str, labels: dict[str, str] | Any) -> str:
    try:
        return template.format_map(_DefaultDict(labels))
    except (ValueError, IndexError):
        return template


class _DefaultDict(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def on_grid(series: RangeSeries, steps: np.ndarray) -> np.ndarray:
    values = np.full(len(steps), np.nan)
    if not series.ts_ms:
        return values
    ts = np.asarray(series.ts_ms, dtype=np.int64)
    index = np.searchsorted(steps, ts)
    inside = (index < len(steps)) & (steps[np.minimum(index, len(steps) - 1)] == ts)
    values[index[inside]] = np.asarray(series.values, dtype=np.float64)[inside]
    return values


def trace_volume(trace: Trace) -> float:
    """The mean of a trace's points (0 without any): how big it draws."""
    finite = trace.values[np.isfinite(trace.values)]
    return float(finite.mean()) if finite.size else 0.0


def traces_of(
    spec: ChartSpec,
    results: Sequence[Sequence[RangeSeries]],
    frame: Frame,
    keep: Sequence[str] | None = None,
) -> list[Trace]:
    """One trace per resulting series, named by the legends. `keep` (the names already
    drawn) fixes the set and order; otherwise each query's series come biggest first (the
    bottom of a stack) and only the first `max_traces` are kept."""
    steps = frame.steps
    traces: list[Trace] = []
    for query, series_list in zip(spec.queries, results, strict=True):
        own = [
            Trace(
                _legend(query.legend, series.labels) or query.legend,
                on_grid(series, steps),
                query.dash,
            )
            for series in series_list
        ]
        traces.extend(sorted(own, key=trace_volume, reverse=True))
    if keep is not None:
        by_name = {t.name: t for t in traces}
        return [by_name.get(n, Trace(n, np.full(len(steps), np.nan))) for n in keep]
    return traces[: spec.max_traces]


def _json_values(values: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(v) else round(float(v), 6) for v in values]


def _hover_format(unit: str) -> str:
    if unit == Unit.RATIO:
        return "%{y:.2%}"
    if unit == Unit.BYTES:
        return "%{y:.3~s}B"
    if unit == Unit.BYTES_PER_SECOND:
        return "%{y:.3~s}B/s"
    if unit == Unit.USEC:
        return "%{y:.3~s} µs"
    if unit == Unit.OPS:
        return "%{y:.3~s} ops/s"
    if unit == Unit.PER_SECOND:
        return "%{y:.3~s}/s"
    return "%{y:.3~s}"


def line_figure(
    spec: ChartSpec, traces: Sequence[Trace], frame: Frame, theme: Theme
) -> dict[str, Any]:
    x = time_labels(frame.steps)
    data = []
    for trace in traces:
        item: dict[str, Any] = {
            "type": "scatter",
            "mode": "lines",
            "name": trace.name,
            "x": x,
            "y": _json_values(trace.values),
            "line": {"width": 1.6, "dash": trace.dash},
            "hovertemplate": f"{_hover_format(spec.unit)}<extra>{trace.name}</extra>",
        }
        if spec.stacked:
            # a stack treats a missing point as zero: send only the points that exist
            present = np.isfinite(trace.values)
            item["x"] = [label for label, keep in zip(x, present, strict=True) if keep]
            item["y"] = _json_values(trace.values[present])
            item["stackgroup"] = "one"
            item["line"]["width"] = 0.8
        data.append(item)
    if spec.stacked:
        data.append(_window_anchor(x))
    layout = theme.plotly_layout()
    layout["yaxis"].update(PLOTLY_TICK_SUFFIX.get(spec.unit, {}))
    layout["showlegend"] = len(traces) > 1
    layout["margin"] = {"l": 8, "r": 8, "t": 28 if len(traces) > 1 else 8, "b": 8}
    return {"data": data, "layout": layout}


def extend_payload(
    traces: Sequence[Trace], frame: Frame, max_points: int, drop_missing: bool = False
) -> list[Any]:
    """`Graph.extendData` for new points on every trace: `[update, indices, maxPoints]`.
    `drop_missing` leaves out missing points (for stacks, which would draw them as zero)."""
    x = time_labels(frame.steps)
    xs, ys = [], []
    for trace in traces:
        present = np.isfinite(trace.values) if drop_missing else np.ones(len(x), dtype=bool)
        xs.append([label for label, keep in zip(x, present, strict=True) if keep])
        ys.append(_json_values(trace.values[present]))
    if drop_missing:
        anchor = _window_anchor(x)
        xs.append(anchor["x"])
        ys.append(anchor["y"])
    return [{"x": xs, "y": ys}, list(range(len(xs))), max_points]


def _window_anchor(x: list[str]) -> dict[str, Any]:
    """An invisible trace over every step: a stack sends only the points it has, and this
    keeps its time axis spanning the whole window like the other charts'."""
    return {
        "type": "scatter",
        "mode": "lines",
        "x": x,
        "y": [None] * len(x),
        "showlegend": False,
        "hoverinfo": "skip",
        "name": "",
    }


def blank_figure(message: str = "", colour: str = "#8a8f98") -> dict[str, Any]:
    """A figure that draws nothing but `message`, transparent in either theme (Plotly's
    default layout is white, which flashes on a dark page)."""
    annotation = {
        "text": message,
        "showarrow": False,
        "xref": "paper",
        "yref": "paper",
        "x": 0.5,
        "y": 0.5,
        "font": {"color": colour, "size": 13},
    }
    return {
        "data": [],
        "layout": {
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
            "annotations": [annotation] if message else [],
        },
    }


def empty_figure(theme: Theme, message: str) -> dict[str, Any]:
    figure = blank_figure(message, theme.muted)
    figure["layout"] = {**theme.plotly_layout(), **figure["layout"]}
    return figure
