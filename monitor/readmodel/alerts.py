"""Alerts as the screens list them: from the alerting service when one is attached, else
from the `ALERTS` series the rule engine writes (as Prometheus does), which any source can
query but which carry no annotations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monitor.readmodel.source import AlertRow, InstantSample

__all__ = ["alerts_from_service", "alerts_from_series", "ALERTS_EXPR"]

ALERTS_EXPR = "ALERTS"


def alerts_from_service(service: Any, now_ms: int) -> list[AlertRow]:
    """Rows from an `alerts.service.AlertingService` (firing first, then by name)."""
    rows = [
        AlertRow(
            name=snapshot.label_map.get("alertname", snapshot.rule),
            state=snapshot.state.value,
            labels=snapshot.label_map,
            annotations=snapshot.annotation_map,
            value=snapshot.value,
            active_at_ms=snapshot.active_at_ms,
            silenced_by=tuple(silenced),
        )
        for snapshot, silenced in service.alerts(now_ms)
    ]
    return sort_alerts(rows)


def alerts_from_series(
    instant: Callable[[str, int], list[InstantSample]], now_ms: int
) -> list[AlertRow]:
    rows = []
    for sample in instant(ALERTS_EXPR, now_ms):
        labels = {k: v for k, v in sample.labels.items() if k not in ("__name__", "alertstate")}
        rows.append(
            AlertRow(
                name=labels.get("alertname", ""),
                state=sample.labels.get("alertstate", ""),
                labels=labels,
                annotations={},
                value=None,
                active_at_ms=0,
            )
        )
    return sort_alerts(rows)


def sort_alerts(rows: list[AlertRow]) -> list[AlertRow]:
    return sorted(rows, key=lambda a: (a.state != "firing", a.name, a.instance))
