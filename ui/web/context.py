"""What every page module receives: the data, whether writes are allowed, the defaults."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from monitor.readmodel.overview import OverviewRow, fleet_overview
from ui.web.data import WebData
from ui.web.snapshot import Snapshot

__all__ = ["PageContext", "DEFAULT_WIDTH_PX"]

T = TypeVar("T")

#: a laptop's chart width until the browser tells us its own
DEFAULT_WIDTH_PX = 1200


@dataclass(frozen=True, slots=True)
class PageContext:
    data: WebData
    #: state-changing actions (silences) need an authenticated user
    can_write: bool = False
    default_theme: str = "dark"
    #: values computed once per poll interval for every viewer (see `ui/web/snapshot.py`)
    _snapshots: dict[str, Snapshot[Any]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def snapshot(self, name: str, compute: Callable[[], T]) -> Snapshot[T]:
        """The shared snapshot called `name`, made from `compute` the first time."""
        with self._lock:
            found = self._snapshots.get(name)
            if found is None:
                found = self._snapshots[name] = Snapshot(compute, self.data.interval_s)
            return found

    def overview_rows(self) -> list[OverviewRow]:
        source = self.data.source
        return self.snapshot("overview", lambda: fleet_overview(source, source.now_ms())).get()
