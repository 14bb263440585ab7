"""Hot-key detection as part of the running engine (`serve`, `tui`, `demo`, `poll`).

One `HotKeyDetector` per polled target, stepped every second on the engine's loop within a
command budget, following the fleet as discovery adds and removes nodes. Each target's
latest report reaches the UIs (`reports()`) and, through the poller, the store and
`/metrics` as the top-K series `cachewatch_hotkey_ops_per_second{rank,method[,key]}` (key
names only when `export_key_names` is on, masked by the configured regex).

The `[hotkeys]` table: `enabled` (default true), `top` (10), `command_budget` (commands per
second per server for SCAN/OBJECT FREQ sampling; the whole fleet shares at most
`FLEET_BUDGET_PER_S`), `monitor` (opt-in MONITOR bursts), `monitor_burst`, `monitor_every`,
`window`, `metadump`, `export_key_names`, `mask_regex` + `mask_replacement`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
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
from monitor.model import SampleBatch
from monitor.targets import Target

__all__ = ["HotKeysRunner", "HotKeysSettingsError", "FLEET_BUDGET_PER_S"]

log = logging.getLogger("cachewatch.hotkeys")

#: sampling commands per second the whole fleet's detectors may send together
FLEET_BUDGET_PER_S = 5000.0
_STEP_TIMEOUT_S = 2.0


class HotKeysSettingsError(ValueError):
    pass


def _options(table: dict[str, Any]) -> tuple[bool, HotKeyOptions, KeyExportPolicy]:
    try:
        options = HotKeyOptions(
            top=int(table.get("top", 10)),
            command_budget_per_s=float(table.get("command_budget", 3000)),
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
    return bool(table.get("enabled", True)), options, policy


class HotKeysRunner:
    def __init__(self, table: dict[str, Any]) -> None:
        self.enabled, self._options, self._policy = _options(table)
        self._detectors: dict[str, HotKeyDetector] = {}
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
        targets = {
            s.target.instance: s.target
            for s in runtime.statuses()
            if s.up and not (s.capabilities is not None and s.capabilities.sentinel)
        }
        for instance in list(self._detectors.keys() - targets.keys()):
            await self._detectors.pop(instance).close()
        budget = min(self._options.command_budget_per_s, FLEET_BUDGET_PER_S / max(len(targets), 1))
        for instance, target in targets.items():
            if instance not in self._detectors:
                options = replace(self._options, command_budget_per_s=budget)
                self._detectors[instance] = HotKeyDetector(target, options)
        await asyncio.gather(*(self._step_one(d) for d in list(self._detectors.values())))

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
