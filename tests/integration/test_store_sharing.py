"""One process writes a store; reading commands work beside it; a second writer is refused."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.servers import LocalRedis


def cachewatch(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], capture_output=True, text=True, timeout=timeout
    )


def test_query_beside_a_running_writer_and_no_second_writer(
    redis_server: LocalRedis, tmp_path: Path
) -> None:
    store = str(tmp_path / "store")
    log = tmp_path / "writer.log"
    with log.open("w") as sink:
        writer = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor",
                "poll",
                redis_server.url,
                "--interval",
                "1s",
                "--store",
                store,
            ],
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        deadline = time.monotonic() + 30
        samples = 0.0
        while time.monotonic() < deadline:
            result = cachewatch(
                "query", "count_over_time(redis_up[1m])", "--store", store, "--format", "json"
            )
            if result.returncode == 0:
                data = json.loads(result.stdout)
                if data["result"]:
                    samples = float(data["result"][0]["value"][1])
                    if samples >= 3:
                        break
            time.sleep(0.5)
        assert samples >= 3, result.stderr
        stats = cachewatch("store", "stats", "--store", store, "--format", "json")
        assert stats.returncode == 0, stats.stderr
        assert json.loads(stats.stdout)["series"] > 100
        second = cachewatch("poll", redis_server.url, "--store", store, timeout=30)
        assert second.returncode == 2
        assert "in use by another cachewatch process" in second.stderr
        assert "Traceback" not in second.stderr
        assert writer.poll() is None  # the first writer is unharmed
    finally:
        writer.send_signal(signal.SIGINT)
        writer.wait(30)
    assert writer.returncode == 0, log.read_text()
