"""Hot-key detection inside the running engine: detectors follow the fleet, reports reach
the UIs, and the top-K reaches the store as bounded series (key names only when opted in)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import redis

from monitor.config import config_from_urls
from monitor.hotkeys_runner import HotKeysRunner
from monitor.model import now_ms
from monitor.query import Engine
from monitor.runtime import Runtime
from tests.servers import LocalRedis


def zipf_load(port: int, stop: threading.Event, hot: list[str]) -> None:
    client = redis.Redis(port=port)
    rng = np.random.default_rng(3)
    keys = hot + [f"cold:{i}" for i in range(2000)]
    for key in keys:
        client.set(key, "x")
    weights = np.arange(1, len(keys) + 1, dtype=float) ** -1.2
    weights /= weights.sum()
    while not stop.is_set():
        pipe = client.pipeline(transaction=False)
        for index in rng.choice(len(keys), size=200, p=weights):
            pipe.get(keys[index])
        pipe.execute()
    client.close()


def test_runtime_detects_hot_keys_and_stores_the_top_k(tmp_path: Path) -> None:
    server = LocalRedis(extra=["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lfu"]).start()
    hot = [f"hot:{name}" for name in ("alpha", "bravo", "charlie")]
    stop = threading.Event()
    load = threading.Thread(target=zipf_load, args=(server.port, stop, hot), daemon=True)
    load.start()
    runner = HotKeysRunner(
        {
            # this thread's load is a few thousand commands a second: the default 2 % of it
            # would take minutes to rank 2,000 keys, which is not what this test is about
            "command_floor": 1000,
            "top": 5,
            "export_key_names": True,
            "mask_regex": "^hot:(.*)$",
            "mask_replacement": "hot:<\\1>",
        }
    )
    config = config_from_urls([server.url], interval_s=1.0, store_path=str(tmp_path / "store"))
    runtime = Runtime(config)
    runtime.on_started(runner.start)
    runtime.on_stopping(runner.stop)
    runtime.start_background()
    try:
        deadline = time.monotonic() + 40
        found: set[str] = set()
        while time.monotonic() < deadline:
            reports = runner.reports()
            found = {e.key for r in reports for e in r.hot[:5]}
            if set(hot) <= found:
                break
            time.sleep(1)
        assert set(hot) <= found, found
        (report,) = runner.reports()
        assert report.target == server.address
        time.sleep(2.5)  # a poll or two carries the report into the store
        # bounded cardinality: at any instant, at most `top` series (stale ones end)
        current = Engine(runtime.store).instant("cachewatch_hotkey_ops_per_second", now_ms())
        assert 0 < len(current.samples) <= 5
        keys = {labels.get("key") for labels, _ in current.samples}
        assert "hot:<alpha>" in keys or "hot:<bravo>" in keys or "hot:<charlie>" in keys
        assert not any(k and k.startswith("hot:") and "<" not in k for k in keys)
    finally:
        stop.set()
        runtime.stop_background()
        load.join(5)
        server.stop()
