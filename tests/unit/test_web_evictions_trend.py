"""The web Evictions table's trend column: the range query it sends and how it reads the
answer (the classification itself is tested with monitor/evictions/trend.py)."""

from __future__ import annotations

from types import SimpleNamespace

from monitor.evictions.trend import Trend
from monitor.readmodel.source import RangeSeries
from ui.web.pages.evictions import eviction_trends

NOW_MS = 1_700_000_000_000


class RangeOnly:
    def __init__(self) -> None:
        self.asked: list[tuple[str, int, int, int]] = []

    def range(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> list[RangeSeries]:
        self.asked.append((expr, start_ms, end_ms, step_ms))
        ts = tuple(start_ms + i * step_ms for i in range(13))
        return [
            RangeSeries({"instance": "a:1"}, ts, tuple(10.0 + 5 * i for i in range(13))),
            RangeSeries({"instance": "b:2"}, ts, tuple(20.0 for _ in range(13))),
            RangeSeries({"instance": "c:3"}, ts[:2], (1.0, 2.0)),
        ]


def test_trends_classify_each_targets_eviction_rate_over_15_minutes() -> None:
    source = RangeOnly()
    ctx = SimpleNamespace(data=SimpleNamespace(source=source))
    trends = eviction_trends(ctx, NOW_MS)  # type: ignore[arg-type]
    assert trends == {"a:1": Trend.RISING, "b:2": Trend.STEADY, "c:3": Trend.UNKNOWN}
    ((expr, start_ms, end_ms, step_ms),) = source.asked
    assert "redis_evicted_keys_total[3m]" in expr and "memcached_items_evicted_total[3m]" in expr
    assert end_ms == NOW_MS and step_ms == 60_000
    assert NOW_MS - start_ms == 12 * 60_000  # 15 min, less the first rate window
