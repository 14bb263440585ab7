"""The dashboard's process serves the same HTTP surface as `export`: the latest polls,
cachewatch's own health metrics, and the events endpoint, beside the Dash app."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from monitor.config import config_from_urls
from monitor.runtime import Runtime
from tests.servers import LocalRedis
from ui.web.server import run_web


def test_serve_exposes_self_metrics_and_events(redis_server: LocalRedis, tmp_path: Path) -> None:
    config = config_from_urls(
        [redis_server.url], interval_s=0.5, store_path=str(tmp_path / "store")
    )
    runtime = Runtime(config)
    runtime.start_background()
    server = run_web(runtime, "127.0.0.1:0")
    try:
        deadline = time.monotonic() + 20
        text = ""
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
                text = response.read().decode()
            if f'cachewatch_polls_total{{instance="{redis_server.address}"}}' in text:
                break
            time.sleep(0.2)
        assert f'redis_up{{instance="{redis_server.address}"}} 1' in text
        assert f'cachewatch_polls_total{{instance="{redis_server.address}"}}' in text
        assert "cachewatch_poll_seconds_bucket" in text
        with urllib.request.urlopen(f"{server.url}/api/v1/cachewatch/events", timeout=10) as r:
            assert json.loads(r.read())["status"] == "success"
    finally:
        server.stop()
        runtime.stop_background()
