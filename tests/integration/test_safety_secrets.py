"""Secrets: a target password from an env var or a file reaches the server and nothing else,
not `poll --once` output at -vv, logs, statuses, series labels, `/metrics`, `/scrape`, the
query API; whether the password is right, wrong, or the server is down."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.exporter import SelfMetrics
from monitor.http.server import serve_forever
from monitor.runtime import Runtime
from monitor.service import build_http_app
from tests.servers import LocalRedis
from tests.waiting import wait_for

PASSWORD = "Zq7SecretNeverShown41"
WRONG_PASSWORD = "Wrong7NeverShownEither"


def assert_secret_free(text: str, where: str) -> None:
    for secret in (PASSWORD, WRONG_PASSWORD):
        assert secret not in text, f"a password appears in {where}"
        # and not in the encodings a URL or a JSON dump would give it either
        assert urllib.parse.quote(secret) not in text, f"a quoted password appears in {where}"


@pytest.fixture
def acl_server() -> Iterator[LocalRedis]:
    server = LocalRedis(
        extra=["--user", "default", "off", "--user", "monitor", "on", f">{PASSWORD}", "~*", "+@all"]
    ).start()
    try:
        yield server
    finally:
        server.stop()


def write_config(tmp_path: Path, server: LocalRedis, source: str) -> Path:
    secret_file = tmp_path / "redis.password"
    secret_file.write_text(PASSWORD + "\n")
    secret_line = {
        "env": 'password_env = "CW_SECRET_TEST"',
        "file": f'password_file = "{secret_file}"',
    }[source]
    config_path = tmp_path / f"{source}.toml"
    config_path.write_text(f"""
[global]
interval = "500ms"
timeout = "450ms"

[store]
path = "{tmp_path / "store"}"

[[targets]]
url = "{server.url}"
username = "monitor"
{secret_line}
""")
    return config_path


def poll_cli(config_path: Path, password: str, fmt: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            "-vv",
            "poll",
            "-c",
            str(config_path),
            "--once",
            "--format",
            fmt,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CW_SECRET_TEST": password},
    )


@pytest.mark.parametrize("source", ["env", "file"])
def test_poll_once_output_never_holds_the_password(
    source: str, acl_server: LocalRedis, tmp_path: Path
) -> None:
    config_path = write_config(tmp_path, acl_server, source)
    for fmt in ("json", "table"):
        result = poll_cli(config_path, PASSWORD, fmt)
        assert result.returncode == 0, result.stderr
        assert "redis_up" in result.stdout and "DEBUG" in result.stderr
        if fmt == "json":
            assert '"redis_up"' in result.stdout
        assert_secret_free(result.stdout + result.stderr, f"poll --once --format {fmt}")


def test_wrong_password_and_dead_server_errors_never_hold_passwords(
    acl_server: LocalRedis, tmp_path: Path
) -> None:
    config_path = write_config(tmp_path, acl_server, "env")
    wrong = poll_cli(config_path, WRONG_PASSWORD, "json")
    assert "AUTH" in wrong.stdout + wrong.stderr, wrong.stderr
    assert_secret_free(wrong.stdout + wrong.stderr, "poll with a wrong password")
    acl_server.kill()
    down = poll_cli(config_path, PASSWORD, "json")
    assert '"redis_up"' in down.stdout
    assert_secret_free(down.stdout + down.stderr, "poll of a server that is down")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_runtime_logs_statuses_labels_and_http_answers_never_hold_the_password(
    acl_server: LocalRedis,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    config_path = write_config(tmp_path, acl_server, "file")
    runtime = Runtime(load_config(config_path))
    runtime.start_background()
    server = serve_forever(build_http_app(runtime, SelfMetrics(), query_api=True), "127.0.0.1:0")
    try:
        wait_for(
            lambda: bool(runtime.statuses()) and runtime.statuses()[0].up is True, 30, "a poll"
        )
        wait_for(
            lambda: '"result":[{' in get(f"{server.url}/api/v1/query?query=redis_up")[1],
            30,
            "redis_up in the store",
        )
        # the password shows up nowhere while things are good...
        answers = []
        for path in (
            "/metrics",
            "/api/v1/query?query=redis_up",
            "/api/v1/query?query=" + urllib.parse.quote('{__name__=~".+"}'),
            "/api/v1/series?match[]=" + urllib.parse.quote('{__name__=~"redis_.+"}'),
            "/api/v1/labels",
            "/api/v1/label/instance/values",
            "/api/v1/label/__name__/values",
            "/api/v1/metadata",
            "/scrape?target="
            + urllib.parse.quote(f"redis://monitor:{PASSWORD}@{acl_server.address}"),
            "/scrape?target="
            + urllib.parse.quote(f"redis://monitor:{WRONG_PASSWORD}@{acl_server.address}"),
        ):
            status, body = get(server.url + path)
            answers.append(f"{path.split('?')[0]} {status} {body}")
        assert any("redis_connected_clients" in a for a in answers)
        # ...nor once the server is gone and every poll fails with an error
        acl_server.kill()
        wait_for(lambda: runtime.statuses()[0].up is False, 30, "the target to be down")
        (status_down,) = runtime.statuses()
        assert status_down.last_error
        answers.append(get(server.url + "/metrics")[1])
        labels = runtime.store.label_values("instance", [], 0, 2**62) if runtime.store else []
        shown = "\n".join(
            [*answers, caplog.text, repr(runtime.statuses()), str(runtime.statuses()), *labels]
        )
        assert_secret_free(shown, "HTTP answers, logs, statuses or labels")
    finally:
        server.stop()
        runtime.stop_background()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "-vv", *args], capture_output=True, text=True, timeout=60
    )


def test_passwords_in_command_line_urls_never_show(acl_server: LocalRedis) -> None:
    """`poll URL` and `hotkeys URL` take the password in the URL: right, wrong, server gone.
    A wrong password once crashed `hotkeys` with a traceback instead of one clear line."""
    for password, ok in ((PASSWORD, True), (WRONG_PASSWORD, False)):
        url = f"redis://monitor:{password}@{acl_server.address}"
        poll = cli("poll", url, "--once", "--format", "json")
        hot = cli("hotkeys", url, "--duration", "1s", "--method", "monitor", "--monitor")
        for result in (poll, hot):
            assert (result.returncode == 0) is ok, result.stderr
            assert "Traceback" not in result.stderr, result.stderr
            assert_secret_free(result.stdout + result.stderr, f"{result.args[3]} with {url}")
        if not ok:
            assert "WRONGPASS" in hot.stderr and "AUTH failed" in poll.stderr
    acl_server.kill()
    url = f"redis://monitor:{PASSWORD}@{acl_server.address}"
    for result in (cli("poll", url, "--once"), cli("hotkeys", url, "--duration", "1s")):
        assert result.returncode == 1 and "cannot connect" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert_secret_free(result.stdout + result.stderr, "a command against a server that is down")


@pytest.mark.parametrize("cut", ["#", "?", "/"])
def test_password_with_url_delimiters_never_shows(cut: str, acl_server: LocalRedis) -> None:
    """An unencoded '#', '?' or '/' ends a URL's authority early: the password's tail once
    became the port, and the error echoed the whole URL; a numeric head parsed as a target
    whose host:port label held part of the password."""
    for password in (f"Xy7{cut}{PASSWORD}", f"4242{cut}{PASSWORD}"):
        url = f"redis://monitor:{password}@{acl_server.address}"
        result = cli("poll", url, "--once")
        assert result.returncode == 2, result.stdout + result.stderr
        assert "percent-encode" in result.stderr
        shown = result.stdout + result.stderr
        assert PASSWORD not in shown and "4242" not in shown and "Xy7" not in shown, shown
    # percent-encoded, the same password works
    url = f"redis://monitor:{urllib.parse.quote(PASSWORD, safe='')}@{acl_server.address}"
    assert cli("poll", url, "--once").returncode == 0
