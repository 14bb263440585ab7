"""The eviction summary of one target or one cluster, computed from the store through PromQL.

`eviction_summary(engine, scope, at_ms)` is what `cachewatch evictions`, the web UI's
Evictions page and the TUI show: rates over 1 m / 15 m / 1 h, the trend, the wasted-write
shares, memory against the limit with the time to full, and (memcached) each slab class.

A window is reported when the history covers at least `PARTIAL_MIN` of it: then its figures
are computed over the history there is, and it is marked partial. With less, it "lacks
data" and its figures are None, because a rate over a window mostly without samples would
not be a rate over that window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.evictions import expressions as x
from monitor.evictions.expressions import Scope, render, window_text
from monitor.evictions.trend import Trend, TrendReading, classify_trend, correlation
from monitor.evictions.values import (
    EvictionSummary,
    MemoryStatus,
    NodeRates,
    SlabActivity,
    SlabRates,
    WindowRates,
)
from monitor.model import now_ms
from monitor.query import Engine

__all__ = [
    "WINDOWS",
    "eviction_summary",
    "scope_of_instance",
]

#: (name, seconds) of the windows a summary reports
WINDOWS: tuple[tuple[str, float], ...] = (("1m", 60.0), ("15m", 900.0), ("1h", 3600.0))
#: a window whose history covers at least this share is complete (one missed poll is fine)
COMPLETE_MIN = 0.95
#: below this share of its length a window lacks data
PARTIAL_MIN = 0.4
#: per-slab shares, slab activity and the time to full use the longest reported window up
#: to this
DETAIL_MAX_S = 900.0
#: the trend looks back this far at most
TREND_SPAN_S = 900.0
_TREND_POINTS = 16
#: history older than this (PromQL's lookback) is not "now"
_RECENT_MS = 300_000


@dataclass(frozen=True, slots=True)
class _Kind:
    name: str
    evictions: str
    expirations: str
    hit_ratio: str
    memory_used: str
    memory_max: str
    seconds_to_full: str
    counter: str


_REDIS = _Kind(
    "redis",
    x.REDIS_EVICTIONS_RATE,
    x.REDIS_EXPIRATIONS_RATE,
    x.REDIS_HIT_RATIO,
    x.REDIS_MEMORY_USED,
    x.REDIS_MEMORY_MAX,
    x.REDIS_MEMORY_SECONDS_TO_FULL,
    "redis_evicted_keys_total",
)
_MEMCACHED = _Kind(
    "memcached",
    x.MEMCACHED_EVICTIONS_RATE,
    x.MEMCACHED_EXPIRATIONS_RATE,
    x.MEMCACHED_HIT_RATIO,
    x.MEMCACHED_MEMORY_USED,
    x.MEMCACHED_MEMORY_MAX,
    x.MEMCACHED_MEMORY_SECONDS_TO_FULL,
    "memcached_items_evicted_total",
)


class _Reader:
    """Instant and range queries of templates, for one scope at one time."""

    def __init__(
        self, engine: Engine, scope: Scope, at_ms: int, windows: Sequence[tuple[str, float]]
    ) -> None:
        self.engine = engine
        self.scope = scope
        self.at_ms = at_ms
        self.windows = tuple(windows)
        self.longest_s = max(seconds for _, seconds in windows)

    def vector(self, template: str, window: str, by: str | None = None) -> list[Any]:
        expr = render(template, by or self.scope.label, self.scope.matchers, window)
        return self.engine.instant(expr, self.at_ms).samples

    def by_label(
        self, template: str, window: str, label: str, by: str | None = None
    ) -> dict[str, float]:
        """Samples keyed by `label`, aggregated by `by` (default: the scope's label)."""
        return {s[0].get(label, ""): s[1] for s in self.vector(template, window, by)}

    def one(self, template: str, window: str = "1m") -> float | None:
        samples = self.vector(template, window)
        return samples[0][1] if samples else None

    def series(
        self, template: str, window: str, start_ms: int, step_ms: int, by: str | None = None
    ) -> list[tuple[dict[str, str], np.ndarray, np.ndarray]]:
        expr = render(template, by or self.scope.label, self.scope.matchers, window)
        return self.engine.range(expr, start_ms, self.at_ms, step_ms).series

    def history(self, counter: str) -> tuple[int, int, float | None] | None:
        """(first, last sample ms, median interval s) of `counter` in the last hour."""
        longest_ms = round(self.longest_s * 1000)
        result = self.engine.instant(
            f"{counter}{{{self.scope.matchers}}}[{longest_ms}ms]", self.at_ms
        )
        stamps = [ts[np.isfinite(v)] for _, ts, v in result.series]
        stamps = [s for s in stamps if len(s)]
        if not stamps:
            return None
        first = min(int(s[0]) for s in stamps)
        last = max(int(s[-1]) for s in stamps)
        gaps = np.concatenate([np.diff(s) for s in stamps])
        interval = float(np.median(gaps)) / 1000 if len(gaps) else None
        return first, last, interval


def scope_of_instance(engine: Engine, instance: str, at_ms: int | None = None) -> Scope:
    """The cluster scope when the instance's series carry a `cluster` label (a node found
    by discovery), else the instance itself."""
    at = now_ms() if at_ms is None else at_ms
    scope = Scope.instance(instance)
    up = engine.instant(
        f'group by (cluster) ({{__name__=~"redis_up|memcached_up", {scope.matchers}}})', at
    )
    clusters = sorted({labels.get("cluster", "") for labels, _ in up.samples} - {""})
    return Scope.cluster(clusters[0]) if clusters else scope


def eviction_summary(
    engine: Engine,
    scope: Scope | str,
    at_ms: int | None = None,
    windows: Sequence[tuple[str, float]] = WINDOWS,
) -> EvictionSummary:
    """The summary for `scope` (a Scope, or an instance address) from the history in
    `engine`'s store, as of `at_ms` (default now), over `windows` ((name, seconds), shortest
    first; the default is 1m, 15m, 1h)."""
    if isinstance(scope, str):
        scope = Scope.instance(scope)
    at = now_ms() if at_ms is None else at_ms
    if not windows:
        raise ValueError("eviction_summary needs at least one window")
    reader = _Reader(engine, scope, at, windows)
    for kind in (_REDIS, _MEMCACHED):
        history = reader.history(kind.counter)
        if history is not None and at - history[1] <= _RECENT_MS:
            return _summarise(reader, kind, *history)
    empty = tuple(WindowRates(name, seconds, 0.0, "no data") for name, seconds in windows)
    return EvictionSummary(
        scope,
        None,
        at,
        0.0,
        None,
        empty,
        TrendReading(Trend.UNKNOWN, None, None, 0, 0.0),
        None,
        None,
        notes=(f"no recent eviction counters for {scope} in the store",),
    )


def _window_plan(
    history_s: float, windows: Sequence[tuple[str, float]]
) -> list[tuple[str, float, float, str]]:
    """(name, seconds, covered seconds, status) per window."""
    plan = []
    for name, seconds in windows:
        covered = min(history_s, seconds)
        if covered >= COMPLETE_MIN * seconds:
            plan.append((name, seconds, seconds, "complete"))
        elif covered >= PARTIAL_MIN * seconds:
            plan.append((name, seconds, covered, "partial"))
        else:
            plan.append((name, seconds, 0.0, "no data"))
    return plan


def _summarise(
    reader: _Reader, kind: _Kind, first_ms: int, last_ms: int, interval_s: float | None
) -> EvictionSummary:
    history_s = min((reader.at_ms - first_ms) / 1000, reader.longest_s)
    memcached = kind is _MEMCACHED
    windows = [
        _window_rates(reader, kind, *plan) for plan in _window_plan(history_s, reader.windows)
    ]
    # the longest reported window up to DETAIL_MAX_S: long enough to smooth, short enough
    # that per-slab queries over many classes stay cheap
    reported = [w for w in windows if w.reported]
    detail = max(reported, key=lambda w: min(w.covered_s, DETAIL_MAX_S)) if reported else None
    detail_w = window_text(detail.covered_s) if detail else None
    trend_plan = _trend_plan(history_s, interval_s, reader.at_ms)
    trend, hit_r = _scope_trend(reader, kind, trend_plan)
    notes = []
    lacking = [w.window for w in windows if not w.reported]
    if lacking:
        notes.append(
            f"{', '.join(lacking)}: lacks data ({history_s:.0f}s of history, "
            f"a window needs at least {PARTIAL_MIN:.0%} of its length)"
        )
    return EvictionSummary(
        scope=reader.scope,
        kind=kind.name,
        at_ms=reader.at_ms,
        history_s=history_s,
        interval_s=interval_s,
        windows=tuple(windows),
        trend=trend,
        hit_ratio_correlation=hit_r,
        detail_window=detail.window if detail else None,
        memory=_memory(reader, kind, history_s, interval_s),
        slabs=_slabs(reader, windows, detail, trend_plan) if memcached else (),
        nodes=_nodes(reader, kind, windows, trend_plan) if reader.scope.label == "cluster" else (),
        slab_activity=_slab_activity(reader, detail_w) if memcached and detail_w else None,
        notes=tuple(notes),
    )


def _share(part: float | None, whole: float | None) -> float | None:
    """part / whole, None unless whole > 0 (as the `/ (... > 0)` of the share expressions)."""
    if part is None or whole is None or whole <= 0:
        return None
    return part / whole


def _window_rates(
    reader: _Reader, kind: _Kind, name: str, seconds: float, covered: float, status: str
) -> WindowRates:
    if status == "no data":
        return WindowRates(name, seconds, 0.0, status)
    w = window_text(covered)
    evictions = reader.one(kind.evictions, w)
    common = {
        "evictions_per_s": evictions,
        "expirations_per_s": reader.one(kind.expirations, w),
        "hit_ratio": reader.one(kind.hit_ratio, w),
    }
    if kind is not _MEMCACHED:
        return WindowRates(name, seconds, covered, status, **common)
    # the shares from the rates already read: the same arithmetic as
    # MEMCACHED_UNFETCHED_EVICTION_SHARE and MEMCACHED_WASTED_WRITE_SHARE, without
    # reading the counters twice
    evicted_unfetched = reader.one(x.MEMCACHED_EVICTED_UNFETCHED_RATE, w)
    expired_unfetched = reader.one(x.MEMCACHED_EXPIRED_UNFETCHED_RATE, w)
    wasted = (
        evicted_unfetched + expired_unfetched
        if evicted_unfetched is not None and expired_unfetched is not None
        else None
    )
    return WindowRates(
        name,
        seconds,
        covered,
        status,
        **common,
        evicted_unfetched_per_s=evicted_unfetched,
        expired_unfetched_per_s=expired_unfetched,
        reclaimed_per_s=reader.one(x.MEMCACHED_RECLAIMED_RATE, w),
        unfetched_eviction_share=_share(evicted_unfetched, evictions),
        wasted_write_share=_share(wasted, reader.one(x.MEMCACHED_STORES_RATE, w)),
        slabs_moved_per_s=reader.one(x.MEMCACHED_SLABS_MOVED_RATE, w),
    )


@dataclass(frozen=True, slots=True)
class _TrendPlan:
    window: str
    start_ms: int
    step_ms: int


def _trend_plan(history_s: float, interval_s: float | None, at_ms: int) -> _TrendPlan | None:
    """Points of a short-window rate over the last TREND_SPAN_S (or the history there is):
    each point's rate window is a fifth of the span, and at least three polls long."""
    span = min(history_s, TREND_SPAN_S)
    interval = interval_s or 1.0
    rate_window = max(span / 5, 3 * interval)
    points_span = span - rate_window
    if points_span < 2 * interval:
        return None
    step = max(points_span / (_TREND_POINTS - 1), interval)
    return _TrendPlan(
        window_text(rate_window), at_ms - round(points_span * 1000), max(1, round(step * 1000))
    )


def _reading(ts: np.ndarray, values: np.ndarray) -> TrendReading:
    return classify_trend(ts / 1000, values)


def _unknown() -> TrendReading:
    return TrendReading(Trend.UNKNOWN, None, None, 0, 0.0)


def _scope_trend(
    reader: _Reader, kind: _Kind, plan: _TrendPlan | None
) -> tuple[TrendReading, float | None]:
    if plan is None:
        return _unknown(), None
    evictions = reader.series(kind.evictions, plan.window, plan.start_ms, plan.step_ms)
    if not evictions:
        return _unknown(), None
    _, ts, values = evictions[0]
    hits = reader.series(kind.hit_ratio, plan.window, plan.start_ms, plan.step_ms)
    r = None
    if hits:
        _, hit_ts, hit_values = hits[0]
        common, ei, hi = np.intersect1d(ts, hit_ts, return_indices=True)
        r = correlation(values[ei], hit_values[hi]) if len(common) else None
    return _reading(ts, values), r


def _grouped_trends(
    reader: _Reader, template: str, plan: _TrendPlan | None, label: str, by: str | None = None
) -> dict[str, TrendReading]:
    if plan is None:
        return {}
    return {
        labels.get(label, ""): _reading(ts, values)
        for labels, ts, values in reader.series(
            template, plan.window, plan.start_ms, plan.step_ms, by
        )
    }


def _per_window(
    reader: _Reader,
    template: str,
    windows: list[WindowRates],
    label: str,
    by: str | None = None,
) -> dict[str, dict[str, float | None]]:
    """label value -> window name -> rate."""
    out: dict[str, dict[str, float | None]] = {}
    for w in windows:
        if not w.reported:
            continue
        for key, value in reader.by_label(template, window_text(w.covered_s), label, by).items():
            out.setdefault(key, {})[w.window] = value
    return {key: {w.window: rates.get(w.window) for w in windows} for key, rates in out.items()}


def _slab_order(slab: str) -> tuple[int, str]:
    return (int(slab), slab) if slab.isdigit() else (1 << 30, slab)


def _slabs(
    reader: _Reader,
    windows: list[WindowRates],
    detail: WindowRates | None,
    plan: _TrendPlan | None,
) -> tuple[SlabRates, ...]:
    rates = _per_window(reader, x.MEMCACHED_SLAB_EVICTIONS_RATE, windows, "slab")
    trends = _grouped_trends(reader, x.MEMCACHED_SLAB_EVICTIONS_RATE, plan, "slab")
    memory = reader.by_label(x.MEMCACHED_SLAB_MEMORY_BYTES, "1m", "slab")
    share = reader.by_label(x.MEMCACHED_SLAB_MEMORY_SHARE, "1m", "slab")
    items = reader.by_label(x.MEMCACHED_SLAB_ITEMS, "1m", "slab")

    def at_detail(template: str) -> dict[str, float]:
        if detail is None:
            return {}
        return reader.by_label(template, window_text(detail.covered_s), "slab")

    unfetched = at_detail(x.MEMCACHED_SLAB_EVICTED_UNFETCHED_RATE)
    expired = at_detail(x.MEMCACHED_SLAB_EXPIRED_UNFETCHED_RATE)
    reclaimed = at_detail(x.MEMCACHED_SLAB_RECLAIMED_RATE)
    evicted = {
        slab: by_window.get(detail.window) if detail else None for slab, by_window in rates.items()
    }
    slabs = sorted(set(rates) | set(memory), key=_slab_order)
    empty: dict[str, float | None] = {w.window: None for w in windows}
    return tuple(
        SlabRates(
            slab=slab,
            evictions_per_s=rates.get(slab, empty),
            trend=trends.get(slab, _unknown()),
            evicted_unfetched_per_s=unfetched.get(slab),
            expired_unfetched_per_s=expired.get(slab),
            reclaimed_per_s=reclaimed.get(slab),
            unfetched_eviction_share=_share(unfetched.get(slab), evicted.get(slab)),
            memory_bytes=memory.get(slab),
            memory_share=share.get(slab),
            items=items.get(slab),
        )
        for slab in slabs
    )


def _nodes(
    reader: _Reader, kind: _Kind, windows: list[WindowRates], plan: _TrendPlan | None
) -> tuple[NodeRates, ...]:
    rates = _per_window(reader, kind.evictions, windows, "instance", "instance")
    trends = _grouped_trends(reader, kind.evictions, plan, "instance", "instance")
    # every node, also before any window has enough history for a rate
    present = reader.vector(f"group by ($by) ({kind.counter}{{$sel}})", "1m", "instance")
    instances = sorted({labels.get("instance", "") for labels, _ in present} | set(rates))
    no_rates: dict[str, float | None] = {w.window: None for w in windows}
    return tuple(
        NodeRates(instance, rates.get(instance, no_rates), trends.get(instance, _unknown()))
        for instance in instances
    )


def _memory(
    reader: _Reader, kind: _Kind, history_s: float, interval_s: float | None
) -> tuple[MemoryStatus, ...]:
    used = reader.by_label(kind.memory_used, "1m", "instance", "instance")
    limit = reader.by_label(kind.memory_max, "1m", "instance", "instance")
    growth_window = min(history_s, DETAIL_MAX_S)
    to_full: dict[str, float] = {}
    if growth_window >= 3 * (interval_s or 1.0):
        to_full = reader.by_label(
            kind.seconds_to_full, window_text(growth_window), "instance", "instance"
        )
    if kind is _REDIS:
        policies = {
            labels.get("instance", ""): labels.get("maxmemory_policy", "")
            for labels, _ in reader.vector(x.REDIS_MAXMEMORY_POLICY, "1m", "instance")
        }
    else:
        enabled = reader.by_label(x.MEMCACHED_EVICTIONS_ENABLED, "1m", "instance", "instance")
        policies = {i: "lru" if on else "noevict (-M)" for i, on in enabled.items()}
    return tuple(
        MemoryStatus(
            instance=instance,
            used_bytes=used.get(instance),
            max_bytes=limit.get(instance) or None,
            policy=policies.get(instance) or None,
            seconds_to_full=to_full.get(instance),
        )
        for instance in sorted(set(used) | set(limit))
    )


def _slab_activity(reader: _Reader, detail_w: str) -> SlabActivity:
    return SlabActivity(
        moved_per_s=reader.one(x.MEMCACHED_SLABS_MOVED_RATE, detail_w),
        rescues_per_s=reader.one(x.MEMCACHED_SLAB_REASSIGN_RESCUES_RATE, detail_w),
        evictions_nomem_per_s=reader.one(x.MEMCACHED_SLAB_REASSIGN_EVICTIONS_NOMEM_RATE, detail_w),
        automove_mode=reader.one(x.MEMCACHED_SLAB_AUTOMOVE_MODE),
    )
