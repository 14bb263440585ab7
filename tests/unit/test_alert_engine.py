"""The evaluator follows Prometheus's state machine, and its state survives a restart."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from alerts.engine import RuleEngine
from alerts.querier import QueryError
from alerts.rules import RuleGroup, parse_rule_file
from alerts.sink import StoreSink
from alerts.state import AlertSnapshot, AlertState
from monitor.model import Labels, SampleBatch, now_ms

RULES = """
groups:
- name: g
  interval: 10s
  rules:
  - alert: Down
    expr: up == 0
    for: 20s
    keep_firing_for: 10s
    labels: {severity: critical}
    annotations: {summary: "{{ $labels.instance }} down ({{ $value }})"}
  - record: instance:up:x2
    expr: up * 2
"""


class FixedQuerier:
    """Answers from a settable table: expr -> vector. A fake of the seam, not the engine."""

    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[dict[str, str], float]]] = {}
        self.fail = False

    def query(self, expr: str, at_ms: int) -> list[tuple[dict[str, str], float]]:
        if self.fail:
            raise QueryError("store unavailable")
        return self.answers.get(expr, [])

    def down(self, *instances: str) -> None:
        self.answers["up == 0"] = [({"__name__": "up", "instance": i}, 0.0) for i in instances]


class RecordingStore:
    def __init__(self) -> None:
        self.batches: list[SampleBatch] = []
        self.stale: list[tuple[Labels, int]] = []

    def append(self, batch: SampleBatch) -> None:
        self.batches.append(batch)

    def mark_stale(self, target_labels: Labels, ts_ms: int, source: str = "") -> None:
        self.stale.append((target_labels, ts_ms))


class Collect:
    def __init__(self) -> None:
        self.calls: list[list[AlertSnapshot]] = []

    def notify(self, alerts: Sequence[AlertSnapshot], now_ms: int) -> None:
        self.calls.append(list(alerts))


def groups() -> list[RuleGroup]:
    found, problems = parse_rule_file(RULES, "r.yml")
    assert problems == []
    return found


def states(engine: RuleEngine) -> dict[str, str]:
    return {dict(a.labels)["instance"]: a.state.value for a in engine.alerts(True)}


def test_pending_firing_keep_firing_resolved() -> None:
    querier, store, notes = FixedQuerier(), RecordingStore(), Collect()
    engine = RuleEngine(groups(), querier, StoreSink(store), notes)
    t0 = 1_000_000
    querier.down("a")
    engine.evaluate_due(t0)
    assert states(engine) == {"a": "pending"}
    engine.evaluate_due(t0 + 10_000)
    assert states(engine) == {"a": "pending"}
    engine.evaluate_due(t0 + 20_000)
    assert states(engine) == {"a": "firing"}
    alert = engine.alerts()[0]
    assert dict(alert.labels) == {"alertname": "Down", "instance": "a", "severity": "critical"}
    assert alert.annotation_map["summary"] == "a down (0)"
    querier.down()
    engine.evaluate_due(t0 + 30_000)
    assert states(engine) == {"a": "firing"}, "keep_firing_for holds it one more interval"
    engine.evaluate_due(t0 + 40_000)
    assert states(engine) == {"a": "inactive"}
    assert notes.calls[-1][0].state is AlertState.INACTIVE
    assert notes.calls[-1][0].resolved_at_ms == t0 + 40_000


def test_pending_alert_that_clears_never_fires_or_notifies() -> None:
    querier, notes = FixedQuerier(), Collect()
    engine = RuleEngine(groups(), querier, None, notes)
    querier.down("a")
    engine.evaluate_due(0)
    querier.down()
    engine.evaluate_due(10_000)
    assert engine.alerts(True) == []
    assert all(call == [] for call in notes.calls)


def test_alerts_series_and_staleness_written_to_the_store() -> None:
    querier, store = FixedQuerier(), RecordingStore()
    querier.answers["up * 2"] = [({"instance": "a"}, 2.0)]
    engine = RuleEngine(groups(), querier, StoreSink(store))
    querier.down("a")
    engine.evaluate_due(0)
    written = {(b.names[i], b.target_labels) for b in store.batches for i in range(len(b))}
    assert all(b.source == "rules" for b in store.batches)
    assert (
        "ALERTS",
        (
            ("alertname", "Down"),
            ("alertstate", "pending"),
            ("instance", "a"),
            ("severity", "critical"),
        ),
    ) in written
    assert ("instance:up:x2", (("instance", "a"),)) in written
    for_state = [b for b in store.batches if b.names == ["ALERTS_FOR_STATE"]]
    assert for_state[0].values == [0.0]
    querier.down()
    engine.evaluate_due(10_000)
    assert any(dict(labels).get("alertstate") == "pending" for labels, _ in store.stale)


def test_failed_query_leaves_alerts_alone() -> None:
    querier = FixedQuerier()
    engine = RuleEngine(groups(), querier)
    querier.down("a")
    for t in (0, 10_000, 20_000):
        engine.evaluate_due(t)
    querier.fail = True
    engine.evaluate_due(30_000)
    assert states(engine) == {"a": "firing"}
    assert any(h.error == "store unavailable" for h in engine.health())


def test_a_failing_rule_is_logged_once_per_new_error(caplog: pytest.LogCaptureFixture) -> None:
    """An unreachable upstream fails every rule every interval: one warning per rule, then
    quiet until the error changes or clears."""
    querier = FixedQuerier()
    engine = RuleEngine(groups(), querier)
    querier.fail = True
    with caplog.at_level(logging.INFO, logger="cachewatch.alerts"):
        for t in (0, 10_000, 20_000, 30_000):
            engine.evaluate_due(t)
        warned = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warned) == len(engine.health())  # each rule once, not four times
        querier.fail = False
        engine.evaluate_due(40_000)
        assert sum("evaluates again" in r.getMessage() for r in caplog.records) == len(warned)
        querier.fail = True
        engine.evaluate_due(50_000)
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2 * len(engine.health())


def test_duplicate_label_sets_are_a_rule_error() -> None:
    querier = FixedQuerier()
    querier.answers["up == 0"] = [
        ({"__name__": "up", "instance": "a"}, 0.0),
        ({"__name__": "other", "instance": "a"}, 0.0),
    ]
    engine = RuleEngine(groups(), querier)
    engine.evaluate_due(0)
    assert engine.alerts() == []
    assert any(h.error and "same labelset" in h.error for h in engine.health())


def test_restart_keeps_for_timers_and_firing_state(tmp_path: Path) -> None:
    querier = FixedQuerier()
    querier.down("a", "b")
    t0 = now_ms()
    first = RuleEngine(groups(), querier, state_path=tmp_path / "alerts.json")
    first.evaluate_due(t0)
    first.evaluate_due(t0 + 10_000)
    first.evaluate_due(t0 + 20_000)
    assert states(first) == {"a": "firing", "b": "firing"}
    notes = Collect()
    second = RuleEngine(groups(), querier, None, notes, tmp_path / "alerts.json")
    assert states(second) == {"a": "firing", "b": "firing"}
    second.evaluate_due(t0 + 30_000)
    assert [a.fired_at_ms for a in notes.calls[-1]] == [t0 + 20_000, t0 + 20_000]


def test_groups_run_on_their_interval_and_skip_missed_ones() -> None:
    querier = FixedQuerier()
    engine = RuleEngine(groups(), querier)
    assert engine.evaluate_due(0) == 1
    assert engine.evaluate_due(5_000) == 0
    assert engine.evaluate_due(95_000) == 1
    assert engine.next_due_ms() == 100_000


def test_sink_keeps_same_label_sets_of_different_groups_apart() -> None:
    from monitor.query import Engine, MemoryReader

    class Reader(MemoryReader):
        """The store's append/mark_stale contract over the in-memory reader."""

        def __init__(self) -> None:
            super().__init__()
            self.layout: dict[Labels, set[str]] = {}
            self.ended: list[str] = []

        def append(self, batch: SampleBatch) -> None:
            for name, value in zip(batch.names, batch.values, strict=True):
                self.add_series(
                    {**dict(batch.target_labels), "__name__": name}, [batch.ts_ms], [value]
                )
            self.ended += self.layout.get(batch.target_labels, set()) - set(batch.names)
            self.layout[batch.target_labels] = set(batch.names)

        def mark_stale(self, target_labels: Labels, ts_ms: int, source: str = "") -> None:
            self.layout.pop(target_labels, None)

    reader = Reader()
    sink = StoreSink(reader)
    instance = (("instance", "a"),)
    sink.write("g1", 1000, [("hits:rate", instance, 5.0)])
    sink.write("g2", 1000, [("misses:rate", instance, 1.0)])
    sink.write("g1", 2000, [("hits:rate", instance, 6.0)])
    engine = Engine(reader)
    assert engine.instant("hits:rate", 2000).samples == [
        ({"__name__": "hits:rate", "instance": "a"}, 6.0)
    ]
    assert engine.instant("misses:rate", 2000).samples[0][1] == 1.0
    assert reader.ended == []
    sink.write("g2", 3000, [])
    assert reader.ended == ["misses:rate"]


def test_rule_output_never_ends_the_series_of_a_target_with_the_same_labels(
    tmp_path: Path,
) -> None:
    """A rule aggregated `by (instance)` writes exactly the label set of a target polled from a
    bare URL; its writes must not mark that target's raw series stale (they did: no alert of
    the default pack fired for bare-URL targets)."""
    from monitor.model import Matcher
    from monitor.store import EmbeddedStore

    store = EmbeddedStore.open(tmp_path / "store")
    try:
        target = (("instance", "127.0.0.1:6379"),)
        sink = StoreSink(store)
        for second in range(6):
            poll = SampleBatch(1_000_000 + second * 1000, target)
            poll.add("redis_up", 1.0)
            poll.add("redis_uptime_in_seconds", 10.0 + second)
            store.append(poll)
            sink.write("recording", 1_000_500 + second * 1000, [("instance:x:rate5m", target, 1.0)])
        up = store.select([Matcher("__name__", "=", "redis_up")], 1_000_000, 1_010_000)
        recorded = store.select([Matcher("__name__", "=", "instance:x:rate5m")], 0, 2_000_000)
        sink.write("recording", 1_006_500, [])
        ended = store.select([Matcher("__name__", "=", "instance:x:rate5m")], 0, 2_000_000)
        still_up = store.select([Matcher("__name__", "=", "redis_up")], 1_000_000, 1_010_000)
    finally:
        store.close()
    assert len(up) == 1 and up[0].values.tolist() == [1.0] * 6
    assert [dict(s.labels) for s in recorded] == [
        {"__name__": "instance:x:rate5m", "instance": "127.0.0.1:6379"}
    ]
    assert math.isnan(ended[0].values[-1]) and len(ended[0].values) == 7
    assert still_up[0].values.tolist() == [1.0] * 6
