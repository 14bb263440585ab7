"""Watching real servers with the doctor running, as `serve` does, but fast: polls every
500 ms, the slow tier (CONFIG GET, CLIENT LIST) every second, clients idle after 1 s, and a
namespace budget high enough to finish a pass in seconds."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from monitor.config import Config, config_from_urls
from monitor.doctor import EngineQuerier, Finding, evaluate
from monitor.doctor.runner import DoctorRunner
from monitor.model import now_ms
from monitor.query import Engine
from monitor.runtime import Runtime
from tests.waiting import wait_for

__all__ = ["Watched", "watching"]

FAST_DOCTOR = {
    "interval": "1s",
    "namespaces_floor": 400,
    "namespaces_budget": 2000,
    "namespaces_samples": 64,
}


class Watched:
    def __init__(self, runtime: Runtime, doctor: DoctorRunner) -> None:
        self.runtime = runtime
        self.doctor = doctor

    def findings(self) -> list[Finding]:
        return evaluate(EngineQuerier(Engine(self.runtime.store)), now_ms())

    def rules_on(self, instance: str) -> set[str]:
        return {f.rule for f in self.findings() if f.instance == instance}

    def wait_rules(self, instance: str, rules: set[str], timeout_s: float = 40.0) -> set[str]:
        """Wait until every rule in `rules` holds on `instance`; returns what holds then."""
        found: set[str] = set()

        def holds() -> bool:
            nonlocal found
            found = self.rules_on(instance)
            return rules <= found

        try:
            wait_for(holds, timeout_s, f"{sorted(rules)} on {instance}")
        except AssertionError:
            raise AssertionError(
                f"on {instance}: missing {sorted(rules - found)}; found {sorted(found)}"
            ) from None
        return found

    def wait_polled(self, instances: list[str], for_s: float = 1.0) -> None:
        """Until each target has answered polls for `for_s` (a baseline for rates)."""

        def polled() -> bool:
            statuses = {s.target.instance: s for s in self.runtime.statuses()}
            return all(
                i in statuses
                and bool(statuses[i].up)
                and statuses[i].last_poll_ms - statuses[i].up_since_ms >= for_s * 1000
                for i in instances
            )

        wait_for(polled, 30, f"polls of {instances}")


@contextmanager
def watching(
    urls: list[str],
    doctor: dict[str, Any] | None = None,
    collectors: dict[str, Any] | None = None,
    interval_s: float = 0.5,
    evaluate_continuously: bool = True,
) -> Iterator[Watched]:
    with tempfile.TemporaryDirectory(prefix="cachewatch-doctor-test-") as tmp:
        base = Config(
            collectors={"clients_idle_after": "1s", **(collectors or {})},
            doctor={**FAST_DOCTOR, **(doctor or {})},
        )
        base = replace(base, global_=replace(base.global_, slow_interval_s=1.0))
        config = config_from_urls(
            urls, base, interval_s=interval_s, store_path=str(Path(tmp) / "store")
        )
        runner = DoctorRunner(config.doctor, evaluate_continuously=evaluate_continuously)
        runtime = Runtime(config)
        runtime.on_started(runner.start)
        runtime.on_stopping(runner.stop)
        runtime.start_background()
        try:
            yield Watched(runtime, runner)
        finally:
            runtime.stop_background()
