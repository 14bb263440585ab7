"""The `[hotkeys]` section: every key, its default and its parser, in one place (the config
check learns the keys from `parse_hotkeys`). docs/HOTKEYS.md ("Settings") explains each;
config.example.toml shows them all.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from collectors.hotkeys import HotKeyOptions, KeyExportPolicy
from monitor.durations import parse_duration
from monitor.hotkeys_budget import BudgetPolicy
from monitor.sections import SectionContext, SectionSpec

__all__ = [
    "HotKeySettings",
    "HotKeysSettingsError",
    "MonitorMode",
    "parse_hotkeys",
    "HOTKEYS_SECTION",
]


class HotKeysSettingsError(ValueError):
    pass


class MonitorMode(enum.StrEnum):
    OFF = "off"
    ON = "on"
    AUTO = "auto"


@dataclass(frozen=True, slots=True)
class HotKeySettings:
    enabled: bool
    #: the background detectors' options
    options: HotKeyOptions
    export: KeyExportPolicy
    budget: BudgetPolicy
    monitor: MonitorMode
    auto_max_cpu: float
    monitor_on_request: bool
    request_max_cost: float
    request_duration_s: float
    patterns: int

    def request_options(self, duration_s: float | None = None) -> HotKeyOptions:
        """The options of a person's request ("hot keys now")."""
        from dataclasses import replace

        window = duration_s if duration_s is not None else self.request_duration_s
        return replace(
            self.options,
            window_s=window,
            request=True,
            allow_monitor=self.monitor_on_request,
            max_loss=self.request_max_cost,
            command_budget_per_s=self.budget.ceiling_per_s,
        )


_DEFAULT_BUDGET = BudgetPolicy()


def _share(table: Mapping[str, Any], key: str, default: float, upper: float = 1.0) -> float:
    value = float(table.get(key, default))
    if not 0 <= value <= upper:
        raise ValueError(f"{key}: {value:g} is not between 0 and {upper:g}")
    return value


def _monitor_mode(value: object) -> MonitorMode:
    if isinstance(value, bool):  # the old switch: true meant bursts on
        return MonitorMode.ON if value else MonitorMode.OFF
    try:
        return MonitorMode(str(value))
    except ValueError:
        raise ValueError(f'monitor: {value!r} is not "off", "on" or "auto"') from None


def parse_hotkeys(table: Mapping[str, Any]) -> HotKeySettings:
    """The section as settings; raises HotKeysSettingsError naming the key."""
    try:
        budget = BudgetPolicy(
            share=_share(table, "command_share", _DEFAULT_BUDGET.share),
            floor_per_s=float(table.get("command_floor", _DEFAULT_BUDGET.floor_per_s)),
            ceiling_per_s=float(table.get("command_budget", _DEFAULT_BUDGET.ceiling_per_s)),
        )
        if not 0 <= budget.floor_per_s <= budget.ceiling_per_s:
            raise ValueError(
                f"command_floor ({budget.floor_per_s:g}) must be between 0 and command_budget "
                f"({budget.ceiling_per_s:g})"
            )
        monitor = _monitor_mode(table.get("monitor", "off"))
        options = HotKeyOptions(
            top=int(table.get("top", 10)),
            command_budget_per_s=budget.floor_per_s,
            monitor=monitor is not MonitorMode.OFF,
            max_loss=_share(table, "monitor_max_cost", 0.01, 0.5),
            burst_s=parse_duration(str(table.get("monitor_burst", "100ms"))),
            burst_every_s=parse_duration(str(table.get("monitor_every", "10s"))),
            window_s=parse_duration(str(table.get("window", "10s"))),
            metadump=bool(table.get("metadump", False)),
            big_keys=bool(table.get("big_keys", True)),
        )
        masks: tuple[tuple[str, str], ...] = ()
        if "mask_regex" in table:
            masks = ((str(table["mask_regex"]), str(table.get("mask_replacement", "***"))),)
        export = KeyExportPolicy(
            export_key_names=bool(table.get("export_key_names", False)), masks=masks
        )
        settings = HotKeySettings(
            enabled=bool(table.get("enabled", True)),
            options=options,
            export=export,
            budget=budget,
            monitor=monitor,
            auto_max_cpu=_share(table, "monitor_auto_max_cpu", 0.5, 64.0),
            monitor_on_request=bool(table.get("monitor_on_request", True)),
            request_max_cost=_share(table, "request_max_cost", 0.03, 0.5),
            request_duration_s=parse_duration(str(table.get("request_duration", "10s"))),
            patterns=int(table.get("patterns", 10)),
        )
    except (TypeError, ValueError) as exc:
        raise HotKeysSettingsError(f"[hotkeys]: {exc}") from None
    if settings.options.top < 1 or settings.patterns < 0:
        raise HotKeysSettingsError("[hotkeys]: top must be at least 1 and patterns at least 0")
    return settings


def _parse_section(table: Mapping[str, Any], context: SectionContext) -> object:
    return parse_hotkeys(table)


#: `parse_hotkeys` is the one place the keys are read: the config check learns them from it
HOTKEYS_SECTION = SectionSpec("hotkeys", _parse_section)
