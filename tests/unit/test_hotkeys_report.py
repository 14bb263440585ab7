"""Reports: cluster merges, bounded-cardinality samples with masking, LFU folding."""

from __future__ import annotations

import pytest

from collectors.hotkeys.export import (
    BIGKEY_BYTES,
    HOTKEY_ERROR,
    HOTKEY_OPS,
    KeyExportPolicy,
    report_samples,
)
from collectors.hotkeys.lfu import LfuConfig, LfuSampler, accesses_for_counter
from collectors.hotkeys.report import (
    BigKeyEntry,
    HotKeyEntry,
    HotKeyReport,
    Method,
    merge_reports,
)
from monitor.model import SampleBatch


def _entry(key: str, ops: float, instance: str, error: float = 1.0) -> HotKeyEntry:
    return HotKeyEntry(key, ops, error, Method.LFU, instance, 10.0)


def _report(instance: str, *entries: HotKeyEntry) -> HotKeyReport:
    return HotKeyReport(instance, 1000, 11000, (Method.LFU,), hot=entries)


def test_merge_ranks_across_nodes_and_adds_a_key_seen_twice() -> None:
    a = _report("n1:1", _entry("x", 100, "n1:1"), _entry("y", 10, "n1:1"))
    b = _report("n2:1", _entry("z", 50, "n2:1"), _entry("x", 20, "n2:1", error=2.0))
    merged = merge_reports("cluster", [a, b], top=2)
    assert [(e.key, e.ops_per_sec) for e in merged.hot] == [("x", 120.0), ("z", 50.0)]
    assert merged.hot[0].instance == "n1:1,n2:1"
    assert merged.hot[0].error == 3.0
    assert merged.window_s == 10.0


def test_samples_hide_key_names_unless_opted_in() -> None:
    report = HotKeyReport(
        "n1:1", 0, 10_000, (Method.LFU,),
        hot=(_entry("session:abc", 50, "n1:1"), _entry("user:7", 20, "n1:1")),
        big=(BigKeyEntry("blob", "string", 4096, "n1:1"),),
    )  # fmt: skip
    batch = SampleBatch(ts_ms=0, target_labels=())
    report_samples(report, batch, KeyExportPolicy(), top=1)
    assert batch.names == [HOTKEY_OPS, HOTKEY_ERROR, BIGKEY_BYTES]
    assert batch.labels[0] == (("method", "lfu"), ("rank", "1"))
    assert all("key" not in dict(labels) for labels in batch.labels)

    masked = KeyExportPolicy(export_key_names=True, masks=((r"session:\w+", "session:*"),))
    batch = SampleBatch(ts_ms=0, target_labels=())
    report_samples(report, batch, masked, top=2)
    keys = [dict(labels).get("key") for labels in batch.labels]
    assert keys == ["session:*", "session:*", "user:7", "user:7", "blob"]
    assert batch.values[0] == 50


def test_a_bad_mask_is_rejected_with_its_pattern() -> None:
    with pytest.raises(ValueError, match=r"hot-key mask '\(' is not a valid regex"):
        KeyExportPolicy(masks=(("(", "x"),))


def _sampler(window_s: float = 10.0) -> LfuSampler:
    return LfuSampler(
        "n1:1", LfuConfig(), candidates=3, window_s=window_s,
        bigkey_sample_every=0, bigkeys_per_type=3,
    )  # fmt: skip


def test_lfu_rates_come_from_counter_differences() -> None:
    sampler = _sampler()
    sampler.observe(b"k", 40, now=0.0)
    sampler.observe(b"k", 60, now=5.0)
    (entry,) = sampler.hot(5, now=5.0)
    gained = accesses_for_counter(60, 10) - accesses_for_counter(40, 10)
    assert entry.ops_per_sec == pytest.approx(gained / 5)
    assert entry.error is not None and entry.ops_per_sec is not None
    assert 0 < entry.error < entry.ops_per_sec
    assert entry.method is Method.LFU and entry.key == "k"


def test_lfu_top_k_drops_keys_that_cooled_down() -> None:
    sampler = _sampler(window_s=4.0)  # scores halve every second
    for key in (b"old1", b"old2", b"old3"):
        sampler.observe(key, 100, now=0.0)
    for second in range(1, 12):
        for key in (b"old1", b"old2", b"old3"):
            sampler.observe(key, 100, now=float(second))  # counters no longer move
        for key, counter in ((b"new1", 60), (b"new2", 61), (b"new3", 62)):
            sampler.observe(key, counter + 3 * second, now=float(second))
    hot = {e.key for e in sampler.hot(3, now=11.0)}
    assert hot == {"new1", "new2", "new3"}


def test_a_key_read_once_is_not_ranked_on_its_lifetime_count() -> None:
    sampler = _sampler()
    sampler.observe(b"old-but-idle", 200, now=0.0)
    assert sampler.hot(5, now=0.0) == []
    sampler.observe(b"old-but-idle", 200, now=1.0)
    (entry,) = sampler.hot(5, now=1.0)
    assert entry.ops_per_sec == 0.0


def test_a_saturated_counter_holds_the_last_measured_rate_then_falls_to_the_floor() -> None:
    sampler = _sampler(window_s=2.0)
    sampler.observe(b"k", 250, now=0.0)
    sampler.observe(b"k", 254, now=1.0)
    measured = accesses_for_counter(254, 10) - accesses_for_counter(250, 10)
    sampler.observe(b"k", 255, now=2.0)
    sampler.observe(b"k", 255, now=4.0)
    sampler.observe(b"k", 255, now=6.0)
    (entry,) = sampler.hot(1, now=6.0)
    held = accesses_for_counter(255, 10) - accesses_for_counter(254, 10)
    assert entry.ops_per_sec == pytest.approx(held)  # the 254 -> 255 step, over 1 s
    assert held > 0 and measured > 0
    assert sampler.saturated() == 1
    sampler.observe(b"k", 255, now=70.0)
    sampler.observe(b"k", 255, now=75.0)
    (entry,) = sampler.hot(1, now=75.0)
    assert entry.ops_per_sec == pytest.approx(accesses_for_counter(255, 10) / 60)
