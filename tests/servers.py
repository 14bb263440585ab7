"""Real servers for tests and benchmarks: redis-server, valkey-server, memcached, a Redis
Cluster, a Sentinel-managed primary with replicas.

The launchers live in `monitor/localservers.py` (the demo uses them too); the pytest fixtures
in `tests/conftest.py` wrap them.
"""

from __future__ import annotations

from monitor.localservers import (
    LocalCluster,
    LocalMemcached,
    LocalRedis,
    LocalSentinel,
    LocalSentinelSet,
    free_port,
    have_binary,
)

__all__ = [
    "LocalCluster",
    "LocalMemcached",
    "LocalRedis",
    "LocalSentinel",
    "LocalSentinelSet",
    "free_port",
    "have_binary",
]
