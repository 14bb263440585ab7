"""What a notification carries, and the JSON bodies each kind of receiver is sent.

The generic webhook body is Alertmanager's webhook format (version 4), so anything that
already consumes Alertmanager webhooks consumes cachewatch's unchanged.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from monitor.model import Labels

__all__ = [
    "NotifiedAlert",
    "Notification",
    "webhook_body",
    "slack_body",
    "alertmanager_body",
    "rfc3339",
]


def rfc3339(ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class NotifiedAlert:
    status: str  # "firing" | "resolved"
    labels: Labels
    annotations: tuple[tuple[str, str], ...]
    starts_at_ms: int
    ends_at_ms: int  # 0 while firing
    fingerprint: str

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "labels": [list(p) for p in self.labels],
            "annotations": [list(p) for p in self.annotations],
            "starts_at_ms": self.starts_at_ms,
            "ends_at_ms": self.ends_at_ms,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NotifiedAlert:
        return cls(
            str(data["status"]),
            tuple((str(k), str(v)) for k, v in data["labels"]),
            tuple((str(k), str(v)) for k, v in data["annotations"]),
            int(data["starts_at_ms"]),
            int(data["ends_at_ms"]),
            str(data["fingerprint"]),
        )


@dataclass(frozen=True, slots=True)
class Notification:
    receiver: str
    group_key: str
    group_labels: Labels
    alerts: tuple[NotifiedAlert, ...]
    created_ms: int
    external_url: str = ""

    @property
    def status(self) -> str:
        return "firing" if any(a.status == "firing" for a in self.alerts) else "resolved"

    def to_json(self) -> dict[str, Any]:
        return {
            "receiver": self.receiver,
            "group_key": self.group_key,
            "group_labels": [list(p) for p in self.group_labels],
            "alerts": [a.to_json() for a in self.alerts],
            "created_ms": self.created_ms,
            "external_url": self.external_url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notification:
        return cls(
            str(data["receiver"]),
            str(data["group_key"]),
            tuple((str(k), str(v)) for k, v in data["group_labels"]),
            tuple(NotifiedAlert.from_json(a) for a in data["alerts"]),
            int(data["created_ms"]),
            str(data.get("external_url", "")),
        )


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def webhook_body(notification: Notification) -> dict[str, Any]:
    labels = [dict(a.labels) for a in notification.alerts]
    annotations = [dict(a.annotations) for a in notification.alerts]
    return {
        "version": "4",
        "groupKey": notification.group_key,
        "truncatedAlerts": 0,
        "status": notification.status,
        "receiver": notification.receiver,
        "groupLabels": dict(notification.group_labels),
        "commonLabels": _common(labels),
        "commonAnnotations": _common(annotations),
        "externalURL": notification.external_url,
        "alerts": [
            {
                "status": alert.status,
                "labels": dict(alert.labels),
                "annotations": dict(alert.annotations),
                "startsAt": rfc3339(alert.starts_at_ms),
                "endsAt": rfc3339(alert.ends_at_ms) if alert.ends_at_ms else "0001-01-01T00:00:00Z",
                "generatorURL": notification.external_url,
                "fingerprint": alert.fingerprint,
            }
            for alert in notification.alerts
        ],
    }


def slack_body(notification: Notification, channel: str = "") -> dict[str, Any]:
    firing = [a for a in notification.alerts if a.status == "firing"]
    resolved = [a for a in notification.alerts if a.status == "resolved"]
    group = ", ".join(f"{k}={v}" for k, v in notification.group_labels) or "all alerts"
    title = f"[FIRING:{len(firing)}] {group}" if firing else f"[RESOLVED] {group}"
    lines = []
    for alert in firing + resolved:
        annotations = dict(alert.annotations)
        labels = dict(alert.labels)
        summary = annotations.get("summary") or labels.get("alertname", "")
        mark = ":red_circle:" if alert.status == "firing" else ":white_check_mark:"
        lines.append(f"{mark} *{summary}* ({labels.get('instance', '')})")
        if alert.status == "firing" and annotations.get("description"):
            lines.append(f"    {annotations['description']}")
    body: dict[str, Any] = {"text": title + "\n" + "\n".join(lines)}
    if channel:
        body["channel"] = channel
    return body


def alertmanager_body(
    notification: Notification, now_ms: int, resolve_timeout_ms: int
) -> list[dict[str, Any]]:
    """`POST /api/v2/alerts`: a firing alert ends `resolve_timeout_ms` from now unless it is
    sent again, so an engine that dies does not leave alerts firing forever."""
    return [
        {
            "labels": dict(alert.labels),
            "annotations": dict(alert.annotations),
            "startsAt": rfc3339(alert.starts_at_ms),
            "endsAt": rfc3339(alert.ends_at_ms or now_ms + resolve_timeout_ms),
            "generatorURL": notification.external_url or "http://cachewatch/alerts",
        }
        for alert in notification.alerts
    ]
