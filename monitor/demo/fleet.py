"""Start the demo's local servers: a standalone Redis (small maxmemory, LFU), a 3+3 Redis
Cluster and a small memcached, all on free loopback ports; stop them all on exit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from monitor.localservers import LocalCluster, LocalMemcached, LocalRedis

__all__ = ["DemoFleet", "demo_fleet", "CLUSTER_NODE_TIMEOUT_MS"]

#: Redis's default: a node answering late on a loaded 2-core machine (the demo's load, the
#: UIs, a test suite beside it) is not failed over, as it was with 2 s
CLUSTER_NODE_TIMEOUT_MS = 15_000


@dataclass
class DemoFleet:
    standalone: LocalRedis
    cluster: LocalCluster
    memcached: LocalMemcached
    urls: list[str] = field(default_factory=list)

    @property
    def description(self) -> str:
        cluster = " + 3x2 cluster" if self.cluster.nodes else ""
        return f"redis (standalone{cluster}) and memcached"

    @property
    def redis_addresses(self) -> list[str]:
        return [self.standalone.address, *(node.address for node in self.cluster.nodes)]


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
        # an LFU cache cluster: its nodes see tens of commands a second, too few for the
        # background MONITOR bursts' 1 % duty to rank keys, while LFU counters can
        local_cluster = LocalCluster(
            primaries=3 if cluster else 0,
            node_timeout_ms=CLUSTER_NODE_TIMEOUT_MS,
            extra=["--maxmemory", "32mb", "--maxmemory-policy", "allkeys-lfu"],
        )
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
