"""A value computed off the request path and shared by every viewer: stale-while-revalidate.

The fleet overview costs a dozen fleet-wide queries. Computing it in every browser's
refresh callback would make each tick pay for all of them, once per open tab; instead a
`Snapshot` recomputes at most once per poll interval in a background thread, and callbacks
read the latest result (a poll interval old at most, which is as fresh as the data is).

A value older than `STALE_AFTER` intervals is never served: nobody asked for it for a
while (the first page load of a morning), so the caller waits for a fresh computation
rather than being shown minutes-old numbers under a current clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Snapshot", "STALE_AFTER"]

log = logging.getLogger("cachewatch.web")
T = TypeVar("T")
#: in refresh intervals: past this age a snapshot is recomputed before it is served
STALE_AFTER = 2.0


class Snapshot(Generic[T]):
    def __init__(self, compute: Callable[[], T], max_age_s: float) -> None:
        self._compute = compute
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        self._value: T | None = None
        self._taken_at = 0.0
        self._refreshing = False

    def get(self) -> T:
        """The latest value; computed here the first time and whenever it is older than
        `STALE_AFTER` intervals, refreshed in the background once it is older than one."""
        with self._lock:
            value, age = self._value, time.monotonic() - self._taken_at
            stale = age >= STALE_AFTER * self._max_age_s
            start_refresh = (
                value is not None and not stale and age >= self._max_age_s and not self._refreshing
            )
            if start_refresh:
                self._refreshing = True
        if value is None or stale:
            return self._refresh()
        if start_refresh:
            threading.Thread(target=self._background, name="web-snapshot", daemon=True).start()
        return value

    def _refresh(self) -> T:
        value = self._compute()
        with self._lock:
            self._value, self._taken_at = value, time.monotonic()
        return value

    def _background(self) -> None:
        try:
            self._refresh()
        except Exception:
            # keep serving the last good value; the next get() tries again
            log.exception("refreshing a dashboard snapshot failed")
        finally:
            with self._lock:
                self._refreshing = False
