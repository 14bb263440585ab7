"""Managed-service behaviour: where admin commands are renamed away or refused by ACL, the
collectors that need them switch off with one log line each, the rest keep polling, and the
server sees each missing command tried at most once."""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis

from collectors.redis_config import CONFIG_PARAMETERS
from monitor.config import config_from_urls, load_config
from monitor.model import SampleBatch
from monitor.runtime import Runtime
from tests.servers import LocalMemcached, LocalRedis
from tests.waiting import wait_for

RENAMED = ("CONFIG", "LATENCY", "SLOWLOG", "CLUSTER")
ADMIN_PASSWORD = "AdminPw9"
PASSWORD = "ManagedPw3"


class Batches:
    """Keeps every batch the engine produced (the engine's output seam)."""

    def __init__(self) -> None:
        self.batches: list[SampleBatch] = []

    def append(self, batch: SampleBatch) -> None:
        self.batches.append(batch)

    def add_events(self, events: list) -> None:
        pass

    def mark_stale(self, target_labels: object, ts_ms: int) -> None:
        pass

    def close(self) -> None:
        pass


def run_polls(config_urls: list[str] | Path, polls: int) -> tuple[Runtime, Batches]:
    sink = Batches()
    if isinstance(config_urls, Path):
        config = load_config(config_urls)
    else:
        config = config_from_urls(config_urls, interval_s=0.5)
    runtime = Runtime(config, store=sink)
    runtime.start_background()
    try:
        wait_for(lambda: len(sink.batches) >= polls, 30, f"{polls} polls")
    finally:
        runtime.stop_background()
    return runtime, sink


def switched_off_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "switched off" in r.getMessage()]


def assert_still_polling(runtime: Runtime, sink: Batches) -> None:
    (status,) = runtime.statuses()
    assert status.up, status.last_error
    last = sink.batches[-1]
    assert last.values[last.names.index("redis_up")] == 1.0
    for info_metric in (
        "redis_connected_clients",
        "redis_memory_used_bytes",
        "redis_uptime_in_seconds",
    ):
        assert info_metric in last.names, f"INFO metric {info_metric} missing"


def error_count(conn: redis.Redis) -> int:
    return sum(int(fields["count"]) for fields in conn.info("errorstats").values())


@pytest.mark.parametrize("how", ["config-file", "command-line"])
def test_renamed_admin_commands_switch_their_collectors_off_once(
    how: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if how == "config-file":
        conf = tmp_path / "managed.conf"
        conf.write_text("".join(f'rename-command {name} ""\n' for name in RENAMED))
        # LocalRedis puts its own arguments first; `include` takes the file from there
        extra = ["--include", str(conf)]
    else:
        extra = [arg for name in RENAMED for arg in ("--rename-command", name, "")]
    server = LocalRedis(extra=extra).start()
    try:
        with redis.Redis(port=server.port, decode_responses=True) as conn:
            with pytest.raises(redis.exceptions.ResponseError, match="unknown command"):
                conn.execute_command("CONFIG", "GET", "maxmemory")
            conn.execute_command("INFO")
            errors_before = error_count(conn)
        caplog.set_level(logging.INFO)
        runtime, sink = run_polls([server.url], polls=5)
        assert_still_polling(runtime, sink)
        (status,) = runtime.statuses()
        lines = switched_off_lines(caplog)
        switched = {
            name: [line for line in lines if f"collector {name} " in line]
            for name in status.skipped
        }
        assert all(len(found) == 1 for found in switched.values()), lines
        assert len(lines) == len(status.skipped), lines
        # one collector per renamed command family is off, and each says why
        reasons = " ".join(status.skipped.values()).lower()
        for name in ("config", "latency", "slowlog"):
            assert name in reasons, status.skipped
        with redis.Redis(port=server.port, decode_responses=True) as conn:
            tried = error_count(conn) - errors_before
        assert tried <= len(RENAMED), f"{tried} error replies: a missing command was retried"
    finally:
        server.stop()


def test_acl_denied_admin_commands_switch_off_once_and_info_keeps_flowing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Managed services more often refuse by ACL than rename: COMMAND INFO still describes
    the command, so the collector meets NOPERM on first use, and must not retry it."""
    server = LocalRedis(
        extra=[
            "--user", "default", "off",
            "--user", "monitor", "on", f">{PASSWORD}", "~*", "+@all",
            "-config", "-latency", "-slowlog", "-cluster",
            "--user", "admin", "on", f">{ADMIN_PASSWORD}", "~*", "+@all",
        ]
    ).start()  # fmt: skip
    try:
        monkeypatch.setenv("CW_MANAGED_PASSWORD", PASSWORD)
        config_path = tmp_path / "c.toml"
        config_path.write_text(f"""
[global]
interval = "500ms"
timeout = "450ms"
slow_interval = "500ms"

[[targets]]
url = "{server.url}"
username = "monitor"
password_env = "CW_MANAGED_PASSWORD"
""")
        caplog.set_level(logging.INFO)
        runtime, sink = run_polls(config_path, polls=5)
        assert_still_polling(runtime, sink)
        (status,) = runtime.statuses()
        lines = switched_off_lines(caplog)
        assert len(lines) == len(status.skipped) >= 3, lines
        with redis.Redis(
            port=server.port, username="admin", password=ADMIN_PASSWORD, decode_responses=True
        ) as conn:
            denied: dict[str, int] = {}
            for entry in conn.acl_log():
                if entry["username"] == "monitor":
                    denied[entry["object"]] = denied.get(entry["object"], 0) + int(entry["count"])
        assert denied, "the ACL refused nothing: the test proves nothing"
        # one attempt each; CONFIG GET's one attempt is a single pipeline of one GET per
        # parameter, which the ACL log counts as that many denials
        allowed_denials = {"config|get": len(CONFIG_PARAMETERS)}
        retried = {c: n for c, n in denied.items() if n > allowed_denials.get(c, 1)}
        assert not retried, f"refused commands were sent again: {retried}"
        assert all(re.match(r"(config|latency|slowlog|cluster)", c) for c in denied), denied
    finally:
        server.stop()


def test_memcached_without_lru_crawler_keeps_watch_hot_keys(tmp_path: Path) -> None:
    """A memcached that refuses `lru_crawler metadump` (managed services often disable the
    crawler) drops metadump with a note; the `watch` bursts carry on. The refusal once
    dropped the watch method with it, leaving no hot keys at all."""
    server = LocalMemcached(extra=["-o", "no_lru_crawler"]).start()
    stop = threading.Event()

    def traffic() -> None:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            while not stop.is_set():
                sock.sendall(b"get hot:key\r\n" * 20)
                data = b""
                while data.count(b"END\r\n") < 20:
                    data += sock.recv(65536)

    worker = threading.Thread(target=traffic, daemon=True)
    worker.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "monitor", "hotkeys", server.url, "--duration", "2s",
             "--metadump", "--burst", "200ms", "--burst-every", "400ms", "--format", "json"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        stop.set()
        worker.join(10)
        server.stop()
    assert result.returncode == 0, result.stderr
    assert "metadump dropped" in result.stderr and "lru crawler disabled" in result.stderr
    assert "watch dropped" not in result.stderr, result.stderr
    hot = json.loads(result.stdout)["keys"]
    assert hot and hot[0]["key"] == "hot:key", hot
