"""Eviction trends of Redis/Valkey and memcached targets and clusters, from the store.

`eviction_summary(engine, scope, at_ms)` returns an `EvictionSummary`; the PromQL behind it
is in `monitor.evictions.expressions` as named templates (also recorded by
`alerts/rules/evictions_recording.yml`). See docs/EVICTIONS.md.
"""

from monitor.evictions.expressions import Scope, render, window_text
from monitor.evictions.summary import WINDOWS, eviction_summary, scope_of_instance
from monitor.evictions.trend import Trend, TrendReading, classify_trend, correlation
from monitor.evictions.values import (
    EvictionSummary,
    MemoryStatus,
    NodeRates,
    SlabActivity,
    SlabRates,
    WindowRates,
)

__all__ = [
    "WINDOWS",
    "EvictionSummary",
    "MemoryStatus",
    "NodeRates",
    "Scope",
    "SlabActivity",
    "SlabRates",
    "Trend",
    "TrendReading",
    "WindowRates",
    "classify_trend",
    "correlation",
    "eviction_summary",
    "render",
    "scope_of_instance",
    "window_text",
]
