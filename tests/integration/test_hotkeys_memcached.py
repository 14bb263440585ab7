"""Hot keys on memcached: `watch` bursts (reads and writes apart) and the metadump view."""

from __future__ import annotations

import asyncio
import random
import threading

from pymemcache.client.base import Client

from collectors.hotkeys import HotKeyDetector, HotKeyOptions, Method
from monitor.targets import parse_target_url
from tests.servers import LocalMemcached


def test_watch_bursts_find_hot_keys_and_metadump_shows_recency(
    memcached_server: LocalMemcached,
) -> None:
    rng = random.Random(21)
    keys = [f"k:{rng.getrandbits(48):012x}" for _ in range(200)]
    weights = [1 / (rank + 1) ** 1.1 for rank in range(200)]
    client = Client(("127.0.0.1", memcached_server.port))
    for key in keys:
        client.set(key, b"v")
    stop = threading.Event()

    def load() -> None:
        worker = Client(("127.0.0.1", memcached_server.port))
        while not stop.is_set():
            batch = rng.choices(keys, weights, k=100)
            worker.get_many(batch[:90])
            for key in batch[90:]:
                worker.set(key, b"w")
        worker.close()

    options = HotKeyOptions(burst_s=0.3, burst_every_s=0.0, metadump=True, metadump_max_items=50)
    detector = HotKeyDetector(parse_target_url(memcached_server.url), options)
    thread = threading.Thread(target=load, daemon=True)
    thread.start()

    async def steps() -> None:
        for _ in range(2):
            await detector.step()

    try:
        asyncio.run(steps())
    finally:
        stop.set()
        thread.join(10)
        client.close()
    report = detector.report()
    assert report.methods == (Method.WATCH,)
    top = report.hot[0]
    assert top.key in set(keys[:2])
    assert top.reads_per_sec is not None and top.writes_per_sec is not None
    assert top.reads_per_sec > top.writes_per_sec > 0
    assert top.instance == memcached_server.address
    assert 0 < len(report.recent) <= 50
    assert all(item.key in keys for item in report.recent)
    assert report.recent[0].idle_s <= report.recent[-1].idle_s
