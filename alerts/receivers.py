"""Where notifications go: the log, a generic JSON webhook, Slack, an Alertmanager.

A receiver delivers one notification or raises `DeliveryError`; retrying, backoff and
keeping undelivered notifications across restarts belong to the outbox, so receivers stay
a few lines each and tests can give the outbox any receiver they like.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol

from alerts.payloads import Notification, alertmanager_body, slack_body, webhook_body
from monitor.model import now_ms
from monitor.secrets import Secret, redact

__all__ = [
    "Receiver",
    "DeliveryError",
    "LogReceiver",
    "WebhookReceiver",
    "SlackReceiver",
    "AlertmanagerReceiver",
]

log = logging.getLogger("cachewatch.alerts.notify")


class DeliveryError(Exception):
    """Delivery failed; `retryable` is False for answers that will not change (4xx)."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class Receiver(Protocol):
    name: str
    send_resolved: bool

    def deliver(self, notification: Notification) -> None: ...


class LogReceiver:
    def __init__(self, name: str = "log", send_resolved: bool = True) -> None:
        self.name = name
        self.send_resolved = send_resolved

    def deliver(self, notification: Notification) -> None:
        for alert in notification.alerts:
            labels = dict(alert.labels)
            summary = dict(alert.annotations).get("summary", "")
            log.warning(
                "alert %s %s %s %s",
                alert.status.upper(),
                labels.get("alertname", ""),
                ",".join(f"{k}={v}" for k, v in alert.labels if k != "alertname"),
                summary,
            )


def post_json(
    url: Secret, body: Any, timeout_s: float, headers: Mapping[str, str] | None = None
) -> None:
    # ASCII escapes keep any label value (even a lone surrogate) encodable
    data = json.dumps(body, allow_nan=False).encode("ascii")
    request = urllib.request.Request(url.reveal(), data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", "cachewatch-alerts")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        retryable = exc.code >= 500 or exc.code == 429
        raise DeliveryError(redact(f"HTTP {exc.code}: {detail}", url), retryable) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(redact(f"{type(exc).__name__}: {reason}", url)) from None


class WebhookReceiver:
    """POSTs Alertmanager's webhook JSON to a URL (kept as a Secret: such URLs often
    carry a token)."""

    def __init__(
        self,
        name: str,
        url: Secret,
        timeout_s: float = 10.0,
        send_resolved: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.timeout_s = timeout_s
        self.send_resolved = send_resolved
        self.headers = dict(headers or {})

    def deliver(self, notification: Notification) -> None:
        post_json(self.url, webhook_body(notification), self.timeout_s, self.headers)


class SlackReceiver:
    def __init__(
        self,
        name: str,
        url: Secret,
        channel: str = "",
        timeout_s: float = 10.0,
        send_resolved: bool = True,
    ) -> None:
        self.name = name
        self.url = url
        self.channel = channel
        self.timeout_s = timeout_s
        self.send_resolved = send_resolved

    def deliver(self, notification: Notification) -> None:
        post_json(self.url, slack_body(notification, self.channel), self.timeout_s)


class AlertmanagerReceiver:
    """Alertmanager's v2 API. Every URL is tried (an Alertmanager cluster deduplicates);
    delivery succeeds if one of them took the alerts."""

    def __init__(
        self,
        name: str,
        urls: list[Secret],
        timeout_s: float = 10.0,
        resolve_timeout_ms: int = 5 * 60_000,
    ) -> None:
        self.name = name
        self.urls = urls
        self.timeout_s = timeout_s
        self.resolve_timeout_ms = resolve_timeout_ms
        self.send_resolved = True

    def deliver(self, notification: Notification) -> None:
        body = alertmanager_body(notification, now_ms(), self.resolve_timeout_ms)
        errors = []
        for url in self.urls:
            endpoint = Secret(url.reveal().rstrip("/") + "/api/v2/alerts")
            try:
                post_json(endpoint, body, self.timeout_s)
                return
            except DeliveryError as exc:
                errors.append(str(exc))
        raise DeliveryError("; ".join(errors))
