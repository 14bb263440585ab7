"""Run the WSGI app under waitress (hardened: `guard.py`) in a background thread that can
be stopped."""

from __future__ import annotations

import logging
import threading
from typing import Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.task import ThreadedTaskDispatcher

from monitor.http.guard import GuardedServer
from monitor.http.settings import ServerSettings
from monitor.http.wsgi import WSGIApp

__all__ = ["RunningServer", "ListenError", "parse_listen", "serve_forever"]

log = logging.getLogger("cachewatch.http")

_THREADS = 8
#: how long the server loop may take to notice `stop()`
_LOOP_TIMEOUT_S = 0.2
#: the largest request body accepted (waitress's default is 1 GiB); the dashboard's
#: callbacks post their state, the query API a form of at most 1 MiB
_MAX_BODY_BYTES = 16 << 20


class ListenError(ValueError):
    """A `--listen` address that cannot be used."""


def parse_listen(listen: str) -> tuple[str, int]:
    """`host:port`, `[v6addr]:port` or `:port`; an empty host means 127.0.0.1, because
    binding anything wider must be asked for explicitly (e.g. `0.0.0.0:8050`)."""
    host, sep, port_text = listen.rpartition(":")
    if not sep:
        raise ListenError(f"listen address {listen!r}: expected host:port, e.g. 127.0.0.1:8050")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise ListenError(
            f"listen address {listen!r}: port {port_text!r} is not a number"
        ) from None
    if not 0 <= port <= 65535:
        raise ListenError(f"listen address {listen!r}: port {port} is out of range")
    return host or "127.0.0.1", port


class RunningServer:
    """A waitress server whose loop runs in a daemon thread until `stop()`."""

    def __init__(self, server: Any, scheme: str = "http") -> None:
        self._server = server
        self.scheme = scheme
        self.host = str(server.effective_host)
        self.port = int(server.effective_port)
        self._stopping = threading.Event()
        # Held while stop() wakes the loop: the loop thread closes the wake-up pipe only
        # after seeing `_stopping` under it, so stop() never writes to a closed (or reused)
        # file descriptor.
        self._waking = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"http-{self.port}", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def _run(self) -> None:
        # One poll round at a time, so the sockets are closed by this thread, between
        # rounds, rather than from under a running poll by the thread calling stop().
        server_map = self._server._map
        while True:
            with self._waking:
                if self._stopping.is_set():
                    break
            wasyncore.loop(timeout=_LOOP_TIMEOUT_S, use_poll=True, map=server_map, count=1)
        self._server.task_dispatcher.shutdown()
        self._server.priority_dispatcher.shutdown()
        wasyncore.close_all(server_map)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop accepting, close every connection and wait for the loop thread to end.
        Stopping a stopped server does nothing."""
        with self._waking:
            if self._stopping.is_set():
                return
            self._stopping.set()
            self._server.pull_trigger()
        self._thread.join(timeout_s)


def serve_forever(
    app: WSGIApp, listen: str = "127.0.0.1:8050", settings: ServerSettings | None = None
) -> RunningServer:
    """Start serving `app` on `listen` in a daemon thread; port 0 picks a free port.
    `settings`: TLS and the connection limits (defaults: plain HTTP, `ServerSettings()`)."""
    settings = settings or ServerSettings()
    host, port = parse_listen(listen)
    tls = settings.tls_context()
    # Our own socket map and task dispatcher, so a failed bind can release what waitress
    # created before it (the wake-up pipe, the socket, the worker threads).
    socket_map: dict[int, Any] = {}
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(_THREADS)
    try:
        adj = Adjustments(
            host=host,
            port=port,
            threads=_THREADS,
            ident="cachewatch",
            clear_untrusted_proxy_headers=True,
            url_scheme="https" if tls is not None else "http",
            channel_timeout=settings.idle_timeout_s,
            cleanup_interval=1,
            # above our own limit: GuardedServer makes room before waitress would stop
            connection_limit=settings.max_connections + 16,
            max_request_body_size=_MAX_BODY_BYTES,
            asyncore_use_poll=True,
        )
        server = GuardedServer(
            app,
            map=socket_map,
            dispatcher=dispatcher,
            adj=adj,
            read_timeout_s=settings.read_timeout_s,
            max_connections=settings.max_connections,
            tls=tls,
        )
    except OSError as exc:
        dispatcher.shutdown()
        wasyncore.close_all(socket_map)
        raise ListenError(f"cannot listen on {listen!r}: {exc.strerror or exc}") from None
    running = RunningServer(server, "https" if tls is not None else "http")
    log.info("serving HTTP on %s", running.url)
    return running
