"""The background sampler's budget follows the server's own traffic and is shared with the
other cachewatch processes sampling the same server."""

from __future__ import annotations

import pytest

from monitor.hotkeys_budget import BudgetPolicy, SamplingBudget, TrafficReading, read_traffic
from monitor.model import SampleBatch


def test_allowance_is_a_share_of_traffic_between_floor_and_ceiling() -> None:
    policy = BudgetPolicy(share=0.02, floor_per_s=20, ceiling_per_s=2000)
    assert policy.allowance(231) == 20  # a quiet server: the floor
    assert policy.allowance(5) == 5  # never more than the application sends
    assert policy.allowance(0) == 0  # an idle server has no hot keys to find
    assert policy.allowance(50_000) == pytest.approx(1000)
    assert policy.allowance(900_000) == 2000  # a saturated one: the ceiling


def _reading(
    t_s: float, app: float, own: float, others: float, own_sampling: float
) -> TrafficReading:
    """Cumulative counts at `t_s` for constant rates per second."""
    return TrafficReading(
        ts_ms=int(t_s * 1000),
        processed=(app + own + others) * t_s,
        own=own * t_s,
        server_sampling=(others + own_sampling) * t_s,
        own_sampling=own_sampling * t_s,
    )


def test_budget_leaves_out_its_own_commands_and_what_others_sample() -> None:
    budget = SamplingBudget(BudgetPolicy())
    assert budget.rate_per_s == 20  # before two readings: the floor
    budget.update(_reading(10, app=100_000, own=500, others=0, own_sampling=400))
    budget.update(_reading(20, app=100_000, own=500, others=0, own_sampling=400))
    assert budget.application_ops_per_s == pytest.approx(100_000)
    assert budget.rate_per_s == pytest.approx(2000)
    # another process starts sampling 1500/s there: this one takes what is left, half-way
    budget.update(_reading(30, app=100_000, own=500, others=1500, own_sampling=400))
    budget.update(_reading(40, app=100_000, own=500, others=1500, own_sampling=400))
    assert budget.others_sampling_per_s == pytest.approx(1500)
    assert 500 < budget.rate_per_s < 2000


def test_two_processes_settle_on_a_split_instead_of_taking_turns() -> None:
    app = 100_000.0
    a, b = SamplingBudget(BudgetPolicy()), SamplingBudget(BudgetPolicy())
    counts = {"a": 0.0, "b": 0.0, "processed": 0.0}
    rates = {"a": 0.0, "b": 0.0}
    for step in range(1, 40):
        for name in ("a", "b"):
            counts[name] += rates[name] * 10
        counts["processed"] += (app + rates["a"] + rates["b"]) * 10
        sampling = counts["a"] + counts["b"]
        for name, budget in (("a", a), ("b", b)):
            rates[name] = budget.update(
                TrafficReading(
                    step * 10_000, counts["processed"], counts[name], sampling, counts[name]
                )
            )
    total = rates["a"] + rates["b"]
    assert total == pytest.approx(2000, rel=0.05)
    assert rates["a"] == pytest.approx(rates["b"], rel=0.1)


def test_a_server_restart_keeps_the_last_rate() -> None:
    budget = SamplingBudget(BudgetPolicy())
    budget.update(_reading(10, app=100_000, own=0, others=0, own_sampling=0))
    budget.update(_reading(20, app=100_000, own=0, others=0, own_sampling=0))
    before = budget.rate_per_s
    budget.update(TrafficReading(30_000, 5.0, 0.0, 0.0, 0.0))  # counters went back to zero
    assert budget.rate_per_s == before


def test_reading_a_poll() -> None:
    batch = SampleBatch(1000, (("instance", "a:1"),))
    batch.add("redis_commands_processed_total", 5000.0)
    batch.add("redis_commands_total", 300.0, (("cmd", "object|freq"),))
    batch.add("redis_commands_total", 4000.0, (("cmd", "get"),))
    batch.add("cachewatch_target_commands_total", 200.0, (("cmd", "object|freq"),))
    batch.add("cachewatch_target_commands_total", 10.0, (("cmd", "info"),))
    reading = read_traffic(batch.ts_ms, batch.names, batch.labels, batch.values)
    assert reading == TrafficReading(1000, 5000.0, 210.0, 300.0, 200.0)
    assert read_traffic(1000, ["memcached_up"], [()], [1.0]) is None
