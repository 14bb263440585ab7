"""What `cachewatch doctor` diagnoses from: the store's recent history, or a short live poll
of the targets into a throwaway store (with the doctor's samplers running as in `serve`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monitor.config import Config
from monitor.doctor.engine import EngineQuerier, evaluate, instances_of
from monitor.doctor.model import Finding
from monitor.doctor.tracker import FindingTracker
from monitor.model import now_ms

__all__ = ["StoreHasNoHistory", "diagnose_store", "diagnose_live", "first_seen_in_store"]


class StoreHasNoHistory(Exception):
    """The configured store holds no recent sample of any target."""


def diagnose_store(config: Config) -> tuple[list[Finding], list[str]]:
    """Findings over the configured store's history, now."""
    from monitor.query import Engine
    from monitor.runtime import open_store

    path = config.store.path
    if config.store.backend != "prometheus" and not path.exists():
        raise StoreHasNoHistory(f"no store at {path}")
    store = open_store(config, read_only=True)
    try:
        querier = EngineQuerier(Engine(store))
        at = now_ms()
        targets = sorted(
            instances_of(querier, at, "redis") | instances_of(querier, at, "memcached")
        )
        if not targets:
            raise StoreHasNoHistory(f"the store at {path} has no recent history of any target")
        tracker = FindingTracker()
        tracker.restore(first_seen_in_store(querier, at))
        return tracker.update(evaluate(querier, at), at), targets
    finally:
        store.close()


def first_seen_in_store(querier: Any, at_ms: int) -> dict[Any, int]:
    """First-seen times a running doctor wrote (`cachewatch_finding_first_seen_...`)."""
    from monitor.doctor.rules import RULES
    from monitor.doctor.series import FIRST_SEEN

    out = {}
    for sample in querier.instant(f"last_over_time({FIRST_SEEN}[15m])", at_ms):
        rule = RULES.get(sample.labels.get("rule", ""))
        if rule is None:
            continue
        names = ("instance", *rule.keys)
        key = tuple(sorted((k, sample.labels[k]) for k in names if sample.labels.get(k)))
        out[(rule.id, key)] = int(sample.value * 1000)
    return out


def diagnose_live(
    config: Config, duration_s: float, note: Callable[[str], None]
) -> tuple[list[Finding], list[str]] | None:
    """Poll `config`'s targets for `duration_s`, then diagnose; None (with the reason
    noted) when no target ever answered."""
    from monitor.commands.live_wait import wait_polling
    from monitor.doctor.runner import DoctorRunner
    from monitor.query import Engine
    from monitor.runtime import Runtime

    runtime = Runtime(config)
    doctor = DoctorRunner(config.doctor, evaluate_continuously=False)
    runtime.on_started(doctor.start)
    runtime.on_stopping(doctor.stop)
    runtime.start_background()
    try:
        if not wait_polling(runtime, "the targets", duration_s, config.global_.interval_s, note):
            return None
        querier = EngineQuerier(Engine(runtime.store))
        at = now_ms()
        targets = sorted(s.target.instance for s in runtime.statuses())
        return FindingTracker().update(evaluate(querier, at, instances=targets), at), targets
    finally:
        runtime.stop_background()
