"""Whether the store's writes work, said once per change of state.

A full disk makes every flush fail, once a second: the log gets one line when writing starts
failing (with the reason) and one when it works again, not a traceback a second; every
failed attempt is counted (`cachewatch_store_write_errors_total`), and `/-/ready` says
not-ready while writes fail.
"""

from __future__ import annotations

import logging
import threading

from monitor.store.api import StoreHealth

__all__ = ["WriteHealth"]

log = logging.getLogger("monitor.store")


class WriteHealth:
    def __init__(self, path: object) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._errors = 0
        self._failing: str | None = None
        self._fenced = False

    def failed(self, what: str, exc: BaseException) -> None:
        reason = f"{what}: {getattr(exc, 'strerror', None) or exc}"
        with self._lock:
            self._errors += 1
            first = self._failing is None
            self._failing = reason
        if first:
            log.error(
                "store %s: %s; keeping the data in memory and retrying every second",
                self._path,
                reason,
            )

    def succeeded(self) -> None:
        with self._lock:
            was = self._failing
            self._failing = None
        if was is not None:
            log.warning("store %s: writing works again (it failed: %s)", self._path, was)

    def fence(self, why: str) -> None:
        with self._lock:
            if self._fenced:
                return
            self._fenced = True
        log.error("store %s: %s; stopped writing to it (restart to write again)", self._path, why)

    @property
    def fenced(self) -> bool:
        return self._fenced

    def snapshot(self) -> StoreHealth:
        with self._lock:
            return StoreHealth(self._errors, self._failing, self._fenced)
