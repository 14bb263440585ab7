"""The CLIENT LIST summary against a real server with 592 connections from several client
names, source addresses (127.0.0.2, 127.0.0.3, ... : loopback is a /8) and ACL users, some
idle, blocked or subscribed: the bounded series count them right, and no name or address
outside the top N is ever stored."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import redis

from collectors.redis_conn import encode_command
from monitor.model import now_ms
from monitor.query import Engine
from tests.doctor_harness import watching
from tests.servers import LocalRedis
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(180)
TOP = 5
USER_PASSWORD = "reporting-pw-1"


def _client(port: int, address: str, *commands: tuple[str, ...]) -> socket.socket:
    sock = socket.socket()
    sock.bind((address, 0))
    sock.connect(("127.0.0.1", port))
    for command in commands:
        sock.sendall(encode_command(command))
        if command[0] not in ("BLPOP", "SUBSCRIBE"):
            reply = sock.recv(4096)
            assert reply.startswith((b"+", b":")), reply
    return sock


#: (client name or None, source address, how many, extra commands)
GROUPS: list[tuple[str | None, str, int]] = [
    ("api", "127.0.0.2", 200),
    ("worker", "127.0.0.3", 150),
    ("cron", "127.0.0.4", 100),
    (None, "127.0.0.5", 60),
    *[(f"job-{i}", "127.0.0.6", 3) for i in range(10)],
]


@pytest.fixture
def crowded() -> Iterator[tuple[LocalRedis, list[socket.socket]]]:
    # protected mode refuses sources other than 127.0.0.1; the server binds loopback only
    server = LocalRedis(extra=["--protected-mode", "no"]).start()
    held: list[socket.socket] = []
    try:
        with redis.Redis(port=server.port) as conn:
            conn.acl_setuser("reporting", enabled=True, passwords=[f"+{USER_PASSWORD}"],
                             commands=["+@all"], keys=["*"], channels=["*"])  # fmt: skip
        for name, address, count in GROUPS:
            setname = (("CLIENT", "SETNAME", name),) if name else ()
            held += [_client(server.port, address, *setname) for _ in range(count)]
        auth = ("AUTH", "reporting", USER_PASSWORD)
        held += [
            _client(server.port, "127.0.0.7", auth, ("CLIENT", "SETNAME", "report"))
            for _ in range(40)
        ]
        held += [
            _client(server.port, "127.0.0.8", ("CLIENT", "SETNAME", "waiter"), ("BLPOP", "q", "0"))
            for _ in range(5)
        ]
        held += [
            _client(server.port, "127.0.0.8", ("CLIENT", "SETNAME", "listener"),
                    ("SUBSCRIBE", "events"))
            for _ in range(7)
        ]  # fmt: skip
        yield server, held
    finally:
        for sock in held:
            sock.close()
        server.stop()


def _series(engine: Engine, expr: str) -> dict[str, float]:
    result = engine.instant(expr, now_ms())
    return {
        next((v for k, v in dict(labels).items() if k not in ("instance", "__name__")), ""): value
        for labels, value in result.samples
    }


def test_the_summary_of_592_connections(crowded: tuple[LocalRedis, list[socket.socket]]) -> None:
    server, held = crowded
    assert len(held) == 592
    active = held[:50]  # 50 of the "api" clients keep talking
    with watching(
        [server.url], doctor={"namespaces": False}, collectors={"clients_top": TOP,
                                                                "clients_idle_after": "3s"}
    ) as watched:  # fmt: skip
        engine = Engine(watched.runtime.store)

        def summarised() -> bool:
            for sock in active:
                sock.sendall(encode_command(("PING",)))
                sock.recv(64)
            idle = _series(engine, "cachewatch_clients_idle")
            return bool(idle) and idle[""] >= 500

        wait_for(summarised, 40, "the idle connections to be counted")
        by_name = _series(engine, "cachewatch_clients_by_name")
        by_address = _series(engine, "cachewatch_clients_by_address")
        by_user = _series(engine, "cachewatch_clients_by_user")
        idle_by_name = _series(engine, "cachewatch_clients_idle_by_name")
        listed = _series(engine, "cachewatch_clients_listed")[""]
        blocked = _series(engine, "cachewatch_clients_blocked")[""]
        pubsub = _series(engine, "cachewatch_clients_pubsub")[""]

    own = listed - 592  # cachewatch's own connections (poller) are clients too
    assert 1 <= own <= 3
    # top 5 names + other; job-0..9, listener, waiter, report and cachewatch are summed
    assert by_name == {
        "api": 200,
        "worker": 150,
        "cron": 100,
        "(unnamed)": 60,
        "report": 40,
        "other": 30 + 5 + 7 + own,
    }
    assert by_address["127.0.0.2"] == 200 and by_address["127.0.0.3"] == 150
    assert by_address["127.0.0.4"] == 100 and by_address["127.0.0.5"] == 60
    assert by_address["127.0.0.7"] == 40
    assert by_address["other"] == 30 + 12 + own  # 127.0.0.6, .8 and cachewatch's 127.0.0.1
    assert len(by_address) == TOP + 1
    assert by_user == {"default": 552 + own, "reporting": 40}
    # the 50 clients that keep sending are not idle; the other 150 "api" ones are
    assert idle_by_name["api"] == 150 and idle_by_name["worker"] == 150
    assert set(idle_by_name) <= {"api", "worker", "cron", "(unnamed)", "report", "other"}
    assert (blocked, pubsub) == (5, 7)
