"""waitress, hardened against clients that hold connections instead of sending requests.

waitress on its own waits forever for a request's headers and, at its connection limit,
stops accepting: a hundred sockets that each send a byte a minute ("slowloris") take the
server down without ever reaching the auth check. Here:

- a request must arrive whole within `read_timeout` of its first byte (or of the connection
  opening); a connection that misses it is closed;
- at `max_connections`, the connection that has waited longest for an unfinished request (or
  sat idle between requests longest) is closed to make room, so new clients always get in;
- the health endpoints are served by threads of their own, answered even when every worker
  is busy;
- with a certificate, connections speak TLS (the handshake is part of the read timeout).
"""

from __future__ import annotations

import logging
import ssl
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

__all__ = ["GuardedServer", "PRIORITY_PATHS"]

log = logging.getLogger("cachewatch.http")

#: answered by their own threads, whatever the other workers are doing
PRIORITY_PATHS = frozenset({"/-/healthy", "/-/ready"})
_PRIORITY_THREADS = 2


class _GuardedChannel(HTTPChannel):
    """Remembers since when it waits for a whole request (None while one is served or the
    connection sits idle after one)."""

    def __init__(self, server: Any, sock: Any, addr: Any, adj: Any, map: Any = None) -> None:
        super().__init__(server, sock, addr, adj, map)
        self.waiting_since: float | None = self.creation_time
        self.idle_since = self.creation_time

    def received(self, data: bytes) -> bool:
        if self.waiting_since is None and self.request is None and data:
            self.waiting_since = time.time()
        result = bool(super().received(data))
        if self.request is None:  # no request half-read: everything sent was complete
            self.waiting_since = None
            self.idle_since = time.time()
        return result


class _TlsChannel(_GuardedChannel):
    """The same over TLS: reads and writes that would block mid-record are retried when
    the socket is ready again, and decrypted data buffered by the TLS layer is drained."""

    def handle_read(self) -> None:
        chunks: list[bytes] = []
        try:
            while True:
                chunk = self.socket.recv(self.adj.recv_bytes)
                if not chunk:
                    self.handle_close()
                    return
                chunks.append(chunk)
                if not self.socket.pending():
                    break
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except OSError:  # a failed handshake, a reset: nothing to answer
            self.handle_close()
            return
        if chunks:
            self.last_activity = time.time()
            self.received(b"".join(chunks))

    def send(self, data: bytes, do_close: bool = True) -> int:
        try:
            return int(self.socket.send(data))
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return 0
        except OSError:
            if do_close:
                self.handle_close()
            return 0


class GuardedServer(TcpWSGIServer):
    next_channel_cleanup: float = 0.0

    def __init__(
        self,
        application: Any,
        *,
        read_timeout_s: float,
        max_connections: int,
        tls: ssl.SSLContext | None = None,
        **kw: Any,
    ) -> None:
        self._read_timeout_s = read_timeout_s
        self._max_connections = max_connections
        self._tls = tls
        self._overflowing = False
        self.priority_dispatcher = ThreadedTaskDispatcher()
        self.priority_dispatcher.set_thread_count(_PRIORITY_THREADS)
        self.channel_class = _TlsChannel if tls is not None else _GuardedChannel
        try:
            super().__init__(application, **kw)
        except BaseException:
            self.priority_dispatcher.shutdown()
            raise

    def add_task(self, task: Any) -> None:
        requests = getattr(task, "requests", None)
        if requests and getattr(requests[0], "path", None) in PRIORITY_PATHS:
            self.priority_dispatcher.add_task(task)
        else:
            self.task_dispatcher.add_task(task)

    def handle_accept(self) -> None:
        try:
            accepted = self.accept()
            if accepted is None:
                return
            conn, addr = accepted
            self.set_socket_options(conn)
            if self._tls is not None:
                conn = self._tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        except OSError:
            return
        self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map)

    def readable(self) -> bool:
        now = time.time()
        if now >= self.next_channel_cleanup:
            self.next_channel_cleanup = now + self.adj.cleanup_interval
            self.maintenance(now)
        if not self.accepting:
            return False
        live = [c for c in self.active_channels.values() if not c.will_close]
        if len(live) >= self._max_connections:
            return self._make_room(live)
        self._overflowing = False
        return True

    def _make_room(self, live: list[Any]) -> bool:
        """Close the connection that waited longest for a request, so a new one fits;
        False (stop accepting for now) when every connection is being served."""
        idle = [
            (c.waiting_since if c.waiting_since is not None else c.idle_since, c)
            for c in live
            if not c.requests and not c.total_outbufs_len
        ]
        if not self._overflowing:
            self._overflowing = True
            log.warning(
                "%d connections open (the limit): closing the oldest unfinished or idle ones "
                "to make room",
                len(live),
            )
        if not idle:
            return False
        _, victim = min(idle, key=lambda item: item[0])
        victim.will_close = True  # closed by the loop on its next round
        return True

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        cutoff = now - self._read_timeout_s
        for channel in self.active_channels.values():
            since = channel.waiting_since
            if since is not None and since < cutoff and not channel.requests:
                channel.will_close = True
