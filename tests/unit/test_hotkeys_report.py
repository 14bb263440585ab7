"""Reports: cluster merges, bounded-cardinality samples with masking, LFU folding."""

from __future__ import annotations

import asyncio

import pytest
from redis.crc import key_slot

from collectors.hotkeys.cluster import SlotHeat, parse_commandstats_totals
from collectors.hotkeys.export import (
    BIGKEY_BYTES,
    HOTKEY_ERROR,
    HOTKEY_OPS,
    KeyExportPolicy,
    report_samples,
)
from collectors.hotkeys.lfu import (
    LfuConfig,
    LfuSampler,
    accesses_for_counter,
    accesses_per_increment,
    accesses_spread,
)
from collectors.hotkeys.report import (
    BigKeyEntry,
    HotKeyEntry,
    HotKeyReport,
    Method,
    merge_reports,
)
from collectors.hotkeys.slots import ClusterSlots
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


def _sampler(window_s: float = 10.0, server_started: float | None = None) -> LfuSampler:
    return LfuSampler(
        "n1:1", LfuConfig(), candidates=3, window_s=window_s,
        bigkey_sample_every=0, bigkeys_per_type=3, server_started=server_started,
    )  # fmt: skip


CEILING = accesses_for_counter(255, 10)  # ~311k accesses fill the counter at factor 10


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


def test_a_saturated_counter_holds_its_measured_rate_for_a_window_then_falls_to_the_floor() -> None:
    sampler = _sampler(window_s=10.0)  # server start unknown: the floor fills in 60 s
    sampler.observe(b"k", 250, now=0.0)
    sampler.observe(b"k", 254, now=1.0)
    sampler.observe(b"k", 255, now=2.0)
    sampler.observe(b"k", 255, now=4.0)
    sampler.observe(b"k", 255, now=6.0)
    (entry,) = sampler.hot(1, now=6.0)
    # the window rate runs up to the first reading at the ceiling, not across its stay there
    assert entry.ops_per_sec == pytest.approx((CEILING - accesses_for_counter(250, 10)) / 2)
    assert sampler.saturated() == 1
    for second in range(8, 40, 2):
        sampler.observe(b"k", 255, now=float(second))
    (entry,) = sampler.hot(1, now=38.0)
    assert entry.ops_per_sec == pytest.approx(CEILING / 60)
    assert entry.error == entry.ops_per_sec  # a floor, not a measurement


def test_a_key_first_read_at_the_ceiling_of_a_young_server_ranks_by_its_lifetime_bound() -> None:
    # The server started 20 s ago: a key at 255 has averaged >= ~311k/20 s since.
    sampler = _sampler(window_s=10.0, server_started=-20.0)
    sampler.observe(b"saturated", 255, now=0.0)
    sampler.observe(b"climbing", 100, now=0.0)
    for second in range(1, 10):
        sampler.observe(b"saturated", 255, now=float(second))
        sampler.observe(b"climbing", 100 + 5 * second, now=float(second))
    hot = sampler.hot(2, now=9.0)
    assert [e.key for e in hot] == ["saturated", "climbing"]
    assert hot[0].ops_per_sec == pytest.approx(CEILING / 20)
    assert hot[1].ops_per_sec is not None and hot[1].ops_per_sec < CEILING / 20


def test_evidence_about_a_saturated_key_goes_stale_after_a_window() -> None:
    # An old hot key stays at 255 as long as it is read once a minute, hot or not: what
    # was learnt about it counts for one window, then a key measured hot now overtakes it.
    sampler = _sampler(window_s=10.0, server_started=-30.0)
    for second in range(0, 40):
        sampler.observe(b"old", 255, now=float(second))
        sampler.observe(b"new", min(255, 60 + 6 * second), now=float(second))
        if second == 9:
            assert [e.key for e in sampler.hot(2, now=9.0)] == ["old", "new"]
    hot = sampler.hot(2, now=39.0)
    assert [e.key for e in hot] == ["new", "old"]
    assert hot[1].ops_per_sec == pytest.approx(CEILING / 69)  # the floor: 311k over the uptime


def test_keys_at_the_ceiling_without_fresh_evidence_are_counted_as_unranked() -> None:
    sampler = _sampler(window_s=10.0, server_started=-5.0)
    sampler.observe(b"climbing", 100, now=0.0)
    sampler.observe(b"saturated", 255, now=0.0)
    sampler.observe(b"crossed", 250, now=0.0)
    for second in range(1, 30):
        sampler.observe(b"climbing", 100 + second, now=float(second))
        sampler.observe(b"saturated", 255, now=float(second))
        sampler.observe(b"crossed", 255 if second >= 20 else 250, now=float(second))
        if second == 9:  # the lifetime bound from the first reading still counts
            assert sampler.unranked(3, now=9.0) == 0
    # "saturated" was last learnt about at t = 0; "crossed" was measured at t = 20
    assert sampler.unranked(3, now=29.0) == 1
    assert sampler.unranked(3, now=31.0) == 2


def test_keys_on_the_floor_are_ordered_by_their_stale_evidence() -> None:
    sampler = _sampler(window_s=10.0)
    for key, start in ((b"was-slow", 200), (b"was-fast", 150)):
        sampler.observe(key, start, now=0.0)
        sampler.observe(key, 255, now=2.0)
        sampler.observe(key, 255, now=4.0)
    for second in range(6, 40, 2):
        for key in (b"was-slow", b"was-fast"):
            sampler.observe(key, 255, now=float(second))
    hot = sampler.hot(2, now=38.0)
    assert [e.key for e in hot] == ["was-fast", "was-slow"]
    assert hot[0].ops_per_sec == hot[1].ops_per_sec == pytest.approx(CEILING / 60)


def test_the_counter_spread_sums_each_steps_geometric_wait_and_both_ends() -> None:
    for first, last in ((40, 60), (250, 255), (3, 8), (5, 5)):
        steps = sum(accesses_per_increment(c, 10) ** 2 for c in range(max(first, 5), last))
        ends = accesses_per_increment(first, 10) ** 2 + accesses_per_increment(last, 10) ** 2
        assert accesses_spread(first, last, 10) == pytest.approx((steps + ends) ** 0.5)
    # about 1/sqrt(steps) of the accesses: 20 steps near 50 -> ~22 %
    relative = accesses_spread(40, 60, 10) / (
        accesses_for_counter(60, 10) - accesses_for_counter(40, 10)
    )
    assert 0.15 < relative < 0.3


def test_keys_at_the_ceiling_on_a_cluster_rank_by_their_slots_commands() -> None:
    heat = SlotHeat(window_s=10.0)
    hot, cool = b"user:{a}", b"user:{b}"
    slots = {key_slot(hot): 0, key_slot(cool): 0}
    heat.add(slots, now=0.0)
    heat.add_commands(usec=0.0, calls=0.0, now=0.0)
    assert heat.ops(key_slot(hot)) is None  # one reading is not a rate
    heat.add({key_slot(hot): 40_000, key_slot(cool): 4_000}, now=2.0)
    heat.add_commands(usec=60_000.0, calls=30_000.0, now=2.0)  # 2 µs per command
    assert heat.ops(key_slot(hot)) == pytest.approx(10_000)  # 20 ms/s of CPU at 2 µs each
    sampler = _sampler(window_s=10.0, server_started=-1000.0)
    sampler.slot_heat = heat
    for second in (0.0, 1.0, 2.0):
        sampler.observe(cool, 255, now=second)
        sampler.observe(hot, 255, now=second)
    ranked = sampler.hot(2, now=2.0)
    assert [e.key for e in ranked] == ["user:{a}", "user:{b}"]
    assert ranked[1].ops_per_sec == pytest.approx(1_000)
    assert sampler.unranked(2, now=2.0) == 0
    assert sampler.ceiling_slots() == sorted({key_slot(hot), key_slot(cool)})


def test_a_stats_reset_restarts_the_slot_rate() -> None:
    heat = SlotHeat(window_s=10.0)
    heat.add({7: 5_000}, now=0.0)
    heat.add({7: 100}, now=1.0)  # CONFIG RESETSTAT
    assert heat.rate(7) is None
    heat.add({7: 600}, now=2.0)
    assert heat.rate(7) == pytest.approx(500)


def test_commandstats_totals_sum_every_command() -> None:
    reply = (
        b"# Commandstats\r\n"
        b"cmdstat_get:calls=300,usec=450,usec_per_call=1.50,rejected_calls=0,failed_calls=0\r\n"
        b"cmdstat_set:calls=100,usec=350,usec_per_call=3.50,rejected_calls=0,failed_calls=0\r\n"
        b"cmdstat_broken:calls=x\r\n"
    )
    assert parse_commandstats_totals(reply) == (800.0, 400.0)
    assert parse_commandstats_totals(None) is None


def test_keys_at_the_ceiling_in_one_slot_split_its_commands() -> None:
    heat = SlotHeat(window_s=10.0)
    slot = key_slot(b"{cart}:1")
    assert key_slot(b"{cart}:2") == slot
    heat.add({slot: 0}, now=0.0)
    heat.add_commands(usec=0.0, calls=0.0, now=0.0)
    heat.add({slot: 20_000}, now=2.0)
    heat.add_commands(usec=20_000.0, calls=20_000.0, now=2.0)  # 1 µs per command
    sampler = _sampler(window_s=10.0, server_started=-1000.0)
    sampler.slot_heat = heat
    for second in (0.0, 1.0, 2.0):
        sampler.observe(b"{cart}:1", 255, now=second)
        sampler.observe(b"{cart}:2", 255, now=second)
    rates = [entry.ops_per_sec for entry in sampler.hot(2, now=2.0)]
    assert rates == [pytest.approx(5_000), pytest.approx(5_000)]  # 10k/s shared by two keys


class _AnswersWith:
    """A connection that answers every pipelined command with `reply`."""

    def __init__(self, reply: object) -> None:
        self.reply = reply

    async def pipeline(self, commands: list[tuple[object, ...]]) -> list[object]:
        return [self.reply for _ in commands]


def test_an_unreadable_slot_stats_reply_turns_slot_heat_off() -> None:
    sampler = _sampler(window_s=10.0)
    sampler.observe(b"k", 255, now=0.0)
    sampler.observe(b"k", 255, now=1.0)
    slots = ClusterSlots(sampler, hot_slot_count=4, window_s=10.0)
    conn = _AnswersWith([["not a slot entry"]])
    assert asyncio.run(slots.read_heat(conn, budget=100, now=1.0)) == 1
    assert sampler.slot_heat is None
    assert asyncio.run(slots.read_heat(conn, budget=100, now=2.0)) == 0  # off for good
    assert asyncio.run(slots.queue_hot_slot_keys(conn, now=2.0)) == 2  # two reads, nothing queued
    assert not sampler.priority
