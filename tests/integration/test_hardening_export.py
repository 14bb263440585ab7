"""Issue 13, case 5, against a real `cachewatch export` process: the same loopback rule and
auth as `serve`, TLS from the config, and `/scrape` limited to what it polls and what
`[exporter] scrape_allow` names. Also `serve` on a full disk: not ready, and it says why."""

from __future__ import annotations

import base64
import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_target_security import make_certs
from tests.servers import LocalRedis, free_port
from tests.waiting import wait_for

PASSWORD = "export-test-password"
AUTH = "Basic " + base64.b64encode(f"scraper:{PASSWORD}".encode()).decode()


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )


def stop(proc: subprocess.Popen[bytes]) -> bytes:
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def fetch(url: str, context: ssl.SSLContext | None = None, auth: bool = True) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": AUTH} if auth else {})
    try:
        with urllib.request.urlopen(request, timeout=20, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_export_refuses_a_wide_address_without_auth(redis_server: LocalRedis) -> None:
    proc = run_cli("export", redis_server.url, "--listen", f"0.0.0.0:{free_port()}")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert b"refusing to listen" in out and b"[exporter] auth_username" in out


@pytest.fixture
def exporter(tmp_path: Path) -> Iterator[tuple[str, ssl.SSLContext, LocalRedis, LocalRedis]]:
    certs = make_certs(tmp_path)
    polled, allowed = LocalRedis().start(), LocalRedis().start()
    port = free_port()
    config = tmp_path / "export.toml"
    config.write_text(f"""
[global]
interval = "1s"
timeout = "800ms"

[exporter]
listen = "0.0.0.0:{port}"
auth_username = "scraper"
auth_password_env = "CW_EXPORT_PASSWORD"
tls_cert_file = "{certs["server.crt"]}"
tls_key_file = "{certs["server.key"]}"
scrape_allow = ["{allowed.address}"]

[[targets]]
url = "{polled.url}"
""")
    proc = run_cli("export", "-c", str(config), env={"CW_EXPORT_PASSWORD": PASSWORD})
    context = ssl.create_default_context(cafile=str(certs["ca.crt"]))
    url = f"https://127.0.0.1:{port}"
    try:

        def up() -> bool:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else b""
            try:
                return b"redis_up" in fetch(f"{url}/metrics", context)[1]
            except OSError:
                return False

        wait_for(up, 60, "export to serve over TLS")
        yield url, context, polled, allowed
    finally:
        stop(proc)
        polled.stop()
        allowed.stop()


def test_export_has_auth_tls_and_a_limited_scrape(
    exporter: tuple[str, ssl.SSLContext, LocalRedis, LocalRedis],
) -> None:
    url, context, polled, allowed = exporter
    assert fetch(f"{url}/metrics", context, auth=False)[0] == 401
    assert fetch(f"{url}/-/healthy", context, auth=False)[0] == 200  # probes stay open
    status, body = fetch(f"{url}/metrics", context)
    assert status == 200 and f'redis_up{{instance="{polled.address}"}} 1'.encode() in body
    with pytest.raises(OSError):  # plain HTTP is not spoken
        urllib.request.urlopen(url.replace("https", "http") + "/-/healthy", timeout=5)

    def scrape(target: str) -> tuple[int, bytes]:
        return fetch(f"{url}/scrape?" + urllib.parse.urlencode({"target": target}), context)

    assert scrape(polled.url)[0] == 200 and b"redis_up 1" in scrape(polled.url)[1]
    assert b"redis_up 1" in scrape(allowed.url)[1]  # listed in scrape_allow
    for refused in (
        f"redis://127.0.0.1:{free_port()}",  # anything else on the host
        "unix:///var/run/redis/redis.sock",
        f"redis://:guess@{polled.address}",  # a password oracle for a configured target
    ):
        status, body = scrape(refused)
        answer = json.loads(body)
        assert status == 400 and answer["errorType"] == "bad_data", answer
        assert "guess" not in answer["error"]


def test_serve_on_a_full_disk_is_not_ready_and_counts_the_errors(
    redis_server: LocalRedis, small_disk: Path, tmp_path: Path
) -> None:
    port = free_port()
    proc = run_cli(
        "serve",
        redis_server.url,
        "--interval",
        "1s",
        "--store",
        str(small_disk / "store"),
        "--listen",
        f"127.0.0.1:{port}",
        "--alerts-state-dir",
        str(tmp_path / "alerts"),
    )
    url = f"http://127.0.0.1:{port}"
    filler = small_disk / "filler"
    try:

        def status_of(path: str) -> int:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else b""
            try:
                return fetch(url + path, auth=False)[0]
            except OSError:
                return 0

        wait_for(lambda: status_of("/-/ready") == 200, 60, "serve to be ready")
        with open(filler, "wb") as out:
            try:
                while True:
                    out.write(b"\0" * 65536)
                    out.flush()
            except OSError:
                pass
        wait_for(lambda: status_of("/-/ready") == 503, 30, "not ready on a full disk")
        assert status_of("/-/healthy") == 200  # alive, still polling

        def write_errors() -> float:
            _, body = fetch(url + "/metrics", auth=False)
            for line in body.decode().splitlines():
                if line.startswith("cachewatch_store_write_errors_total "):
                    return float(line.split()[1])
            return 0.0

        wait_for(lambda: write_errors() >= 2, 30, "the write errors to be counted")
        filler.unlink()
        wait_for(lambda: status_of("/-/ready") == 200, 30, "ready again")
    finally:
        filler.unlink(missing_ok=True)
        out = stop(proc).decode()
    assert out.count("retrying every second") == 1, out[-3000:]
    assert out.count("writing works again") == 1
    assert "Traceback" not in out
