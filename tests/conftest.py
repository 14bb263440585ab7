"""Fixtures that start real servers on free loopback ports and always stop them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import LocalCluster, LocalMemcached, LocalRedis, LocalSentinelSet, have_binary


@pytest.fixture
def redis_server() -> Iterator[LocalRedis]:
    server = LocalRedis().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def shared_redis() -> Iterator[LocalRedis]:
    """One Redis for tests that only read from it and don't care about its state."""
    server = LocalRedis().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def valkey_server() -> Iterator[LocalRedis]:
    if not have_binary("valkey-server"):
        pytest.skip("valkey-server not installed")
    server = LocalRedis(binary="valkey-server").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["redis-server", "valkey-server"])
def any_redis(request: pytest.FixtureRequest) -> Iterator[LocalRedis]:
    """Every installed Redis-protocol server, one after the other."""
    if not have_binary(request.param):
        pytest.skip(f"{request.param} not installed")
    server = LocalRedis(binary=request.param).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def memcached_server() -> Iterator[LocalMemcached]:
    server = LocalMemcached().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_cluster() -> Iterator[LocalCluster]:
    cluster = LocalCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def sentinel_set() -> Iterator[LocalSentinelSet]:
    """A primary, two replicas and three Sentinels (quorum 2), failing over in seconds."""
    sentinels = LocalSentinelSet().start()
    try:
        yield sentinels
    finally:
        sentinels.stop()
