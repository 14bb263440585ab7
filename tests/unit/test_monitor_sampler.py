"""MONITOR sampling within a throughput budget: when bursts may run, what they cost, and how
counts become rates with honest error bounds."""

from __future__ import annotations

import math

import pytest

from collectors.hotkeys.keyspecs import CommandTable
from collectors.hotkeys.monitor_burst import BurstResult
from collectors.hotkeys.monitor_sampler import MIN_BURST_S, MonitorSampler, TrafficReading, _Burst
from monitor.targets import parse_target_url

TARGET = parse_target_url("redis://127.0.0.1:6379")


def _sampler(**options: float) -> MonitorSampler:
    return MonitorSampler(TARGET, CommandTable.builtin(), started=0.0, **options)  # type: ignore[arg-type]


def _burst(sampler: MonitorSampler, at: float, seconds: float, commands: int) -> None:
    result = BurstResult(0.0, seconds, commands, commands, 0, False, commands * 80)
    sampler.bursts.append(_Burst(result, at))
    sampler.bursts[-1].loss = sampler._loss_during(sampler.bursts[-1])


def test_the_first_burst_assumes_the_server_stalls_and_fits_the_budget() -> None:
    sampler = _sampler(window_s=10.0, burst_s=0.1, max_loss=0.03)
    assert sampler.due(0.0) and sampler.next_burst_s == pytest.approx(0.1)
    # a 2 s window at 3 % affords 60 ms of a stalled server: the burst shrinks to fit
    short = _sampler(window_s=2.0, burst_s=0.1, max_loss=0.03)
    assert short.due(0.0) and short.next_burst_s == pytest.approx(0.06)
    # and below MIN_BURST_S it is not worth a connection
    tiny = _sampler(window_s=0.5, burst_s=0.1, max_loss=0.03)
    assert MIN_BURST_S > 0.5 * 0.03 and not tiny.due(0.0)


def test_bursts_spread_over_the_window_and_report_the_loss_they_measured() -> None:
    sampler = _sampler(window_s=10.0, burst_s=0.1, max_loss=0.03)
    # 100k commands/s between bursts; the burst saw 50k/s: half the throughput lost
    sampler.observe(TrafficReading(0.0, 0.0, 0.0))
    sampler.observe(TrafficReading(0.5, 50_000.0, 10.0))
    _burst(sampler, 0.6, 0.1, 5_000)
    assert sampler.bursts[0].loss == pytest.approx(0.5, rel=0.01)
    # the plan keeps to the bound as if the server stalled: 0.2 s left, two more bursts
    # spread over the 9.3 s after the first
    assert not sampler.due(1.0)
    assert sampler.due(3.8)
    info = sampler.info(10.0)
    assert info.throughput_loss == pytest.approx(0.05 / 10.0, rel=0.01)
    assert not info.loss_is_bound


def test_however_the_load_behaves_the_plan_never_attaches_past_the_budget() -> None:
    sampler = _sampler(window_s=10.0, burst_s=0.1, max_loss=0.03)
    now = 0.0
    while now < 10.0:
        if sampler.due(now):
            _burst(sampler, now, sampler.next_burst_s, 1000)
            now += sampler.next_burst_s
        now += 0.25
    assert sum(b.result.duration_s for b in sampler.bursts) <= 0.3 + 1e-9
    assert len(sampler.bursts) == 3


def test_no_burst_goes_past_the_window_or_the_duty_cap() -> None:
    sampler = _sampler(window_s=10.0, burst_s=0.1, max_loss=0.5, max_duty=0.02)
    sampler.observe(TrafficReading(0.0, 0.0, 0.0))
    sampler.observe(TrafficReading(0.5, 50_000.0, 0.0))
    _burst(sampler, 0.5, 0.1, 10_000)  # nothing lost while attached
    _burst(sampler, 2.0, 0.1, 10_000)
    assert not sampler.due(5.0)  # 0.2 s attached: the 2 % duty cap of a 10 s window
    late = _sampler(window_s=10.0)
    assert late.due(9.95) and late.next_burst_s == pytest.approx(0.05)  # ends with the window
    assert not late.due(9.99)  # too little left for a burst


def test_rates_scale_to_the_servers_rate_outside_bursts_with_honest_bounds() -> None:
    sampler = _sampler(window_s=10.0)
    sampler.observe(TrafficReading(0.0, 0.0, 0.0))
    sampler.observe(TrafficReading(1.0, 630_000.0, 2.0))  # 630k/s, 2 of them ours
    # the burst ran while MONITOR slowed the server: 20k commands in 0.1 s, 8k of one key
    for _ in range(8000):
        sampler.summary.add(b"hot", write=False)
    for index in range(12000):
        sampler.summary.add(f"k{index % 500}".encode(), write=False)
    _burst(sampler, 1.5, 0.1, 20_000)
    (top, *_) = sampler.entries(10, TARGET.instance, 10.0)
    assert top.key == "hot"
    # 40 % of the commands of a server doing 630k/s: ~252k/s, not 8k / 0.1 s = 80k/s
    assert top.ops_per_sec == pytest.approx(0.4 * 629_998, rel=1e-6)
    binomial = 1.96 * math.sqrt(0.4 * 0.6 / 20_000) * 629_998
    assert top.error == pytest.approx(binomial, rel=1e-6)
    assert top.error > 0


def test_without_a_rate_outside_bursts_the_rate_while_attached_is_the_lower_bound() -> None:
    sampler = _sampler(window_s=10.0)
    for _ in range(100):
        sampler.summary.add(b"k", write=True)
    _burst(sampler, 0.0, 0.1, 1000)
    (entry,) = sampler.entries(1, TARGET.instance, 1.0)
    assert entry.ops_per_sec == pytest.approx(100 / 0.1)
    assert entry.writes_per_sec == pytest.approx(100 / 0.1)
    assert sampler.info(1.0).loss_is_bound  # nothing to measure the loss against


def test_pattern_shares_and_rates_come_from_every_key_seen() -> None:
    sampler = _sampler(window_s=10.0)
    sampler.observe(TrafficReading(0.0, 0.0, 0.0))
    sampler.observe(TrafficReading(1.0, 10_000.0, 0.0))
    for index in range(300):
        sampler.patterns.add(f"user:{index}:profile")
    for index in range(100):
        sampler.patterns.add(f"session:{index:032x}")
    _burst(sampler, 1.5, 0.1, 400)
    patterns = {p.pattern: p for p in sampler.pattern_entries(10, TARGET.instance)}
    assert patterns["user:{id}:profile"].share == pytest.approx(0.75)
    assert patterns["session:{id}"].share == pytest.approx(0.25)
    assert patterns["user:{id}:profile"].ops_per_sec == pytest.approx(7500)
