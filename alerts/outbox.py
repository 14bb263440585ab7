"""A persisted outbox per receiver: evaluation only writes a file; a worker thread per
receiver delivers the files in order, retrying with exponential backoff.

A receiver that is down therefore never blocks evaluation, and what it missed is delivered
when it comes back — also after a restart of cachewatch, since the queue is on disk. A
notification older than `max_age_ms`, or one the receiver rejects for good (HTTP 4xx), is
dropped with an error in the log.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from alerts.payloads import Notification
from alerts.receivers import DeliveryError, Receiver
from alerts.state import atomic_write_json
from monitor.model import now_ms

__all__ = ["Outbox", "ReceiverStatus"]

log = logging.getLogger("cachewatch.alerts.notify")


@dataclass(frozen=True, slots=True)
class ReceiverStatus:
    name: str
    queued: int
    delivered: int
    dropped: int
    last_error: str | None


class _Worker:
    def __init__(self, outbox: Outbox, receiver: Receiver, directory: Path) -> None:
        self.outbox = outbox
        self.receiver = receiver
        self.directory = directory
        self.wake = threading.Event()
        self.idle = threading.Event()
        #: set when a config reload removed this receiver
        self.retired = threading.Event()
        self.delivered = 0
        self.dropped = 0
        self.last_error: str | None = None
        self.thread = threading.Thread(
            target=self.loop, name=f"alerts-outbox-{receiver.name}", daemon=True
        )

    def queued(self) -> list[Path]:
        return sorted(self.directory.glob("*.json"))

    def loop(self) -> None:
        backoff_s = self.outbox.initial_backoff_s
        while not (self.outbox.stopping.is_set() or self.retired.is_set()):
            files = self.queued()
            if not files:
                self.idle.set()
                self.wake.wait(1.0)
                self.wake.clear()
                continue
            self.idle.clear()
            if self.attempt(files[0]):
                backoff_s = self.outbox.initial_backoff_s
                continue
            self.outbox.stopping.wait(backoff_s)
            backoff_s = min(backoff_s * 2, self.outbox.max_backoff_s)

    def attempt(self, path: Path) -> bool:
        """Try the oldest notification; True if it left the queue (sent or dropped)."""
        try:
            notification = Notification.from_json(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("dropping unreadable outbox file %s: %s", path, exc)
            path.unlink(missing_ok=True)
            self.dropped += 1
            return True
        if now_ms() - notification.created_ms > self.outbox.max_age_ms:
            log.error(
                "dropping a notification to %s that could not be delivered for %ds: %s",
                self.receiver.name,
                self.outbox.max_age_ms // 1000,
                self.last_error,
            )
            path.unlink(missing_ok=True)
            self.dropped += 1
            return True
        try:
            self.receiver.deliver(notification)
        except DeliveryError as exc:
            if self.last_error is None:
                log.warning("receiver %s: delivery failed, will retry: %s", self.receiver.name, exc)
            self.last_error = str(exc)
            if exc.retryable:
                return False
            log.error(
                "receiver %s rejected a notification, dropping it: %s", self.receiver.name, exc
            )
            path.unlink(missing_ok=True)
            self.dropped += 1
            return True
        except Exception as exc:
            # a receiver bug must not kill the worker; treat it as a failed attempt
            log.exception("receiver %s crashed", self.receiver.name)
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        if self.last_error is not None:
            log.warning("receiver %s: delivering again", self.receiver.name)
        self.last_error = None
        path.unlink(missing_ok=True)
        self.delivered += 1
        return True


class Outbox:
    def __init__(
        self,
        directory: Path,
        receivers: list[Receiver],
        *,
        max_age_ms: int = 86_400_000,
        initial_backoff_s: float = 0.5,
        max_backoff_s: float = 60.0,
    ) -> None:
        self.directory = directory
        self.max_age_ms = max_age_ms
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._sequence = 0
        self._workers: dict[str, _Worker] = {}
        self._started = False
        self.set_receivers(receivers)

    def receiver(self, name: str) -> Receiver:
        return self._workers[name].receiver

    def set_receivers(self, receivers: list[Receiver]) -> None:
        """Deliver to these receivers from now on (a config reload). A receiver that keeps
        its name keeps its queue and counters and delivers with its new settings; a removed
        one stops, leaving what it had queued on disk for when it comes back."""
        wanted = {receiver.name: receiver for receiver in receivers}
        for name in list(self._workers):
            if name not in wanted:
                worker = self._workers.pop(name)
                worker.retired.set()
                worker.wake.set()
        for name, receiver in wanted.items():
            if name in self._workers:
                self._workers[name].receiver = receiver
                continue
            folder = self.directory / _safe_name(name)
            folder.mkdir(parents=True, exist_ok=True)
            worker = self._workers[name] = _Worker(self, receiver, folder)
            if self._started:
                worker.thread.start()

    def start(self) -> None:
        if not self._started:
            self._started = True
            for worker in self._workers.values():
                worker.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for worker in self._workers.values():
            worker.wake.set()
            if worker.thread.is_alive():
                worker.thread.join(5)

    def enqueue(self, notification: Notification) -> None:
        worker = self._workers[notification.receiver]
        with self._lock:
            self._sequence += 1
            name = f"{now_ms():015d}-{self._sequence:06d}.json"
        atomic_write_json(worker.directory / name, notification.to_json())
        worker.idle.clear()
        worker.wake.set()

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until every queue is empty (for shutdown and tests); False on timeout."""
        return all(w.idle.wait(timeout_s) and not w.queued() for w in self._workers.values())

    def status(self) -> list[ReceiverStatus]:
        return [
            ReceiverStatus(name, len(w.queued()), w.delivered, w.dropped, w.last_error)
            for name, w in self._workers.items()
        ]


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "_"
