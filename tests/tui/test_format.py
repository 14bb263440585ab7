"""Number formatting and sparklines of the TUI."""

from __future__ import annotations

import math

from ui.tui.format import human_bytes, human_ms, human_rate, percent, spark


def test_human_numbers() -> None:
    assert human_bytes(None) == "-" and human_bytes(math.nan) == "-"
    assert human_bytes(512) == "512B" and human_bytes(64 << 20) == "64.0M"
    assert human_rate(0) == "0" and human_rate(2.25) == "2.2" and human_rate(1500) == "1.5k"
    assert human_rate(25_000) == "25k" and human_rate(3e6) == "3.0M"
    assert (
        human_ms(0.5) == "500µs"
        and human_ms(2.25) == "2.2ms"
        and human_ms(12.3) == "12ms"
        and human_ms(1500) == "1.5s"
    )
    assert percent(0.905) == "90.5%" and percent(None) == "-"


def test_spark_scales_to_its_range_and_fits_the_width() -> None:
    assert spark([0, 1, 2, 3], 4) == "▁▃▆█"
    assert spark([1, math.nan, 1], 3) == "▄ ▄"  # flat, with a gap
    assert spark([], 3) == "   "
    assert spark([2.0], 3, low=0, high=4) == "  ▅"
    long = [float(i % 10) for i in range(100)]
    assert spark(long, 10) == "▄" * 10  # each bucket's max is 9: flat
