"""One chart of the detail screen as text: a line per series with its name, a sparkline
across the panel's width, and the last value. Terminal charts that stay readable at 80
columns and redraw in microseconds."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from monitor.readmodel import Chart
from ui.tui.format import human_bytes, human_ms, human_rate, percent, spark

__all__ = ["ChartPanel", "format_for"]

_NAME_WIDTH = 14
_VALUE_WIDTH = 9


def format_for(unit: str) -> Callable[[float | None], str]:
    if unit == "bytes":
        return human_bytes
    if unit == "bytes/s":
        return lambda v: human_bytes(v) + "/s" if v is not None else "-"
    if unit == "ratio":
        return percent
    if unit == "ms":
        return human_ms
    return human_rate


class ChartPanel(Widget):
    DEFAULT_CSS = """
    ChartPanel {
        height: auto;
        min-height: 3;
        border: round $primary 40%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, chart_key: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.chart_key = chart_key
        self.chart: Chart | None = None

    def show(self, chart: Chart) -> None:
        self.chart = chart
        self.border_title = f"{chart.title} ({chart.unit})"
        self.styles.height = max(1, len(chart.lines)) + 2
        self.refresh()

    def render(self) -> RenderableType:
        if self.chart is None or not self.chart.lines:
            return Text("no data in this window", style="dim")
        fmt = format_for(self.chart.unit)
        width = max(4, self.content_size.width - _NAME_WIDTH - _VALUE_WIDTH - 2)
        # one scale for the whole chart, so its lines compare (used vs maxmemory)
        finite = [v for line in self.chart.lines for v in line.values if v == v]
        low = min(finite, default=0.0)
        high = max(finite, default=0.0)
        out = Text()
        for index, line in enumerate(self.chart.lines):
            if index:
                out.append("\n")
            out.append(line.name[:_NAME_WIDTH].ljust(_NAME_WIDTH))
            out.append(spark(line.values, width, low, high))
            out.append(" " + fmt(line.last).rjust(_VALUE_WIDTH))
        return out
