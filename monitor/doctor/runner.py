"""The doctor inside a running engine (`serve`, `tui`, `demo`, and `doctor`'s live poll):

- every `interval` (30 s) the rules are evaluated over the runtime's store, in a thread;
  the standing findings (`findings()`) keep their first-seen time while they hold (restored
  from the store after a restart) and clear when their evidence does;
- every second, each Redis target's namespace sampler gets the commands its budget allows:
  a share of the server's own traffic (`monitor/hotkeys_budget.py`'s `BudgetPolicy` and
  `SamplingBudget`, as the hot-key detector), at least the floor even on an idle server;
- each poll of a target gets its findings (`cachewatch_finding*`) and its bounded namespace
  series added (`contribute`), so they reach the store and `/metrics` with the target's
  labels and end with it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from typing import Any

from collectors.namespaces import NamespaceReport, NamespaceSampler, add_namespace_samples
from monitor.doctor.engine import EngineQuerier, by_instance, evaluate
from monitor.doctor.live import first_seen_in_store
from monitor.doctor.model import Finding
from monitor.doctor.series import add_finding_samples
from monitor.doctor.settings import DoctorSettings, parse_doctor_settings
from monitor.doctor.tracker import FindingTracker
from monitor.hotkeys_budget import SamplingBudget, read_traffic
from monitor.model import SampleBatch, now_ms
from monitor.targets import Target, TargetKind

__all__ = ["DoctorRunner"]

log = logging.getLogger("cachewatch.doctor")
_STEP_TIMEOUT_S = 2.0
_FIRST_LOOK_S = 5.0


class DoctorRunner:
    """`runtime.on_started(runner.start)`, `runtime.on_stopping(runner.stop)`."""

    def __init__(
        self,
        table: Mapping[str, Any] | DoctorSettings,
        evaluate_continuously: bool = True,
    ) -> None:
        self.settings = table if isinstance(table, DoctorSettings) else parse_doctor_settings(table)
        self._evaluate_continuously = evaluate_continuously
        self.tracker = FindingTracker()
        self._by_instance: dict[str, list[Finding]] = {}
        self._samplers: dict[str, NamespaceSampler] = {}
        self._budgets: dict[str, SamplingBudget] = {}
        self._budget_at: dict[str, int] = {}
        self._credit: dict[str, float] = {}
        self._failures: dict[str, str] = {}
        self._restored = False
        self._first: asyncio.TimerHandle | None = None
        self._first_task: asyncio.Future[None] | None = None
        self.evaluations = 0
        self._evaluated_ms: int | None = None

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    # -- what the views read ---------------------------------------------------------

    def findings(self) -> list[Finding]:
        return list(self.tracker.standing)

    def namespace_reports(self) -> list[NamespaceReport]:
        at = now_ms()
        return [sampler.report(at) for sampler in list(self._samplers.values())]

    def contribute(self, target: Target, batch: SampleBatch) -> None:
        add_finding_samples(self._by_instance.get(target.instance, ()), batch, self._evaluated_ms)
        sampler = self._samplers.get(target.instance)
        if sampler is not None:
            add_namespace_samples(
                sampler.report(batch.ts_ms), batch, self.settings.namespace_options.top
            )

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, runtime: Any) -> None:
        if not self.settings.enabled:
            return
        runtime.add_contributor(self.contribute)
        assert runtime.scheduler is not None
        if self._evaluate_continuously:
            runtime.scheduler.add_periodic(
                "doctor", self.settings.interval_s, functools.partial(self._evaluate, runtime)
            )
            # a first look soon after start, once a few polls are in
            self._first = asyncio.get_running_loop().call_later(
                min(_FIRST_LOOK_S, self.settings.interval_s), self._first_look, runtime
            )
        if self.settings.namespaces:
            runtime.scheduler.add_periodic(
                "namespaces", 1.0, functools.partial(self._step, runtime)
            )

    def _first_look(self, runtime: Any) -> None:
        self._first_task = asyncio.ensure_future(self._evaluate(runtime))

    async def stop(self) -> None:
        if self._first is not None:
            self._first.cancel()
        if self._first_task is not None:
            await asyncio.gather(self._first_task, return_exceptions=True)
        for sampler in list(self._samplers.values()):
            await sampler.close()
        self._samplers.clear()

    # -- evaluation ------------------------------------------------------------------

    async def _evaluate(self, runtime: Any) -> None:
        if runtime.store is None:
            return
        await asyncio.to_thread(self.evaluate_now, runtime.store)

    def evaluate_now(self, store: Any) -> list[Finding]:
        """Evaluate every rule over `store` now and update the standing findings."""
        from monitor.query import Engine

        querier = EngineQuerier(Engine(store))
        at = now_ms()
        if not self._restored:
            self._restored = True
            try:
                self.tracker.restore(first_seen_in_store(querier, at))
            except Exception as exc:  # an old store without the series: start afresh
                log.debug("doctor: no first-seen times to restore: %s", exc)
        standing = self.tracker.update(evaluate(querier, at), at)
        for finding in self.tracker.cleared:
            log.info("doctor: cleared %s on %s", finding.rule, finding.instance)
        self._by_instance = by_instance(standing)
        self.evaluations += 1
        self._evaluated_ms = at
        return standing

    # -- the namespace samplers ------------------------------------------------------

    async def _step(self, runtime: Any) -> None:
        statuses = {
            s.target.instance: s
            for s in runtime.statuses()
            if s.up
            and s.target.kind is TargetKind.REDIS
            and not (s.capabilities is not None and s.capabilities.sentinel)
            # a discovered replica holds its primary's keys (and a cluster replica answers
            # MEMORY USAGE with MOVED): sampling the primary is enough
            and dict(s.target.labels).get("role") != "replica"
        }
        for instance in list(self._samplers.keys() - statuses.keys()):
            await self._samplers.pop(instance).close()
            self._budgets.pop(instance, None)
            self._credit.pop(instance, None)
        steps = []
        for instance, status in statuses.items():
            sampler = self._samplers.get(instance)
            if sampler is None:
                sampler = self._samplers[instance] = NamespaceSampler(
                    status.target, self.settings.namespace_options
                )
            rate = self._rate(instance, status.last_batch)
            # what a step spends is taken off the credit afterwards: a SCAN costs more
            # than one step's allowance at the floor, and the debt is paid back over the
            # next steps, so the average holds
            credit = min(self._credit.get(instance, 0.0) + rate, 2 * rate)
            self._credit[instance] = credit
            if credit >= 1:
                steps.append(self._step_one(sampler, int(credit)))
        await asyncio.gather(*steps)

    def _rate(self, instance: str, batch: SampleBatch | None) -> float:
        """Commands a second for this target's sampler: its traffic share, at least the
        floor (an idle server's namespaces are still worth knowing)."""
        policy = self.settings.budget
        budget = self._budgets.get(instance)
        if budget is None:
            budget = self._budgets[instance] = SamplingBudget(policy)
        if batch is not None and batch.ts_ms != self._budget_at.get(instance):
            self._budget_at[instance] = batch.ts_ms
            reading = read_traffic(batch.ts_ms, batch.names, batch.labels, batch.values)
            if reading is not None:
                budget.update(reading)
        return min(policy.ceiling_per_s, max(budget.rate_per_s, policy.floor_per_s))

    def budgets(self) -> dict[str, float]:
        """Each target's current sampler rate, commands per second."""
        return {i: self._rate(i, None) for i in list(self._samplers)}

    async def _step_one(self, sampler: NamespaceSampler, allowance: int) -> None:
        try:
            async with asyncio.timeout(_STEP_TIMEOUT_S):
                spent = await sampler.step(allowance)
            if sampler.instance in self._credit:
                self._credit[sampler.instance] -= spent
        except Exception as exc:  # the poller reports the target down; say it once
            message = f"{type(exc).__name__}: {exc}"
            if self._failures.get(sampler.instance) != message:
                self._failures[sampler.instance] = message
                log.info("namespaces on %s: %s (will retry)", sampler.instance, message)
