"""`LocalSource`: the read model over a `Runtime` running in this process."""

from __future__ import annotations

from typing import Any

from collectors.hotkeys.report import HotKeyReport
from monitor.discovery import ClusterTopology
from monitor.model import Event, Matcher, now_ms
from monitor.poller import TargetStatus
from monitor.query import Engine
from monitor.readmodel.alerts import alerts_from_series, alerts_from_service
from monitor.readmodel.source import (
    AlertRow,
    Health,
    HotKeySampling,
    InstantSample,
    RangeSeries,
    SilenceUnsupported,
    TargetState,
)

__all__ = ["LocalSource", "target_state"]


def target_state(status: TargetStatus) -> TargetState:
    target = status.target
    health = Health.UNKNOWN if status.up is None else Health.UP if status.up else Health.DOWN
    caps = status.capabilities
    version = ".".join(str(part) for part in caps.version) if caps and caps.version else ""
    return TargetState(
        instance=target.instance,
        kind=target.kind.value,
        labels=dict(target.series_labels()),
        health=health,
        last_poll_ms=status.last_poll_ms,
        last_error=status.last_error,
        version=version,
        timeout_s=target.timeout_s,
        interval_s=target.interval_s,
        up_since_ms=status.up_since_ms,
    )


class LocalSource:
    """Reads `runtime` (started, store attached). `alerting` is an
    `alerts.service.AlertingService` when the caller runs one; without it the alerts panel
    reads the `ALERTS` series and cannot silence. `hotkeys` is the running detectors
    (`monitor.hotkeys_runner.RunningHotKeys`): their live reports, with keys as they may be
    shown, and "sample now"; without it the detail view reads the top-K series."""

    def __init__(
        self,
        runtime: Any,
        alerting: Any = None,
        hotkeys: HotKeySampling | None = None,
    ) -> None:
        self._runtime = runtime
        self._alerting = alerting
        self._hotkeys = hotkeys
        self._engine: Engine | None = None

    def _query(self) -> Engine:
        if self._engine is None:
            if self._runtime.store is None:
                raise RuntimeError("the runtime has no store to query (start it first)")
            self._engine = Engine(self._runtime.store)
        return self._engine

    def now_ms(self) -> int:
        return now_ms()

    def statuses(self) -> list[TargetState]:
        return [target_state(status) for status in self._runtime.statuses()]

    def instant(self, expr: str, at_ms: int) -> list[InstantSample]:
        result = self._query().instant(expr, at_ms)
        return [InstantSample(labels, value) for labels, value in result.samples]

    def range(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> list[RangeSeries]:
        result = self._query().range(expr, start_ms, end_ms, step_ms)
        return [
            RangeSeries(labels, tuple(int(t) for t in ts), tuple(float(v) for v in values))
            for labels, ts, values in result.series
        ]

    def events(
        self, kind_prefix: str, instance: str | None, start_ms: int, limit: int
    ) -> list[Event]:
        store = self._runtime.store
        if store is None:
            return []
        target_labels = None
        if instance is not None:
            match = [s for s in self._runtime.statuses() if s.target.instance == instance]
            if not match:
                return []
            target_labels = match[0].target.series_labels()
        return list(store.events(kind_prefix, target_labels, start_ms, None, limit))

    def topologies(self) -> dict[str, ClusterTopology]:
        fleet = self._runtime.fleet
        return dict(fleet.topologies()) if fleet is not None else {}

    def hot_key_report(self, instance: str) -> HotKeyReport | None:
        if self._hotkeys is None:
            return None
        return next((r for r in self._hotkeys.reports() if r.target == instance), None)

    def sample_hot_keys(self, instance: str, duration_s: float | None) -> HotKeyReport:
        if self._hotkeys is None:
            raise RuntimeError("no hot-key detection runs in this process")
        return self._hotkeys.sample(instance, duration_s)

    def server_doctor(self, instance: str) -> dict[str, str]:
        """The server's own LATENCY DOCTOR and MEMORY DOCTOR text, asked now (on demand)."""
        from monitor.doctor.ondemand import server_doctor_text

        match = [s for s in self._runtime.statuses() if s.target.instance == instance]
        if not match:
            raise KeyError(f"no target {instance}")
        return dict(self._runtime.call(server_doctor_text(match[0].target), timeout_s=15.0))

    def alerts(self, now_ms: int) -> list[AlertRow]:
        if self._alerting is not None:
            return alerts_from_service(self._alerting, now_ms)
        return alerts_from_series(self.instant, now_ms)

    def silence(self, matchers: dict[str, str], duration_ms: int, comment: str) -> str:
        if self._alerting is None:
            raise SilenceUnsupported("no alerting runs in this process: nothing to silence")
        silence = self._alerting.silences.add(
            [Matcher(name, "=", value) for name, value in sorted(matchers.items())],
            duration_ms,
            comment,
            created_by="cachewatch tui",
        )
        return str(silence.id)
