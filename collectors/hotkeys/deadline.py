"""A hard deadline for streaming bursts (MONITOR, memcached `watch`).

A burst must never outlive its duration, even when whoever consumes the stream stalls: a
MONITOR client the server keeps writing to piles up output in the server's memory. So the
deadline shuts the socket down from a watchdog thread, which works while the event loop is
blocked, and the server drops the client at once.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading

__all__ = ["SocketDeadline"]


class SocketDeadline:
    """Shut down `writer`'s socket `duration_s` from now unless `cancel()` comes first."""

    def __init__(self, writer: asyncio.StreamWriter, duration_s: float) -> None:
        transport_socket = writer.get_extra_info("socket")
        # A private duplicate of the descriptor: shutdown() on it ends the connection itself,
        # and the event loop's own descriptor stays valid until the stream closes it.
        self._fd = os.dup(transport_socket.fileno())
        self._lock = threading.Lock()
        self.fired = False
        self._timer = threading.Timer(duration_s, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._fd < 0:
                return
            self.fired = True
            sock = socket.socket(fileno=self._fd)
            self._fd = -1
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            finally:
                sock.close()

    def cancel(self) -> None:
        self._timer.cancel()
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
