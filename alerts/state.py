"""Alert instances and their persistence across restarts.

One `ActiveAlert` per (rule, label set), moving inactive → pending → firing → inactive
(resolved) as in Prometheus. The whole table is written to one JSON file after each group
evaluation (atomically: temp file + rename), so a restart restores `for` timers and firing
alerts instead of starting them over and paging again.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.model import Labels

__all__ = ["AlertState", "AlertSnapshot", "ActiveAlert", "fingerprint", "StateFile"]

log = logging.getLogger(__name__)


class AlertState(enum.StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


@functools.lru_cache(maxsize=65536)
def fingerprint(labels: Labels) -> str:
    """A stable id of a label set (16 hex digits), the same in every process and run.

    Cached: every evaluation asks again for the same few thousand label sets."""
    text = "\xff".join(f"{name}\xfe{value}" for name, value in labels)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AlertSnapshot:
    """An alert as the notifiers and UIs see it; `labels` include `alertname`."""

    rule: str
    group: str
    labels: Labels
    annotations: tuple[tuple[str, str], ...]
    state: AlertState
    value: float
    active_at_ms: int
    fired_at_ms: int | None
    resolved_at_ms: int | None
    last_eval_ms: int

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def annotation_map(self) -> dict[str, str]:
        return dict(self.annotations)


@dataclass(slots=True)
class ActiveAlert:
    labels: Labels
    annotations: tuple[tuple[str, str], ...]
    state: AlertState
    value: float
    active_at_ms: int
    fired_at_ms: int | None = None
    resolved_at_ms: int | None = None
    keep_firing_since_ms: int | None = None
    last_eval_ms: int = 0

    def snapshot(self, rule: str, group: str) -> AlertSnapshot:
        return AlertSnapshot(
            rule,
            group,
            self.labels,
            self.annotations,
            self.state,
            self.value,
            self.active_at_ms,
            self.fired_at_ms,
            self.resolved_at_ms,
            self.last_eval_ms,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": [list(pair) for pair in self.labels],
            "annotations": [list(pair) for pair in self.annotations],
            "state": self.state.value,
            # NaN and infinities are not JSON; the value is informational, keep it readable
            "value": self.value
            if self.value == self.value and abs(self.value) != float("inf")
            else repr(self.value),
            "active_at_ms": self.active_at_ms,
            "fired_at_ms": self.fired_at_ms,
            "resolved_at_ms": self.resolved_at_ms,
            "keep_firing_since_ms": self.keep_firing_since_ms,
            "last_eval_ms": self.last_eval_ms,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ActiveAlert:
        return cls(
            labels=tuple((str(k), str(v)) for k, v in data["labels"]),
            annotations=tuple((str(k), str(v)) for k, v in data["annotations"]),
            state=AlertState(data["state"]),
            value=float(data["value"]),
            active_at_ms=int(data["active_at_ms"]),
            fired_at_ms=data.get("fired_at_ms"),
            resolved_at_ms=data.get("resolved_at_ms"),
            keep_firing_since_ms=data.get("keep_firing_since_ms"),
            last_eval_ms=int(data.get("last_eval_ms", 0)),
        )


#: group key -> rule name -> fingerprint -> alert
AlertTable = dict[str, dict[str, dict[str, ActiveAlert]]]


class StateFile:
    """`alerts.json` in the state directory: alerts by group and rule, and last eval times."""

    VERSION = 1

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> tuple[AlertTable, dict[str, int]]:
        """The saved table; an unreadable file is logged and treated as empty, because
        losing alert state must not stop evaluation."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            table: AlertTable = {
                group: {
                    rule: {fp: ActiveAlert.from_json(a) for fp, a in alerts.items()}
                    for rule, alerts in rules.items()
                }
                for group, rules in raw["alerts"].items()
            }
            last_eval = {str(k): int(v) for k, v in raw.get("last_eval_ms", {}).items()}
        except FileNotFoundError:
            return {}, {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.error("alert state %s is unreadable, starting empty: %s", self.path, exc)
            return {}, {}
        return table, last_eval

    def save(self, table: AlertTable, last_eval_ms: dict[str, int]) -> None:
        document = {
            "version": self.VERSION,
            "last_eval_ms": last_eval_ms,
            "alerts": {
                group: {
                    rule: {fp: a.to_json() for fp, a in alerts.items()}
                    for rule, alerts in rules.items()
                    if alerts
                }
                for group, rules in table.items()
            },
        }
        atomic_write_json(self.path, document)


def atomic_write_json(path: Path, document: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
