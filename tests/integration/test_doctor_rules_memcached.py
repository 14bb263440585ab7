"""Every memcached doctor rule against a real memcached set up to trigger it, and a healthy
one that does not. Slab imbalance is reproduced as it happens in production: memory fills
with one value size, those items expire, and a second size arrives while automove is off."""

from __future__ import annotations

import socket
import time

import pytest

from tests.doctor_harness import watching
from tests.servers import LocalMemcached
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(240)


class Client:
    """A minimal text-protocol client for the test's own writes (not cachewatch's)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("memcached closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def set_many(self, items: list[tuple[str, bytes]], ttl: int = 0) -> list[bytes]:
        payload = b"".join(
            b"set %s 0 %d %d\r\n%s\r\n" % (k.encode(), ttl, len(v), v) for k, v in items
        )
        self.sock.sendall(payload)
        return [self._line() for _ in items]

    def get_many(self, keys: list[str]) -> int:
        """Hits among `keys` (one multi-get)."""
        self.sock.sendall(b"get " + " ".join(keys).encode() + b"\r\n")
        hits = 0
        while True:
            line = self._line()
            if line == b"END":
                return hits
            size = int(line.split()[3])
            while len(self.buffer) < size + 2:
                self.buffer += self.sock.recv(65536)
            self.buffer = self.buffer[size + 2 :]
            hits += 1

    def command(self, text: str) -> bytes:
        self.sock.sendall(text.encode() + b"\r\n")
        return self._line()


def _stats(port: int, client: Client | None = None) -> dict[str, str]:
    """`stats`, on `client`'s connection (one opened before the limit was reached), or a
    new one."""
    own = client is None
    conn = Client(port) if client is None else client
    try:
        conn.sock.sendall(b"stats\r\n")
        out = {}
        while (line := conn._line()) != b"END":
            _, name, value = line.decode().split(" ", 2)
            out[name] = value
        return out
    finally:
        if own:
            conn.close()


def test_slab_imbalance_wasted_writes_and_misses_and_a_healthy_memcached() -> None:
    imbalanced = LocalMemcached(memory_mb=16, extra=["-o", "slab_automove=0"]).start()
    healthy = LocalMemcached().start()
    client = Client(imbalanced.port)
    other = Client(healthy.port)
    try:
        with watching([imbalanced.url, healthy.url]) as watched:
            watched.wait_polled([imbalanced.address, healthy.address])
            # phase 1: small values fill the memory, and expire
            small = b"s" * 900
            for batch in range(20):
                client.set_many([(f"page:{batch}:{i}", small) for i in range(1000)], ttl=2)
            time.sleep(2.5)
            assert client.command("lru_crawler crawl all") == b"OK"
            # phase 2: a bigger size; its class gets no page back from the first
            big = b"B" * 20_000
            for batch in range(12):
                client.set_many([(f"report:{batch}:{i}", big) for i in range(200)])
                client.get_many([f"report:{batch - 3}:{i}" for i in range(0, 200, 4)])
                other.set_many([(f"page:{batch}:{i}", small) for i in range(100)], ttl=3600)
                other.get_many([f"page:{batch}:{i}" for i in range(100)])
                time.sleep(0.2)
            found = watched.wait_rules(
                imbalanced.address,
                {
                    "memcached-slab-imbalance",
                    "memcached-evicted-unfetched",
                    "memcached-evicting-hit-ratio-low",
                },
            )
            assert found
            imbalance = next(f for f in watched.findings() if f.rule == "memcached-slab-imbalance")
            assert imbalance.labels["slab"]
            assert watched.rules_on(healthy.address) == set()
    finally:
        client.close()
        other.close()
        imbalanced.stop()
        healthy.stop()


def test_connection_limits_big_items_and_a_growing_hash_table() -> None:
    server = LocalMemcached(extra=["-c", "64", "-o", "hashpower=13"]).start()
    held: list[socket.socket] = []
    try:
        with watching([server.url]) as watched:
            watched.wait_polled([server.address])
            oversized = Client(server.port)
            try:  # refused (memcached may also drop the connection that sent it)
                oversized.set_many([("oversized", b"x" * (2 * 1024 * 1024))])
            except ConnectionError:
                pass
            finally:
                oversized.close()
            wait_for(lambda: int(_stats(server.port)["store_too_large"]) > 0)
            client = Client(server.port)
            try:
                for batch in range(14):  # past 1.5 x 2^13 items: the table doubles
                    client.set_many([(f"k:{batch}:{i}", b"v") for i in range(1000)])
            finally:
                client.close()
            probe = Client(server.port)
            held.append(probe.sock)
            for _ in range(80):
                try:
                    held.append(socket.create_connection(("127.0.0.1", server.port), timeout=2))
                except OSError:
                    break
            wait_for(lambda: int(_stats(server.port, probe)["rejected_connections"]) > 0)
            watched.wait_rules(
                server.address,
                {
                    "memcached-connection-limit-reached",
                    "memcached-connections-near-max",
                    "memcached-items-too-large",
                    "memcached-hash-table-expanded",
                },
            )
    finally:
        for sock in held:
            sock.close()
        server.stop()


def test_out_of_memory_with_evictions_off_and_yielding_connections() -> None:
    server = LocalMemcached(memory_mb=8, extra=["-M", "-R", "1"]).start()
    try:
        with watching([server.url]) as watched:
            watched.wait_polled([server.address])
            client = Client(server.port)
            try:
                value = b"v" * 4000
                for batch in range(12):
                    replies = client.set_many([(f"k:{batch}:{i}", value) for i in range(300)])
                    client.get_many([f"k:{batch}:{i}" for i in range(100)])
                    if any(r.startswith(b"SERVER_ERROR") for r in replies) and batch > 4:
                        break
                for _ in range(30):  # many requests in one read: yielded after each (-R 1)
                    client.get_many([f"k:0:{i}" for i in range(50)])
                    time.sleep(0.05)
            finally:
                client.close()
            watched.wait_rules(
                server.address, {"memcached-out-of-memory", "memcached-connection-yields"}
            )
    finally:
        server.stop()
