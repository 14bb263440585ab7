"""Space-Saving's error bounds (property-based) and the decaying top-K."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.hotkeys.topk import DecayingTopK, SpaceSaving

streams = st.lists(st.integers(min_value=0, max_value=40), max_size=400)


def _check_bounds(summary: SpaceSaving[int], truth: Counter[int]) -> None:
    floor = summary.min_count
    # Space-Saving's counters always sum to the stream length, so the smallest is <= N/m.
    assert floor * summary.capacity <= sum(truth.values())
    for key, true_count in truth.items():
        item = summary.get(key)
        if item is None:
            assert true_count <= floor
        else:
            assert item.count - item.error <= true_count <= item.count


@settings(max_examples=200, deadline=None)
@given(stream=streams, capacity=st.integers(min_value=1, max_value=12))
def test_space_saving_bounds_hold_for_any_stream(stream: list[int], capacity: int) -> None:
    summary: SpaceSaving[int] = SpaceSaving(capacity)
    for key in stream:
        summary.add(key)
    _check_bounds(summary, Counter(stream))
    assert summary.total == len(stream)
    assert len(summary) <= capacity


@settings(max_examples=150, deadline=None)
@given(a=streams, b=streams, capacity=st.integers(min_value=1, max_value=10))
def test_merged_summaries_keep_the_bounds_of_the_joint_stream(
    a: list[int], b: list[int], capacity: int
) -> None:
    left: SpaceSaving[int] = SpaceSaving(capacity)
    right: SpaceSaving[int] = SpaceSaving(capacity)
    for key in a:
        left.add(key)
    for key in b:
        right.add(key)
    merged = left.merge(right)
    truth = Counter(a) + Counter(b)
    for key, true_count in truth.items():
        item = merged.get(key)
        if item is None:
            assert true_count <= left.min_count + right.min_count + merged.min_count
        else:
            assert item.count - item.error <= true_count <= item.count
    assert merged.total == len(a) + len(b)


def test_heavy_hitters_are_found_with_a_small_summary() -> None:
    summary: SpaceSaving[str] = SpaceSaving(20)
    stream = ["hot"] * 500 + ["warm"] * 200 + [f"cold{i}" for i in range(1000)]
    stream.sort(key=hash)
    for key in stream:
        summary.add(key, write=key == "warm")
    top = summary.top(2)
    assert [item.key for item in top] == ["hot", "warm"]
    warm = summary.get("warm")
    assert warm is not None and warm.writes > 0 and warm.reads == 0


def test_decaying_top_k_halves_scores_and_evicts_the_weakest() -> None:
    topk: DecayingTopK[str] = DecayingTopK(capacity=2, half_life_s=10.0)
    assert topk.offer("a", 100.0, now=0.0)
    assert topk.offer("b", 50.0, now=0.0)
    assert abs(topk.score("a", now=10.0) - 50.0) < 1e-9
    # "c" beats the decayed "b" (25) but not "a" (50): "b" goes
    assert topk.offer("c", 30.0, now=10.0)
    assert sorted(topk.keys()) == ["a", "c"]
    assert not topk.offer("d", 1.0, now=10.0)
    assert [key for key, _ in topk.top(2, now=10.0)] == ["a", "c"]


def test_decaying_top_k_lets_a_new_hot_set_take_over() -> None:
    topk: DecayingTopK[str] = DecayingTopK(capacity=3, half_life_s=1.0)
    for key in ("old1", "old2", "old3"):
        topk.offer(key, 1000.0, now=0.0)
    for second in range(1, 8):
        for key in ("new1", "new2", "new3"):
            topk.offer(key, 100.0, now=float(second))
    assert sorted(key for key, _ in topk.top(3, now=7.0)) == ["new1", "new2", "new3"]
