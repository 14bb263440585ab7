"""The time windows the detail screens offer, and the step and rate range for each."""

from __future__ import annotations

import enum

__all__ = ["Window"]

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

    @property
    def rate_range(self) -> str:
        """A rate window at least a minute and at least two steps wide, so every step
        sees samples even on coarse retention tiers."""
        seconds = max(60, 2 * self.step_ms // 1000)
        return f"{seconds}s"

    @classmethod
    def parse(cls, text: str) -> Window:
        for window in cls:
            if window.label == text:
                return window
        raise ValueError(f"window {text!r}: expected one of 5m, 1h, 24h, 7d")
