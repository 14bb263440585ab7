"""Routing, grouping and timing of notifications, as Alertmanager does it.

Alerts are routed by label matchers to receivers; each route groups its alerts by
`group_by` labels. A group is first sent `group_wait` after its first alert, then again
when its set of firing alerts changed (at most once per `group_interval`), and re-sent
unchanged every `repeat_interval` while anything fires. Resolved alerts go out once.
This is what keeps a target that flaps every few seconds from sending a storm: whatever it
does, its group speaks at most once per `group_interval`.

The group timers are saved with the alert state, so a restart does not page again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alerts.outbox import Outbox
from alerts.payloads import Notification, NotifiedAlert
from alerts.silences import SilenceStore, matches
from alerts.state import AlertSnapshot, AlertState, atomic_write_json
from monitor.model import Labels, Matcher

__all__ = ["Route", "Dispatcher"]

log = logging.getLogger("cachewatch.alerts.notify")


@dataclass(frozen=True, slots=True)
class Route:
    receiver: str
    matchers: tuple[Matcher, ...] = ()
    #: label names; ("...",) groups by every label (one notification per alert)
    group_by: tuple[str, ...] = ("alertname", "instance")
    group_wait_ms: int = 10_000
    group_interval_ms: int = 60_000
    repeat_interval_ms: int = 4 * 3_600_000
    continue_matching: bool = False

    def match(self, labels: Mapping[str, str]) -> bool:
        return all(matches(m, labels) for m in self.matchers)

    def group_labels(self, labels: Labels) -> Labels:
        if self.group_by == ("...",):
            return labels
        wanted = set(self.group_by)
        return tuple((k, v) for k, v in labels if k in wanted)


@dataclass(slots=True)
class _Group:
    route_index: int
    labels: Labels
    first_seen_ms: int
    alerts: dict[str, NotifiedAlert] = field(default_factory=dict)
    last_sent_ms: int | None = None
    last_firing: frozenset[str] = frozenset()
    seen_ms: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "route": self.route_index,
            "labels": [list(p) for p in self.labels],
            "first_seen_ms": self.first_seen_ms,
            "last_sent_ms": self.last_sent_ms,
            "last_firing": sorted(self.last_firing),
            "alerts": [a.to_json() for a in self.alerts.values()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Group:
        alerts = [NotifiedAlert.from_json(a) for a in data["alerts"]]
        return cls(
            int(data["route"]),
            tuple((str(k), str(v)) for k, v in data["labels"]),
            int(data["first_seen_ms"]),
            {a.fingerprint: a for a in alerts},
            data.get("last_sent_ms"),
            frozenset(data.get("last_firing", ())),
        )


class Dispatcher:
    """Implements the engine's `Notifier`: call `notify` after every group evaluation."""

    def __init__(
        self,
        routes: Sequence[Route],
        outbox: Outbox,
        silences: SilenceStore | None = None,
        state_path: Path | None = None,
        external_url: str = "",
        resolve_timeout_ms: int = 5 * 60_000,
    ) -> None:
        self.resolve_timeout_ms = resolve_timeout_ms
        self.routes = list(routes)
        self.outbox = outbox
        self.silences = silences
        self.state_path = state_path
        self.external_url = external_url
        self._groups: dict[str, _Group] = self._load()

    def set_routes(self, routes: Sequence[Route]) -> None:
        """Route with these from now on (a config reload). A notification group whose route
        is still there (the same route, wherever it moved in the list) keeps its state:
        what was sent, when, and what is firing; groups of removed routes are dropped."""
        new_index = {route: index for index, route in reversed(list(enumerate(routes)))}
        kept: dict[str, _Group] = {}
        for group in self._groups.values():
            if group.route_index >= len(self.routes):
                continue
            index = new_index.get(self.routes[group.route_index])
            if index is not None:
                group.route_index = index
                kept[f"{index}:{json.dumps(group.labels)}"] = group
        self.routes = list(routes)
        self._groups = kept
        self._save()

    def notify(self, alerts: Sequence[AlertSnapshot], now_ms: int) -> None:
        for alert in alerts:
            labels = alert.label_map
            if self.silences is not None and self.silences.silenced_by(labels, now_ms):
                # muted, not resolved: nobody is told anything until the silence ends
                for group in self._groups.values():
                    group.alerts.pop(alert.fingerprint, None)
                    group.seen_ms.pop(alert.fingerprint, None)
                continue
            notified = NotifiedAlert(
                "firing" if alert.state is AlertState.FIRING else "resolved",
                alert.labels,
                alert.annotations,
                alert.fired_at_ms or alert.active_at_ms,
                0 if alert.state is AlertState.FIRING else (alert.resolved_at_ms or now_ms),
                alert.fingerprint,
            )
            for index, route in enumerate(self.routes):
                if not route.match(labels):
                    continue
                group_labels = route.group_labels(alert.labels)
                key = f"{index}:{json.dumps(group_labels)}"
                found = self._groups.get(key)
                if found is None:
                    if notified.status == "resolved":
                        # nothing was ever sent for it in this group: nothing to resolve
                        if not route.continue_matching:
                            break
                        continue
                    found = self._groups[key] = _Group(index, group_labels, now_ms)
                group = found
                previous = group.alerts.get(notified.fingerprint)
                if not (
                    previous is not None
                    and previous.status == "resolved"
                    and notified.status == "resolved"
                ):
                    group.alerts[notified.fingerprint] = notified
                group.seen_ms[notified.fingerprint] = now_ms
                if not route.continue_matching:
                    break
        self.flush(now_ms)

    def flush(self, now_ms: int) -> None:
        changed = False
        for key in list(self._groups):
            group = self._groups[key]
            route = self.routes[group.route_index] if group.route_index < len(self.routes) else None
            if route is None:
                del self._groups[key]
                changed = True
                continue
            self._expire_unseen(group, now_ms)
            firing = frozenset(fp for fp, a in group.alerts.items() if a.status == "firing")
            resolved_unsent = any(
                a.status == "resolved" and fp in group.last_firing for fp, a in group.alerts.items()
            )
            if group.last_sent_ms is None:
                due = now_ms - group.first_seen_ms >= route.group_wait_ms and bool(firing)
            else:
                since = now_ms - group.last_sent_ms
                due = (
                    (firing != group.last_firing or resolved_unsent)
                    and since >= route.group_interval_ms
                ) or (bool(firing) and since >= route.repeat_interval_ms)
            if due:
                self._send(key, group, route, now_ms)
                group.last_sent_ms = now_ms
                group.last_firing = firing
                group.alerts = {fp: a for fp, a in group.alerts.items() if a.status == "firing"}
                group.seen_ms = {fp: t for fp, t in group.seen_ms.items() if fp in group.alerts}
                changed = True
            if not any(
                a.status == "firing" or fp in group.last_firing for fp, a in group.alerts.items()
            ):
                del self._groups[key]
                changed = True
        if changed:
            self._save()

    def _expire_unseen(self, group: _Group, now_ms: int) -> None:
        """A firing alert the engine stopped reporting (its rule was removed) resolves after
        `resolve_timeout_ms`, as in Alertmanager."""
        for fp, alert in list(group.alerts.items()):
            seen = group.seen_ms.get(fp, now_ms)
            if alert.status == "firing" and now_ms - seen > self.resolve_timeout_ms:
                group.alerts[fp] = NotifiedAlert(
                    "resolved", alert.labels, alert.annotations, alert.starts_at_ms, now_ms, fp
                )

    def _send(self, key: str, group: _Group, route: Route, now_ms: int) -> None:
        receiver = self.outbox.receiver(route.receiver)
        alerts = tuple(
            a
            for a in group.alerts.values()
            if a.status == "firing"
            or (receiver.send_resolved and a.fingerprint in group.last_firing)
        )
        if not alerts:
            return
        self.outbox.enqueue(
            Notification(route.receiver, key, group.labels, alerts, now_ms, self.external_url)
        )

    def _load(self) -> dict[str, _Group]:
        if self.state_path is None:
            return {}
        try:
            raw = json.loads(self.state_path.read_text(encoding="utf-8"))
            return {key: _Group.from_json(g) for key, g in raw["groups"].items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error(
                "notification state %s is unreadable, starting empty: %s", self.state_path, exc
            )
            return {}

    def _save(self) -> None:
        if self.state_path is None:
            return
        try:
            atomic_write_json(
                self.state_path, {"groups": {k: g.to_json() for k, g in self._groups.items()}}
            )
        except OSError as exc:
            log.error("saving notification state to %s failed: %s", self.state_path, exc)
