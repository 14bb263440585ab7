"""Start the demo's local servers: a standalone Redis (small maxmemory, LFU), a 3+3 Redis
Cluster and a small memcached, all on free loopback ports; stop them all on exit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from monitor.localservers import LocalCluster, LocalMemcached, LocalRedis

__all__ = ["DemoFleet", "demo_fleet"]


@dataclass
class DemoFleet:
    standalone: LocalRedis
    cluster: LocalCluster
    memcached: LocalMemcached
    urls: list[str] = field(default_factory=list)


@contextlib.contextmanager
def demo_fleet(cluster: bool = True) -> Iterator[DemoFleet]:
    started: list[LocalRedis | LocalCluster | LocalMemcached] = []
    try:
        standalone = LocalRedis(
            extra=[
                "--maxmemory",
                "16mb",
                "--maxmemory-policy",
                "allkeys-lfu",
                "--slowlog-log-slower-than",
                "2000",
            ]
        ).start()
        started.append(standalone)
        local_cluster = LocalCluster(primaries=3 if cluster else 0)
        if cluster:
            local_cluster.start()
            started.append(local_cluster)
        memcached = LocalMemcached(memory_mb=8).start()
        started.append(memcached)
        urls = [standalone.url, memcached.url]
        if cluster:
            urls.insert(1, local_cluster.seed_url)
        yield DemoFleet(standalone, local_cluster, memcached, urls)
    finally:
        for server in reversed(started):
            server.stop()
