"""A few query slots for the HTTP API, so queries cannot take every worker thread.

At most `max_concurrent` queries evaluate at once; up to `max_queued` more wait for a slot,
each at most `queue_timeout_s`; anything beyond is refused at once with Prometheus's
`unavailable` error (HTTP 503). The server's other workers stay free for `/metrics`, the
health endpoints and the dashboard, whatever the query load.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from monitor.query.errors import UnavailableError
from monitor.query.limits import QueryLimits

__all__ = ["QueryPool"]


class QueryPool:
    def __init__(self, limits: QueryLimits) -> None:
        self._limits = limits
        self._ready = threading.Condition()
        self._running = 0
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Queries waiting for a slot now."""
        return self._waiting

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one query slot for the `with` block (UnavailableError if none comes)."""
        self._acquire()
        try:
            yield
        finally:
            with self._ready:
                self._running -= 1
                self._ready.notify()

    def _acquire(self) -> None:
        limits = self._limits
        with self._ready:
            if self._running < limits.max_concurrent and not self._waiting:
                self._running += 1
                return
            if self._waiting >= limits.max_queued:
                raise UnavailableError(
                    f"too many queries: {self._running} running and {self._waiting} waiting "
                    f"(query.max_concurrent = {limits.max_concurrent}, "
                    f"query.max_queued = {limits.max_queued}); try again later"
                )
            self._waiting += 1
            deadline = time.monotonic() + limits.queue_timeout_s
            try:
                while self._running >= limits.max_concurrent:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._ready.wait(left):
                        if self._running < limits.max_concurrent:
                            break
                        raise UnavailableError(
                            f"no query slot came free within {limits.queue_timeout_s:g}s "
                            f"(query.queue_timeout; {limits.max_concurrent} queries at once, "
                            "query.max_concurrent); try again later"
                        )
            finally:
                self._waiting -= 1
            self._running += 1
