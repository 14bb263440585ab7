"""`cachewatch query` beside a running `serve` of the same store asks that serve, and the
answer is exactly what reading the store gives; without a live serve it reads the store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor import servefile
from monitor.localservers import free_port
from tests.servers import LocalRedis

ANSWERED = "answered by the running serve"


def cachewatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "-v", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def start_serve(
    tmp_path: Path, config: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitor",
            "serve",
            "-c",
            str(config),
            "--listen",
            f"127.0.0.1:{port}",
            "--alerts-state-dir",
            str(tmp_path / "alerts"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    said = []
    for line in proc.stdout:  # log lines may come first; the ready line says it listens
        said.append(line)
        if "serving the dashboard" in line:
            return proc, f"http://127.0.0.1:{port}"
    proc.wait(10)
    proc.stdout.close()
    raise AssertionError("serve did not start: " + "".join(said))


def wait_for_polls(config: Path, env: dict[str, str]) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        result = cachewatch(
            "query",
            "count_over_time(redis_up[1m])",
            "-c",
            str(config),
            "--no-serve",
            "--format",
            "json",
            env=env,
        )
        if result.returncode == 0:
            data = json.loads(result.stdout)
            if data["result"] and float(data["result"][0]["value"][1]) >= 4:
                return
        time.sleep(0.5)
    raise AssertionError("no polls in the store")


@pytest.mark.parametrize("auth", [False, True], ids=["open", "basic-auth"])
def test_query_asks_the_running_serve_and_gets_the_store_s_answer(
    redis_server: LocalRedis, tmp_path: Path, auth: bool
) -> None:
    store = tmp_path / "store"
    lines = [
        "[global]",
        'interval = "1s"',
        'timeout = "0.8s"',
        "[store]",
        f'path = "{store}"',
        "[alerts]",
        "rule_files = []",
        "[hotkeys]",
        "enabled = false",
        "[[targets]]",
        f'url = "{redis_server.url}"',
    ]
    env = dict(os.environ)
    if auth:
        env["CW_TEST_WEB_PASSWORD"] = "s3cret-for-this-test"
        lines[:0] = ["[web]", 'auth_username = "ops"', 'auth_password_env = "CW_TEST_WEB_PASSWORD"']
    config = tmp_path / "cachewatch.toml"
    config.write_text("\n".join(lines) + "\n")
    serve, url = start_serve(tmp_path, config, env)
    try:
        found = servefile.find(store)
        assert found is not None and found.pid == serve.pid and found.url == url
        assert found.auth is auth
        wait_for_polls(config, env)
        at = f"{time.time() - 3:.3f}"  # the writer's log holds this moment on disk
        queries = [
            ("rate(redis_commands_processed_total[10s])", "--at", at),
            ("sum by (instance) (redis_up)", "--at", at, "--format", "table"),
            ("redis_connected_clients", "--at", at, "--range", "10s", "--step", "2s"),
            ("scalar(redis_up)", "--at", at),
        ]
        for query in queries:
            form = [] if "--format" in query else ["--format", "json"]
            served = cachewatch("query", *query, *form, "-c", str(config), env=env)
            local = cachewatch("query", *query, *form, "-c", str(config), "--no-serve", env=env)
            assert served.returncode == 0 and local.returncode == 0, served.stderr + local.stderr
            assert ANSWERED in served.stderr, served.stderr
            assert ANSWERED not in local.stderr
            assert served.stdout == local.stdout, query
        bad = cachewatch("query", "rate(redis_up[1m]", "-c", str(config), env=env)
        bad_local = cachewatch(
            "query", "rate(redis_up[1m]", "-c", str(config), "--no-serve", env=env
        )
        assert bad.returncode == bad_local.returncode == 2
        assert "bad_data" in bad.stderr and "bad_data" in bad_local.stderr
        if auth:  # without the credentials the serve is not asked: the store answers
            no_secret = {k: v for k, v in env.items() if k != "CW_TEST_WEB_PASSWORD"}
            result = cachewatch("query", "redis_up", "--store", str(store), env=no_secret)
            assert result.returncode == 0, result.stderr
            assert ANSWERED not in result.stderr and "redis_up" in result.stdout
    finally:
        serve.send_signal(signal.SIGINT)
        serve.communicate(timeout=60)  # drains and closes its output
    assert not (store / servefile.FILE_NAME).exists()  # withdrawn on the way out


def test_a_file_left_by_a_dead_serve_is_not_trusted(
    redis_server: LocalRedis, tmp_path: Path
) -> None:
    store = tmp_path / "store"
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
            str(store),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (store / "LOCK").exists():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        (store / servefile.FILE_NAME).write_text(
            json.dumps({"pid": dead.pid, "url": f"http://127.0.0.1:{free_port()}", "auth": False})
        )
        assert servefile.find(store) is None  # its pid is gone
        (store / servefile.FILE_NAME).write_text(
            json.dumps(
                {"pid": os.getpid(), "url": f"http://127.0.0.1:{free_port()}", "auth": False}
            )
        )
        assert servefile.find(store) is None  # alive, but not the store's writer
        while True:
            result = cachewatch("query", "redis_up", "--store", str(store))
            if result.returncode == 0 and "redis_up" in result.stdout:
                break
            assert time.monotonic() < deadline, result.stderr
            time.sleep(0.5)
        assert ANSWERED not in result.stderr
    finally:
        writer.send_signal(signal.SIGINT)
        writer.wait(30)
