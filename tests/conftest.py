"""Fixtures that start real servers on free loopback ports and always stop them."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.servers import LocalCluster, LocalMemcached, LocalRedis, LocalSentinelSet, have_binary

# Property tests check what is computed, never how fast: on a loaded machine one example
# can take seconds, and Hypothesis's per-example deadline would fail a correct test.
settings.register_profile("cachewatch", deadline=None)
settings.load_profile("cachewatch")


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


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A fresh 8 MiB tmpfs to fill up (mounting needs root, as CI has; skipped elsewhere)."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
