"""The time windows the detail screens offer, the step for each, and the one rule for the
rate window of a chart step (the TUI's and the web's charts alike)."""

from __future__ import annotations

import enum
import math

__all__ = ["Window", "chart_rate_window_s", "rate_window_text"]

_POINTS = 240  # about one point per terminal column pair on a wide screen


class Window(enum.Enum):
    M5 = ("5m", 300_000)
    H1 = ("1h", 3_600_000)
    H24 = ("24h", 86_400_000)
    D7 = ("7d", 604_800_000)

    def __init__(self, label: str, span_ms: int) -> None:
        self.label = label
        self.span_ms = span_ms

    @property
    def step_ms(self) -> int:
        return max(1000, self.span_ms // _POINTS)

    def rate_range(self, interval_s: float) -> str:
        return rate_window_text(chart_rate_window_s(self.step_ms, interval_s))

    @classmethod
    def parse(cls, text: str) -> Window:
        for window in cls:
            if window.label == text:
                return window
        raise ValueError(f"window {text!r}: expected one of 5m, 1h, 24h, 7d")


def chart_rate_window_s(step_ms: int, interval_s: float) -> float:
    """The rate window of a chart at `step_ms` over targets polled every `interval_s`: at
    least four polls (a missed poll leaves three), two steps (every step sees samples, also
    on the coarse rollup tiers of long ranges), and 15 s."""
    return max(4 * interval_s, 2 * step_ms / 1000, 15.0)


def rate_window_text(seconds: float) -> str:
    return f"{math.ceil(seconds)}s"
