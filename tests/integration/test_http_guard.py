"""The hardened waitress (`monitor/http/guard.py`) on a real socket: health answered while
every worker is busy, unfinished requests closed after the read timeout, and a full server
making room for a new client instead of turning it away."""

from __future__ import annotations

import socket
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from monitor.http import make_app, serve_forever
from monitor.http.server import RunningServer
from monitor.http.settings import ServerSettings
from tests.waiting import wait_for

RELEASE = threading.Event()
BUSY = threading.Semaphore(0)


def blocking_root(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Every path no route claims: hold the worker until the test lets go."""
    BUSY.release()
    RELEASE.wait(60)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


@pytest.fixture
def server() -> Iterator[RunningServer]:
    RELEASE.clear()
    app = make_app(latest_batches=list, metadata=dict, root=blocking_root)
    # 16: room for the busy test's 10 held requests plus its health checks and a closed
    # connection the server has not reaped yet (at 12 a health check could be the one closed
    # to make room); the full-server test opens 20
    settings = ServerSettings(max_connections=16, read_timeout_s=2.0, idle_timeout_s=30.0)
    running = serve_forever(app, "127.0.0.1:0", settings)
    try:
        yield running
    finally:
        RELEASE.set()
        running.stop()


def get(url: str, timeout: float = 10.0) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return int(response.status)


def test_health_is_answered_while_every_worker_is_busy(server: RunningServer) -> None:
    threads = [
        threading.Thread(target=lambda: get(server.url + "/slow", 60), daemon=True)
        for _ in range(10)  # more than the 8 workers
    ]
    for thread in threads:
        thread.start()
    for _ in range(8):
        assert BUSY.acquire(timeout=30)  # every worker holds a request
    assert get(server.url + "/-/healthy", timeout=2) == 200
    assert get(server.url + "/-/ready", timeout=2) == 200
    RELEASE.set()
    for thread in threads:
        thread.join(30)


def test_unfinished_requests_are_closed_and_a_full_server_makes_room(
    server: RunningServer,
) -> None:
    slow = []
    for _ in range(20):  # more than max_connections
        sock = socket.create_connection((server.host, server.port), timeout=10)
        sock.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n")  # never finished
        slow.append(sock)
    assert get(server.url + "/-/healthy", timeout=5) == 200  # room was made

    def all_closed() -> bool:
        for sock in slow:
            sock.settimeout(0.05)
            try:
                if sock.recv(1) != b"":
                    return False
            except TimeoutError:
                return False
            except OSError:
                pass
        return True

    wait_for(all_closed, 15, "the server to close every unfinished request")
    for sock in slow:
        sock.close()
