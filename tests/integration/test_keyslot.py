"""`collectors.keyslot.key_slot` agrees with a real cluster-enabled server's CLUSTER KEYSLOT,
hash tags and their edge cases included."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import redis

from collectors.keyslot import key_slot
from tests.servers import LocalRedis

EDGE_CASES = [
    b"",
    b"foo",
    b"{user1000}.following",
    b"{user1000}.followers",
    b"foo{}{bar}",
    b"foo{{bar}}zap",
    b"foo{bar}{zap}",
    b"{",
    b"}",
    b"{}",
    b"a{b",
    b"a}b{c}",
    "sessión:ü".encode(),
    bytes(range(256)),
]


@pytest.fixture(scope="module")
def cluster_node() -> Iterator[redis.Redis]:
    server = LocalRedis(extra=["--cluster-enabled", "yes", "--cluster-config-file", "n.conf"])
    server.start()
    client = redis.Redis(port=server.port)
    try:
        yield client
    finally:
        client.close()
        server.stop()


def test_key_slot_matches_the_server(cluster_node: redis.Redis) -> None:
    rng = random.Random(3)
    keys = list(EDGE_CASES)
    for _ in range(300):
        body = rng.randbytes(rng.randint(1, 24))
        keys.append(body.replace(b"{", b"(") if rng.random() < 0.5 else body)
        keys.append(b"x{" + body[:4] + b"}y" + body)
    pipe = cluster_node.pipeline(transaction=False)
    for key in keys:
        pipe.execute_command("CLUSTER", "KEYSLOT", key)
    expected = pipe.execute()
    assert [key_slot(k) for k in keys] == expected
