"""Hot-key detection as part of the running engine (`serve`, `tui`, `demo`, `poll`).

One `HotKeyDetector` per polled target, stepped every second on the engine's loop within a
command budget, following the fleet as discovery adds and removes nodes. Each target's
latest report reaches the UIs (`reports()`) and, through the poller, the store and
`/metrics` as the top-K series `cachewatch_hotkey_ops_per_second{rank,method[,key]}` (key
names only when `export_key_names` is on, masked by the configured regex).

The sampling budget of each server follows its own traffic (`monitor/hotkeys_budget.py`):
`command_share` (0.02) of the application's commands per second, at least `command_floor`
(20) and at most `command_budget` (2000) commands a second, less what other cachewatch
processes already sample there; the whole fleet shares at most `FLEET_BUDGET_PER_S`.

The `[hotkeys]` table: `enabled` (default true), `top` (10), `command_budget`,
`command_share`, `command_floor`, `monitor` (opt-in MONITOR bursts), `monitor_burst`,
`monitor_every`, `window`, `metadump`, `export_key_names`, `mask_regex` + `mask_replacement`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from collectors.hotkeys import (
    HotKeyDetector,
    HotKeyOptions,
    HotKeyReport,
    KeyExportPolicy,
    report_samples,
)
from monitor.durations import parse_duration
from monitor.hotkeys_budget import BudgetPolicy, SamplingBudget, read_traffic
from monitor.model import SampleBatch
from monitor.sections import SectionContext, SectionSpec
from monitor.targets import Target

__all__ = ["HotKeysRunner", "HotKeysSettingsError", "FLEET_BUDGET_PER_S", "HOTKEYS_SECTION"]

log = logging.getLogger("cachewatch.hotkeys")

#: sampling commands per second the whole fleet's detectors may send together
FLEET_BUDGET_PER_S = 5000.0
_STEP_TIMEOUT_S = 2.0


class HotKeysSettingsError(ValueError):
    pass


_DEFAULT_POLICY = BudgetPolicy()


def _policy(table: dict[str, Any]) -> BudgetPolicy:
    policy = BudgetPolicy(
        share=float(table.get("command_share", _DEFAULT_POLICY.share)),
        floor_per_s=float(table.get("command_floor", _DEFAULT_POLICY.floor_per_s)),
        ceiling_per_s=float(table.get("command_budget", _DEFAULT_POLICY.ceiling_per_s)),
    )
    if not 0 <= policy.share <= 1:
        raise ValueError(f"command_share: {policy.share} is not between 0 and 1")
    if not 0 <= policy.floor_per_s <= policy.ceiling_per_s:
        raise ValueError(
            f"command_floor ({policy.floor_per_s:g}) must be between 0 and command_budget "
            f"({policy.ceiling_per_s:g})"
        )
    return policy


def _options(
    table: dict[str, Any],
) -> tuple[bool, HotKeyOptions, KeyExportPolicy, BudgetPolicy]:
    try:
        budget = _policy(table)
        options = HotKeyOptions(
            top=int(table.get("top", 10)),
            command_budget_per_s=budget.floor_per_s,
            monitor=bool(table.get("monitor", False)),
            burst_s=parse_duration(str(table.get("monitor_burst", "100ms"))),
            burst_every_s=parse_duration(str(table.get("monitor_every", "10s"))),
            window_s=parse_duration(str(table.get("window", "10s"))),
            metadump=bool(table.get("metadump", False)),
            big_keys=bool(table.get("big_keys", True)),
        )
        masks: tuple[tuple[str, str], ...] = ()
        if "mask_regex" in table:
            masks = ((str(table["mask_regex"]), str(table.get("mask_replacement", "***"))),)
        policy = KeyExportPolicy(
            export_key_names=bool(table.get("export_key_names", False)), masks=masks
        )
    except (TypeError, ValueError) as exc:
        raise HotKeysSettingsError(f"[hotkeys]: {exc}") from None
    return bool(table.get("enabled", True)), options, policy, budget


def _parse_section(table: Mapping[str, Any], context: SectionContext) -> object:
    return _options(table if isinstance(table, dict) else dict(table))


#: `_options` is the one place the keys are written: the config check learns them from it
HOTKEYS_SECTION = SectionSpec("hotkeys", _parse_section)


class HotKeysRunner:
    def __init__(self, table: dict[str, Any]) -> None:
        self.enabled, self._options, self._policy, self._budget_policy = _options(table)
        self._detectors: dict[str, HotKeyDetector] = {}
        self._budgets: dict[str, SamplingBudget] = {}
        self._budget_at: dict[str, int] = {}
        self._failures: dict[str, str] = {}

    def reports(self) -> list[HotKeyReport]:
        """The latest report of every target (what the web and TUI hot-key views show)."""
        return [d.report() for d in list(self._detectors.values())]

    def shown_reports(self) -> list[HotKeyReport]:
        """`reports()` with hot and big key names passed through the configured masks: what
        the TUI shows (key names often carry user ids or tokens)."""
        shown = self._policy.shown
        return [
            replace(
                report,
                hot=tuple(replace(e, key=shown(e.key)) for e in report.hot),
                big=tuple(replace(b, key=shown(b.key)) for b in report.big),
            )
            for report in self.reports()
        ]

    def contribute(self, target: Target, batch: SampleBatch) -> None:
        """Add this target's top-K series to its poll (called by the poller)."""
        detector = self._detectors.get(target.instance)
        if detector is not None:
            report_samples(detector.report(), batch, self._policy, self._options.top)

    async def start(self, runtime: Any) -> None:
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
        fleet_cap = FLEET_BUDGET_PER_S / max(len(statuses), 1)
        for instance, status in statuses.items():
            detector = self._detectors.get(instance)
            if detector is None:
                detector = self._detectors[instance] = HotKeyDetector(status.target, self._options)
            budget = self._follow_traffic(instance, status.last_batch)
            detector.set_budget(min(budget, fleet_cap))
        await asyncio.gather(*(self._step_one(d) for d in list(self._detectors.values())))

    def _follow_traffic(self, instance: str, batch: SampleBatch | None) -> float:
        """This target's sampling budget, updated when a new poll arrived."""
        budget = self._budgets.get(instance)
        if budget is None:
            budget = self._budgets[instance] = SamplingBudget(self._budget_policy)
        if batch is not None and batch.ts_ms != self._budget_at.get(instance):
            self._budget_at[instance] = batch.ts_ms
            reading = read_traffic(batch.ts_ms, batch.names, batch.labels, batch.values)
            if reading is not None:
                budget.update(reading)
        return budget.rate_per_s

    def budgets(self) -> dict[str, SamplingBudget]:
        """Each target's sampling budget (what the views and tests read)."""
        return dict(self._budgets)

    async def _step_one(self, detector: HotKeyDetector) -> None:
        try:
            async with asyncio.timeout(_STEP_TIMEOUT_S):
                await detector.step()
        except Exception as exc:  # the target's own poller reports it down; say it once
            message = f"{type(exc).__name__}: {exc}"
            if self._failures.get(detector.instance) != message:
                self._failures[detector.instance] = message
                log.info("hot keys on %s: %s (will retry)", detector.instance, message)

    async def stop(self) -> None:
        for detector in list(self._detectors.values()):
            await detector.close()
        self._detectors.clear()
