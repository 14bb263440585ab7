"""Hot keys on clusters: per-node detection merged (Redis 3+3 with MONITOR bursts), and LFU
sampling with CLUSTER SLOT-STATS hot slots first and READONLY replicas (Valkey 8.0)."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator

import pytest
from redis import Redis
from redis.cluster import ClusterNode, RedisCluster

from collectors.hotkeys import HotKeyDetector, HotKeyOptions, Method, detect_hot_keys
from collectors.hotkeys.cluster import discover_nodes
from monitor.targets import parse_target_url
from tests.servers import LocalCluster, have_binary


class ClusterZipf:
    def __init__(self, seed_port: int, keys: int, seed: int) -> None:
        rng = random.Random(seed)
        self.keys = [f"k:{rng.getrandbits(48):012x}" for _ in range(keys)]
        self.weights = [1 / (rank + 1) ** 1.2 for rank in range(keys)]
        self.client = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", seed_port)])
        self._rng = rng

    def fill(self) -> None:
        pipe = self.client.pipeline()
        for key in self.keys:
            pipe.set(key, "v")
        pipe.execute()

    def run(self, operations: int, write: bool = False) -> None:
        pipe = self.client.pipeline()
        for key in self._rng.choices(self.keys, self.weights, k=operations):
            pipe.set(key, "w") if write else pipe.get(key)
        pipe.execute()

    def background(self, write: bool = False) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                self.run(300, write)

        thread = threading.Thread(target=load, daemon=True)
        thread.start()
        return thread, stop


def test_cluster_seed_runs_per_primary_and_merges(redis_cluster: LocalCluster) -> None:
    zipf = ClusterZipf(redis_cluster.nodes[0].port, 300, seed=11)
    zipf.fill()
    thread, stop = zipf.background()
    try:
        options = HotKeyOptions(top=5, monitor=True, burst_s=0.3, burst_every_s=0.5)
        seed = parse_target_url(redis_cluster.seed_url)
        report = asyncio.run(detect_hot_keys(seed, 1.5, options, poll_s=0.2))
    finally:
        stop.set()
        thread.join(10)
        zipf.client.close()
    assert report.methods == (Method.MONITOR,)
    assert len(report.hot) == 5
    assert report.hot[0].key == zipf.keys[0]
    instances = {entry.instance for entry in report.hot}
    primaries = {n.address for n in redis_cluster.nodes[:6]}
    assert instances <= primaries
    # per-node notes (none expected) would be prefixed by their node; each key from one node
    assert all("," not in entry.instance for entry in report.hot)


@pytest.fixture
def valkey_lfu_cluster() -> Iterator[LocalCluster]:
    if not have_binary("valkey-server"):
        pytest.skip("valkey-server not installed")
    cluster = LocalCluster(
        binary="valkey-server",
        extra=[
            "--maxmemory", "50mb", "--maxmemory-policy", "allkeys-lfu",
            "--cluster-slot-stats-enabled", "yes",
        ],
    ).start()  # fmt: skip
    try:
        yield cluster
    finally:
        cluster.stop()


def test_valkey_hot_slots_are_sampled_first(valkey_lfu_cluster: LocalCluster) -> None:
    zipf = ClusterZipf(valkey_lfu_cluster.nodes[0].port, 3000, seed=12)
    zipf.fill()
    zipf.run(30_000)
    hottest = zipf.keys[0]
    slot = zipf.client.keyslot(hottest)
    owner = zipf.client.get_node_from_key(hottest)
    zipf.client.close()
    seed = parse_target_url(valkey_lfu_cluster.seed_url)
    nodes = asyncio.run(discover_nodes(seed))
    node = next(n for n in nodes if n.port == owner.port)
    # 12 commands a second: far too few for SCAN to reach one key among ~1000 on the node
    # in two steps, so the key is found only through CLUSTER SLOT-STATS' hottest slots
    options = HotKeyOptions(command_budget_per_s=12, big_keys=False, hot_slots=4)
    detector = HotKeyDetector(node, options)

    async def two_steps() -> None:
        try:
            await detector.step()  # reads the hot slots' keys once: on probation
            await asyncio.sleep(1.0)  # a second's budget for the second read
            await detector.step()  # reads them again: the difference makes the score
        finally:
            await detector.close()

    asyncio.run(two_steps())
    report = detector.report()
    assert report.methods == (Method.LFU,), report.notes
    assert hottest in {entry.key for entry in report.hot}, f"slot {slot}"


def test_valkey_replicas_are_sampled_with_readonly(valkey_lfu_cluster: LocalCluster) -> None:
    zipf = ClusterZipf(valkey_lfu_cluster.nodes[0].port, 200, seed=13)
    zipf.fill()
    seed = parse_target_url(valkey_lfu_cluster.seed_url)
    options = HotKeyOptions(top=5, big_keys=False)
    # writes reach the replicas through replication, which touches their LFU counters
    thread, stop = zipf.background(write=True)
    try:
        report = asyncio.run(detect_hot_keys(seed, 2.5, options, include_replicas=True))
    finally:
        stop.set()
        thread.join(10)
        zipf.client.close()
    replicas = {
        t.instance for t in asyncio.run(discover_nodes(seed)) if dict(t.labels)["role"] == "replica"
    }
    assert len(replicas) == 3
    assert not [note for note in report.notes if "MOVED" in note or "dropped" in note]
    assert any(instance in replicas for e in report.hot for instance in e.instance.split(","))


def test_valkey_slot_cpu_ranks_keys_at_the_lfu_ceiling(valkey_lfu_cluster: LocalCluster) -> None:
    # lfu-log-factor 0: ~250 reads put a key at 255, as ~311k do at the default factor on a
    # long-running busy server; its counter then cannot rank it, its slot's CPU can.
    for node in valkey_lfu_cluster.nodes:
        with Redis(port=node.port) as admin:
            admin.config_set("lfu-log-factor", 0)
    zipf = ClusterZipf(valkey_lfu_cluster.nodes[0].port, 300, seed=14)
    zipf.fill()
    zipf.run(60_000)  # the top ~30 keys end at 255
    hottest = zipf.keys[0]
    owner = zipf.client.get_node_from_key(hottest)
    seed = parse_target_url(valkey_lfu_cluster.seed_url)
    node = next(n for n in asyncio.run(discover_nodes(seed)) if n.port == owner.port)
    detector = HotKeyDetector(node, HotKeyOptions(window_s=2.0, top=5, big_keys=False))

    async def steps() -> None:
        try:
            for _ in range(12):  # three windows: what the counters said at first is stale
                await detector.step()
                await asyncio.sleep(0.5)
        finally:
            await detector.close()

    thread, stop = zipf.background()
    try:
        asyncio.run(steps())
    finally:
        stop.set()
        thread.join(10)
        zipf.client.close()
    report = detector.report()
    assert report.methods == (Method.LFU,), report.notes
    assert report.hot[0].key == hottest, [e.key for e in report.hot]
    assert not any("no evidence from this window" in note for note in report.notes), report.notes
