"""Hot and big keys in the detail view: a source with live reports (a local runtime) shows
them by name; any other source (an attached server) reads the bounded top-K series."""

from __future__ import annotations

from collectors.hotkeys.report import BigKeyEntry, HotKeyEntry, HotKeyReport, Method
from monitor.readmodel import HotKeySource, Window, target_detail
from tests.tui.recorded import NOW_MS, RecordedSource, recorded_fleet

INSTANCE = "10.0.0.1:7000"


def _with_hot_key_series() -> RecordedSource:
    fleet = recorded_fleet()
    base = {"instance": INSTANCE}
    fleet._gauge(base, "cachewatch_hotkey_ops_per_second", 900.0, rank="2", method="lfu")
    fleet._gauge(base, "cachewatch_hotkey_ops_per_second", 1500.0, rank="1", method="lfu")
    fleet._gauge(base, "cachewatch_hotkey_ops_per_second_error", 40.0, rank="1", method="lfu")
    fleet._gauge(base, "cachewatch_bigkey_bytes", 4096.0, rank="1", type="hash")
    return fleet


class _LiveSource(RecordedSource):
    """The recorded fleet plus one live report, as `LocalSource(hotkeys=...)` gives it."""

    def __init__(self, fleet: RecordedSource, report: HotKeyReport) -> None:
        self.__dict__.update(fleet.__dict__)
        self.report = report

    def hot_key_report(self, instance: str) -> HotKeyReport | None:
        return self.report if instance == self.report.target else None


def test_series_fallback_reads_rank_error_and_type() -> None:
    fleet = _with_hot_key_series()
    assert not isinstance(fleet, HotKeySource)
    detail = target_detail(fleet, INSTANCE, Window.M5, NOW_MS, with_charts=False)
    assert detail is not None
    assert [(k.rank, k.key, k.value, k.error) for k in detail.hot_keys] == [
        (1, "#1", 1500.0, 40.0),
        (2, "#2", 900.0, None),
    ]
    assert [(k.key, k.value, k.type) for k in detail.big_keys] == [("#1", 4096.0, "hash")]


def test_live_report_replaces_the_series() -> None:
    entry = HotKeyEntry("session:42", 120.0, 5.0, Method.MONITOR, INSTANCE, 10.0, 100.0, 20.0)
    server = HotKeyEntry("cart:7", None, None, Method.SERVER, INSTANCE, 10.0, share=0.25)
    report = HotKeyReport(
        INSTANCE,
        NOW_MS - 10_000,
        NOW_MS,
        (Method.MONITOR,),
        hot=(entry, server),
        big=(BigKeyEntry("feed:1", "list", 1 << 20, INSTANCE),),
    )
    source = _LiveSource(_with_hot_key_series(), report)
    assert isinstance(source, HotKeySource)
    detail = target_detail(source, INSTANCE, Window.M5, NOW_MS, with_charts=False)
    assert detail is not None
    first, second = detail.hot_keys
    assert (first.rank, first.key, first.value, first.error) == (1, "session:42", 120.0, 5.0)
    assert (first.method, first.reads_per_s, first.writes_per_s) == ("monitor", 100.0, 20.0)
    assert (second.key, second.method, second.share) == ("cart:7", "server", 0.25)
    assert [(k.key, k.value, k.type) for k in detail.big_keys] == [("feed:1", 1 << 20, "list")]
    other = target_detail(source, "10.0.0.1:7001", Window.M5, NOW_MS, with_charts=False)
    assert other is not None and other.hot_keys == ()  # no report there, no series either
