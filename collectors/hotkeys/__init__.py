"""Hot-key and big-key detection for Redis/Valkey and memcached (see docs/HOTKEYS.md).

Public API: `HotKeyDetector` (one target, driven by the scheduler: `await step()` per poll,
`report()`), `detect_hot_keys` (a one-shot run over a target or a whole cluster),
`HotKeyReport` and its entries (what the UIs read), `report_samples` (a report as bounded-
cardinality samples) and the top-K structures.
"""

from __future__ import annotations

from collectors.hotkeys.detector import HotKeyDetector, HotKeyOptions
from collectors.hotkeys.export import KeyExportPolicy, report_samples
from collectors.hotkeys.oneshot import detect_hot_keys
from collectors.hotkeys.report import (
    BigKeyEntry,
    HotKeyEntry,
    HotKeyReport,
    KeySizeHistogram,
    Method,
    RecentKey,
    merge_reports,
)
from collectors.hotkeys.topk import DecayingTopK, SpaceSaving

__all__ = [
    "BigKeyEntry",
    "DecayingTopK",
    "HotKeyDetector",
    "HotKeyEntry",
    "HotKeyOptions",
    "HotKeyReport",
    "KeyExportPolicy",
    "KeySizeHistogram",
    "Method",
    "RecentKey",
    "SpaceSaving",
    "detect_hot_keys",
    "merge_reports",
    "report_samples",
]
