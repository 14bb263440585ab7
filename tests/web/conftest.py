"""Real servers, a real `cachewatch serve` process and a real headless Chromium.

`served` starts Redis, memcached, a 3+3 Redis Cluster and a Sentinel set (three Sentinels, a
primary and two replicas), writes a config with basic auth, and runs `cachewatch serve` on a
free port with its own store and alert state. `browser`
is a fresh headless Chromium that sends the credentials with every request.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers import (
    LocalCluster,
    LocalMemcached,
    LocalRedis,
    LocalSentinelSet,
    free_port,
    have_binary,
)
from tests.web.browser import headless_chromium

USER = "ops"
PASSWORD = "correct horse battery staple"
#: the password of one Redis target; it must never reach the browser
TARGET_PASSWORD = "target-secret-4f1d9c"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@dataclass
class Served:
    url: str
    redis: LocalRedis
    secured: LocalRedis
    memcached: LocalMemcached
    cluster: LocalCluster | None
    sentinels: LocalSentinelSet
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def auth_header(user: str = USER, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def http_get(url: str, authorization: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        url, headers={"Authorization": authorization} if authorization else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def _wait_ready(
    url: str, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"cachewatch serve exited {process.returncode}:\n{log_path.read_text()}"
            )
        try:
            if http_get(url + "/-/ready")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"cachewatch serve not ready in {timeout_s}s:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    for binary in ("redis-server", "memcached", "chromium", "chromedriver"):
        if not have_binary(binary):
            pytest.skip(f"{binary} not installed")
    tmp = Path(tempfile.mkdtemp(prefix="cachewatch-web-"))
    redis, memcached = LocalRedis().start(), LocalMemcached().start()
    secured = LocalRedis(extra=["--requirepass", TARGET_PASSWORD]).start()
    cluster = LocalCluster().start() if have_binary("redis-cli") else None
    sentinels = LocalSentinelSet().start()
    urls = [redis.url, memcached.url, sentinels.seed_url] + ([cluster.seed_url] if cluster else [])
    (tmp / "password").write_text(PASSWORD + "\n")
    config = tmp / "cachewatch.toml"
    (tmp / "target-password").write_text(TARGET_PASSWORD + "\n")
    config.write_text(
        "[[targets]]\n"
        f'url = "{secured.url}"\n'
        f'password_file = "{tmp / "target-password"}"\n'
        'labels = { service = "sessions" }\n'
        "[web]\n"
        f'auth_username = "{USER}"\n'
        f'auth_password_file = "{tmp / "password"}"\n'
        'theme = "dark"\n'
        "[hotkeys]\n"
        "enabled = true\n"
        "monitor = true\n"
        'monitor_every = "2s"\n'
    )
    port = free_port()
    log_path = tmp / "serve.log"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp / "data")}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor",
                "serve",
                "-c",
                str(config),
                *urls,
                "--listen",
                f"127.0.0.1:{port}",
                "--interval",
                "1s",
                "--store",
                str(tmp / "store"),
                "--alerts-state-dir",
                str(tmp / "alerts"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    from monitor.demo.workload import WorkloadSpec, start_workload

    # a light, realistic load so the charts have something to show
    workload, stop_workload = start_workload(
        WorkloadSpec(
            redis_url=redis.url,
            memcached=("127.0.0.1", memcached.port),
            ops_per_second=200,
            key_space=2000,
        )
    )
    try:
        _wait_ready(url, process, log_path)
        yield Served(url, redis, secured, memcached, cluster, sentinels, process, log_path)
    finally:
        stop_workload.set()
        workload.join(10)
        if workload.is_alive():
            workload.kill()
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        redis.stop()
        secured.stop()
        memcached.stop()
        if cluster is not None:
            cluster.stop()
        sentinels.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(served: Served) -> Iterator[Any]:
    with headless_chromium(logs=True) as driver:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd(
            "Network.setExtraHTTPHeaders", {"headers": {"Authorization": auth_header()}}
        )
        yield driver


def screenshot(driver: object, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    return path
