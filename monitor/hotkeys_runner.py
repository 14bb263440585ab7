"""Hot-key detection as part of the running engine (`serve`, `tui`, `demo`, `poll`).

One `HotKeyDetector` per polled target, stepped every second on the engine's loop, following
the fleet as discovery adds and removes nodes. Each target's latest report reaches the UIs
(`reports()`) and, through the poller, the store and `/metrics` as bounded series: the top-K
`cachewatch_hotkey_ops_per_second{rank,method[,key]}` (key names only when
`export_key_names` is on, masked by the configured regex) and the top key patterns
`cachewatch_hotkey_pattern_ops_per_second{pattern}` (plus `other`).

Budgets follow each server's own traffic (`hotkeys_budget.py`): the LFU sampler's commands
per second, and, in `monitor = "auto"` mode, whether background MONITOR bursts may run (only
while the server's CPU over the last minute leaves headroom). `sample_now` is a person's
request: a one-shot detection that may take a bounded MONITOR sample where nothing cheaper
ranks keys (`[hotkeys] monitor_on_request`). Settings: `hotkeys_settings.py`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import replace
from typing import Any

from collectors.hotkeys import (
    HotKeyDetector,
    HotKeyReport,
    detect_hot_keys,
    report_samples,
)
from monitor.hotkeys_budget import CpuHeadroom, SamplingBudget, read_cpu_seconds, read_traffic
from monitor.hotkeys_settings import (
    HOTKEYS_SECTION,
    HotKeySettings,
    HotKeysSettingsError,
    MonitorMode,
    parse_hotkeys,
)
from monitor.model import SampleBatch
from monitor.targets import Target

__all__ = [
    "HotKeysRunner",
    "RunningHotKeys",
    "HotKeysSettingsError",
    "FLEET_BUDGET_PER_S",
    "HOTKEYS_SECTION",
    "UnknownTarget",
]

log = logging.getLogger("cachewatch.hotkeys")

#: sampling commands per second the whole fleet's detectors may send together
FLEET_BUDGET_PER_S = 5000.0
_STEP_TIMEOUT_S = 2.0


class UnknownTarget(LookupError):
    """`sample_now` was asked about an instance that is not a polled target."""


class HotKeysRunner:
    def __init__(self, table: dict[str, Any]) -> None:
        self.settings: HotKeySettings = parse_hotkeys(table)
        self._detectors: dict[str, HotKeyDetector] = {}
        self._budgets: dict[str, SamplingBudget] = {}
        self._headroom: dict[str, CpuHeadroom] = {}
        self._seen_poll: dict[str, int] = {}
        self._failures: dict[str, str] = {}
        self._runtime: Any = None

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def reports(self) -> list[HotKeyReport]:
        """The latest report of every target (what the web and TUI hot-key views show)."""
        return [d.report() for d in list(self._detectors.values())]

    def shown(self, report: HotKeyReport) -> HotKeyReport:
        """`report` with key names and patterns passed through the configured masks (key
        names often carry user ids or tokens)."""
        mask = self.settings.export.shown
        return replace(
            report,
            hot=tuple(replace(e, key=mask(e.key)) for e in report.hot),
            big=tuple(replace(b, key=mask(b.key)) for b in report.big),
            patterns=tuple(replace(p, pattern=mask(p.pattern)) for p in report.patterns),
        )

    def shown_reports(self) -> list[HotKeyReport]:
        """`reports()` as they may be shown (masked): what the TUI and web read."""
        return [self.shown(report) for report in self.reports()]

    def contribute(self, target: Target, batch: SampleBatch) -> None:
        """Add this target's top-K and pattern series to its poll (called by the poller)."""
        detector = self._detectors.get(target.instance)
        if detector is not None:
            report_samples(
                detector.report(),
                batch,
                self.settings.export,
                self.settings.options.top,
                self.settings.patterns,
            )

    async def start(self, runtime: Any) -> None:
        self._runtime = runtime
        if not self.enabled:
            return
        runtime.add_contributor(self.contribute)
        assert runtime.scheduler is not None
        runtime.scheduler.add_periodic("hotkeys", 1.0, functools.partial(self._step, runtime))

    async def _step(self, runtime: Any) -> None:
        # a Sentinel holds no keys: nothing to rank, and its CONFIG is not a server's
        statuses = {
            s.target.instance: s
            for s in runtime.statuses()
            if s.up and not (s.capabilities is not None and s.capabilities.sentinel)
        }
        for instance in list(self._detectors.keys() - statuses.keys()):
            await self._detectors.pop(instance).close()
            self._budgets.pop(instance, None)
            self._headroom.pop(instance, None)
        fleet_cap = FLEET_BUDGET_PER_S / max(len(statuses), 1)
        for instance, status in statuses.items():
            detector = self._detectors.get(instance)
            if detector is None:
                detector = HotKeyDetector(status.target, self.settings.options)
                self._detectors[instance] = detector
            self._follow_traffic(instance, status.last_batch)
            detector.set_budget(min(self._budgets[instance].rate_per_s, fleet_cap))
            detector.bursts_allowed = self._bursts_allowed(instance)
        await asyncio.gather(*(self._step_one(d) for d in list(self._detectors.values())))

    def _follow_traffic(self, instance: str, batch: SampleBatch | None) -> None:
        """Update this target's sampling budget and CPU headroom from a new poll."""
        budget = self._budgets.setdefault(instance, SamplingBudget(self.settings.budget))
        headroom = self._headroom.setdefault(instance, CpuHeadroom())
        if batch is None or batch.ts_ms == self._seen_poll.get(instance):
            return
        self._seen_poll[instance] = batch.ts_ms
        reading = read_traffic(batch.ts_ms, batch.names, batch.labels, batch.values)
        if reading is not None:
            budget.update(reading)
        cpu = read_cpu_seconds(batch.names, batch.values)
        if cpu is not None:
            headroom.observe(batch.ts_ms, cpu)

    def _bursts_allowed(self, instance: str) -> bool:
        if self.settings.monitor is not MonitorMode.AUTO:
            return True
        share = self._headroom[instance].cpu_share()
        return share is not None and share < self.settings.auto_max_cpu

    def budgets(self) -> dict[str, SamplingBudget]:
        """Each target's sampling budget (what the views and tests read)."""
        return dict(self._budgets)

    def headroom(self) -> dict[str, CpuHeadroom]:
        return dict(self._headroom)

    async def _step_one(self, detector: HotKeyDetector) -> None:
        try:
            async with asyncio.timeout(_STEP_TIMEOUT_S):
                await detector.step()
        except Exception as exc:  # the target's own poller reports it down; say it once
            message = f"{type(exc).__name__}: {exc}"
            if self._failures.get(detector.instance) != message:
                self._failures[detector.instance] = message
                log.info("hot keys on %s: %s (will retry)", detector.instance, message)

    async def sample_now(self, instance: str, duration_s: float | None = None) -> HotKeyReport:
        """A person's request: hot keys of `instance` now, over `duration_s` (the
        configured `request_duration` by default), masked for showing. Runs in the engine's
        loop (`runtime.call`); raises UnknownTarget for an instance that is not polled."""
        if self._runtime is None:
            raise UnknownTarget("hot keys are not running")
        target = next(
            (s.target for s in self._runtime.statuses() if s.target.instance == instance), None
        )
        if target is None:
            raise UnknownTarget(f"{instance!r} is not a polled target")
        options = self.settings.request_options(duration_s)
        report = await detect_hot_keys(replace(target, discover=False), options.window_s, options)
        return self.shown(report)

    async def stop(self) -> None:
        for detector in list(self._detectors.values()):
            await detector.close()
        self._detectors.clear()


class RunningHotKeys:
    """A started runner as the UIs and the HTTP API reach it (`readmodel.HotKeySampling`):
    its reports, and samples run in the engine's loop from any thread."""

    def __init__(self, runtime: Any, runner: HotKeysRunner) -> None:
        self._runtime = runtime
        self._runner = runner

    def reports(self) -> list[HotKeyReport]:
        return self._runner.shown_reports()

    def sample(self, instance: str, duration_s: float | None) -> HotKeyReport:
        seconds = duration_s or self._runner.settings.request_duration_s
        return self._runtime.call(  # type: ignore[no-any-return]
            self._runner.sample_now(instance, duration_s), timeout_s=seconds + 15
        )
