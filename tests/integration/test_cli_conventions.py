"""The command line as scripts and people meet it, run as real processes against real
servers: --version, exit codes in --help, `poll` as a table and its "collecting" line, hints
on empty query results, `evictions --store` without a URL, the config search path, SIGINT
and SIGTERM however a long-running command was started, and `serve` reloading on SIGHUP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import LocalMemcached, LocalRedis, free_port
from tests.waiting import wait_for


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def start(
    *args: str, log: Path, ignore_sigint: bool = False, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A long-running command; with `ignore_sigint`, started as a shell starts a background
    job (`cmd &`): SIGINT ignored."""
    with log.open("w") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
            if ignore_sigint
            else None,
        )


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalRedis, Path]]:
    """A Redis and a store that `cachewatch poll` collected it into for a few seconds,
    started in the background (SIGINT ignored) and stopped with SIGINT."""
    tmp = tmp_path_factory.mktemp("collected")
    redis = LocalRedis().start()
    store = tmp / "store"
    log = tmp / "poll.log"
    poll = start(
        "poll", redis.url, "--interval", "1s", "--store", str(store), log=log, ignore_sigint=True
    )
    try:
        wait_for(lambda: "Ctrl-C to stop" in log.read_text(), what="the collecting line")
        assert "collecting 1 target(s) every 1s into" in log.read_text(), log.read_text()
        wait_for(
            lambda: cli("query", "redis_up", "--store", str(store)).stdout.count("redis_up") >= 1,
            timeout_s=30,
            what="samples in the store",
        )
        time.sleep(3)  # a few more polls: rates need two samples (not a timing assertion)
        poll.send_signal(signal.SIGINT)
        assert poll.wait(20) == 0, log.read_text()
        yield redis, store
    finally:
        if poll.poll() is None:
            poll.kill()
        redis.stop()


def test_version_and_exit_codes_in_help() -> None:
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("cachewatch 0."), version
    for args in (["--help"], ["query", "--help"], ["serve", "--help"]):
        text = cli(*args).stdout
        assert "exit codes (every command):" in text and "130  interrupted" in text, args


def test_poll_once_prints_a_table(shared_redis: LocalRedis) -> None:
    result = cli("poll", shared_redis.url, "--once", "--format", "table")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TARGET", "METRIC", "LABELS", "VALUE"]
    up = [line.split() for line in lines if " redis_up " in f" {line} "]
    assert up == [[shared_redis.address, "redis_up", "1"]]
    assert not any("{" in line.split()[0] for line in lines[1:])  # not Prometheus text


def test_empty_query_results_say_why(collected: tuple[LocalRedis, Path], tmp_path: Path) -> None:
    _, store = collected
    typo = cli("query", "redis_connected_client", "--store", str(store))
    assert typo.returncode == 0 and typo.stdout.strip() == "SERIES  VALUE"
    assert "no series named redis_connected_client" in typo.stderr
    assert "similar: redis_connected_clients" in typo.stderr
    filtered = cli("query", 'redis_up{instance="nowhere:1"}', "--store", str(store))
    assert "label filters" in filtered.stderr, filtered.stderr
    old = cli("query", "redis_up", "--store", str(store), "--at", str(time.time() + 3600))
    assert "no sample in the 5 minutes before" in old.stderr, old.stderr


def test_evictions_reads_every_target_of_a_store(collected: tuple[LocalRedis, Path]) -> None:
    redis, store = collected
    result = cli("evictions", "--store", str(store), "--format", "json")
    assert result.returncode == 0, result.stderr
    summaries = json.loads(result.stdout)
    assert redis.address in json.dumps(summaries)
    assert cli("evictions").returncode == 2  # neither a URL nor a store: a usage error


def test_the_config_search_path(collected: tuple[LocalRedis, Path], tmp_path: Path) -> None:
    redis, store = collected
    config = tmp_path / "found.toml"
    config.write_text(f'[store]\npath = "{store}"\n[[targets]]\nurl = "{redis.url}"\n')
    bare = {k: v for k, v in os.environ.items() if k not in ("CACHEWATCH_CONFIG",)}
    bare["HOME"] = str(tmp_path)  # no ~/.config/cachewatch here
    # $XDG_CONFIG_HOME/cachewatch/cachewatch.toml
    xdg = tmp_path / "xdg"
    (xdg / "cachewatch").mkdir(parents=True)
    (xdg / "cachewatch" / "cachewatch.toml").write_text(config.read_text())
    found = cli("query", "redis_up", env={**bare, "XDG_CONFIG_HOME": str(xdg)})
    assert found.returncode == 0 and redis.address in found.stdout, found.stderr
    checked = cli("check", env={**bare, "XDG_CONFIG_HOME": str(xdg)})
    assert checked.returncode == 0 and "cachewatch.toml: ok, 1 target(s)" in checked.stdout
    # $CACHEWATCH_CONFIG beats it, and -c beats that
    elsewhere = tmp_path / "empty.toml"
    elsewhere.write_text(f'[store]\npath = "{tmp_path / "nothing"}"\n')
    env = {**bare, "XDG_CONFIG_HOME": str(xdg), "CACHEWATCH_CONFIG": str(elsewhere)}
    assert cli("query", "redis_up", env=env).returncode == 2  # no store there
    assert redis.address in cli("query", "redis_up", "-c", str(config), env=env).stdout
    # none anywhere: check says where it looked, exit 2
    nothing = cli("check", env={**bare, "XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert nothing.returncode == 2 and "no config file found" in nothing.stderr


@pytest.mark.parametrize("command", ["serve", "export"])
@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_long_running_commands_stop_on_sigint_and_sigterm(
    command: str, stop_with: signal.Signals, shared_redis: LocalRedis, tmp_path: Path
) -> None:
    """However they were started: here as a background job, with SIGINT ignored."""
    log = tmp_path / "out.log"
    args = [command, shared_redis.url, "--listen", f"127.0.0.1:{free_port()}"]
    if command == "serve":
        args += ["--store", str(tmp_path / "store"), "--alerts-state-dir", str(tmp_path / "a")]
    process = start(*args, log=log, ignore_sigint=True)
    try:
        wait_for(lambda: "http://127.0.0.1:" in log.read_text(), timeout_s=60, what="listening")
        process.send_signal(stop_with)
        assert process.wait(30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()


def _active_alerts(state_dir: Path) -> dict[str, Any]:
    result = cli("alerts", "list", "--state-dir", str(state_dir), "--format", "json")
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return {row["alertname"]: row for row in rows}


def test_serve_reloads_its_config_on_sighup(
    tmp_path: Path, shared_redis: LocalRedis, memcached_server: LocalMemcached
) -> None:
    """Targets, rule files and receivers change; the store, the alert state (an alert keeps
    its activeAt) and the unchanged target's polling carry on. A broken config is refused
    and the running one stays."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yml").write_text(
        "groups:\n  - name: a\n    interval: 1s\n    rules:\n"
        "      - alert: AlwaysA\n        expr: redis_up == 1\n"
    )
    config = tmp_path / "cachewatch.toml"
    port = free_port()

    def write(urls: list[str], rule_glob: str, receiver: str) -> None:
        targets = "".join(f'[[targets]]\nurl = "{u}"\n' for u in urls)
        config.write_text(
            f'[global]\ninterval = "1s"\ntimeout = "800ms"\n'
            f'[store]\npath = "{tmp_path / "store"}"\n'
            f'{targets}[web]\nlisten = "127.0.0.1:{port}"\n'
            f'[alerts]\nrule_files = ["{rule_glob}"]\n'
            f'[[alerts.receivers]]\nname = "{receiver}"\ntype = "log"\n'
        )

    write([shared_redis.url], "rules/a.yml", "first")
    log = tmp_path / "serve.log"
    state = tmp_path / "alerts"
    serve = start("serve", "-c", str(config), "--alerts-state-dir", str(state), log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: "AlwaysA" in _active_alerts(state), timeout_s=60, what="AlwaysA")
        active_at = _active_alerts(state)["AlwaysA"]["active_at_ms"]

        def polled_count() -> int:
            data = get_json(f"{base}/api/v1/query?query=count_over_time(redis_up[10m])")
            return int(float(data["data"]["result"][0]["value"][1]))

        before = polled_count()
        (rules / "b.yml").write_text(
            "groups:\n  - name: b\n    interval: 1s\n    rules:\n"
            "      - alert: AlwaysB\n        expr: memcached_up == 1\n"
        )
        write([shared_redis.url, memcached_server.url], "rules/*.yml", "second")
        serve.send_signal(signal.SIGHUP)
        wait_for(lambda: "reloaded" in log.read_text(), timeout_s=30, what="the reload line")
        assert "2 target(s) (+1 -0 pollers), 2 rule group(s), 1 receiver(s)" in log.read_text()
        wait_for(lambda: "AlwaysB" in _active_alerts(state), timeout_s=60, what="AlwaysB")
        targets = get_json(f"{base}/api/v1/targets")["data"]["activeTargets"]
        assert len(targets) == 2
        assert _active_alerts(state)["AlwaysA"]["active_at_ms"] == active_at  # state kept
        # the unchanged target keeps polling into one store (waited for: on a loaded machine
        # the reload and AlwaysB can both happen before its next poll lands)
        wait_for(lambda: polled_count() > before, timeout_s=30, what="a poll after the reload")
        # a config that does not check out: refused whole, the running config stays
        config.write_text(config.read_text().replace('type = "log"', 'type = "pager"'))
        serve.send_signal(signal.SIGHUP)
        wait_for(lambda: "refused" in log.read_text(), timeout_s=30, what="the refusal")
        assert "'pager' is not one of" in log.read_text()
        assert serve.poll() is None
        assert len(get_json(f"{base}/api/v1/targets")["data"]["activeTargets"]) == 2
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
