"""`--attach` against a real `build_http_app` over a running `Runtime` polling a real Redis:
slowlog events come through `/api/v1/cachewatch/events`, and a hung target shows as down
(its `redis_up` series stays, at 0) instead of vanishing."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.exporter import SelfMetrics
from monitor.http.server import serve_forever
from monitor.readmodel import Health, RemoteSource, TargetState
from monitor.runtime import Runtime
from monitor.service import build_http_app
from tests.servers import LocalRedis
from tests.waiting import wait_for


@pytest.fixture
def attached(redis_server: LocalRedis, tmp_path: Path) -> Iterator[tuple[LocalRedis, RemoteSource]]:
    subprocess.run(
        [
            "redis-cli",
            "-p",
            str(redis_server.port),
            "CONFIG",
            "SET",
            "slowlog-log-slower-than",
            "0",
        ],
        check=True,
        capture_output=True,
    )
    config_path = tmp_path / "cachewatch.toml"
    config_path.write_text(f"""
[global]
interval = "300ms"
timeout = "250ms"

[store]
path = "{tmp_path / "store"}"

[[targets]]
url = "{redis_server.url}"
labels = {{ team = "cache" }}
""")
    runtime = Runtime(load_config(config_path))
    runtime.start_background()
    server = serve_forever(build_http_app(runtime, SelfMetrics()), "127.0.0.1:0")
    try:
        yield redis_server, RemoteSource(server.url, timeout_s=5.0)
    finally:
        redis_server.resume()
        server.stop()
        runtime.stop_background()


def _state(remote: RemoteSource, instance: str) -> TargetState | None:
    return next((s for s in remote.statuses() if s.instance == instance), None)


def test_slowlog_entries_come_through_the_attached_source(attached) -> None:  # type: ignore[no-untyped-def]
    redis, remote = attached
    subprocess.run(
        ["redis-cli", "-p", str(redis.port), "SET", "plain-key", "not-for-the-ui"],
        check=True,
        capture_output=True,
    )
    wait_for(
        lambda: any(e.data["command"] == "set" for e in remote.events("slowlog", None, 0, 1000)),
        what="the SET's slowlog event",
    )
    events = remote.events("slowlog", redis.address, 0, 50)
    assert all(e.kind == "slowlog" for e in events)
    assert all(dict(e.target_labels)["instance"] == redis.address for e in events)
    assert [e.ts_ms for e in events] == sorted((e.ts_ms for e in events), reverse=True)
    assert len(remote.events("slowlog", redis.address, 0, 1)) == 1
    # redacted at collection: the command name only, unless arguments are configured
    assert all(" " not in str(e.data["command"]) for e in events)
    assert "not-for-the-ui" not in repr(remote.events("", None, 0, 1000))
    assert remote.events("slowlog", "127.0.0.1:1", 0, 50) == []
    assert remote.events("no-such-kind", None, 0, 50) == []


def test_a_hung_target_shows_as_down_with_its_labels(attached) -> None:  # type: ignore[no-untyped-def]
    redis, remote = attached
    wait_for(
        lambda: (s := _state(remote, redis.address)) is not None and s.health is Health.UP,
        what="up",
    )
    redis.pause()
    wait_for(
        lambda: (s := _state(remote, redis.address)) is not None and s.health is Health.DOWN,
        what="down",
    )
    state = _state(remote, redis.address)
    assert state is not None and state.kind == "redis"
    assert state.labels["team"] == "cache"
    # why it is down, from /api/v1/targets, as the in-process TUI shows it
    assert state.last_error is not None and "timed out" in state.last_error
    assert state.last_poll_ms > 0
