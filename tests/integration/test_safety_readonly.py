"""Read-only proof: everything in cachewatch that talks to a server, run against a server
that only lets it use the allowlisted commands, leaves no denied command in `ACL LOG` and
no other command in `INFO commandstats`; memcached's write counters stay at zero."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from monitor.config import config_from_urls, load_config
from monitor.doctor.runner import DoctorRunner
from monitor.readmodel.local import LocalSource
from monitor.runtime import Runtime
from tests.servers import LocalMemcached, LocalRedis
from tests.waiting import wait_for

PASSWORD = "MonitorOnlyPw7"
ADMIN_PASSWORD = "AdminPw9"

#: PRODUCT.md's allowlist as ACL rules, plus what a connection needs to say hello
ALLOWED_RULES = [
    "+info",
    "+latency",
    "+slowlog",
    "+config|get",
    "+cluster|info",
    "+cluster|nodes",
    "+cluster|shards",
    "+client|list",
    "+client|setname",
    "+memory|stats",
    "+memory|usage",
    "+memory|doctor",
    "+scan",
    "+ttl",
    "+object|freq",
    "+type",
    "+command|info",
    "+command|docs",
    "+monitor",
    "+readonly",
    "+ping",
    "+hello",
    "+auth",
]
#: the commands those rules allow, as `INFO commandstats` names them; LATENCY only in
#: its read-only forms (RESET is a write to the server's state)
ALLOWED_COMMANDS = {
    rule.removeprefix("+") for rule in ALLOWED_RULES if rule not in ("+latency", "+slowlog")
} | {
    "latency|latest",
    "latency|history",
    "latency|histogram",
    "latency|doctor",
    "latency|graph",
    "slowlog|get",
    "slowlog|len",
}
#: what the admin connection that reads the evidence sends itself
ADMIN_COMMANDS = {"acl|log", "info", "auth", "hello", "client|setinfo", "config|resetstat"}


def acl_redis(*extra: str) -> LocalRedis:
    return LocalRedis(
        extra=[
            "--user", "default", "off",
            "--user", "monitor", "on", f">{PASSWORD}", "~*", *ALLOWED_RULES,
            "--user", "admin", "on", f">{ADMIN_PASSWORD}", "~*", "+@all",
            *extra,
        ]
    )  # fmt: skip


def admin(server: LocalRedis) -> redis.Redis:
    return redis.Redis(
        port=server.port,
        username="admin",
        password=ADMIN_PASSWORD,
        decode_responses=True,
    )


def command_calls(conn: redis.Redis) -> dict[str, dict[str, int]]:
    """`INFO commandstats` as {command: {calls, rejected_calls, failed_calls}}."""
    stats: dict[str, dict[str, int]] = {}
    for key, fields in conn.info("commandstats").items():
        name = key.removeprefix("cmdstat_")
        stats[name] = {k: int(v) for k, v in fields.items() if k.endswith("calls")}
    return stats


def assert_read_only(conn: redis.Redis) -> dict[str, dict[str, int]]:
    denied = conn.acl_log()
    assert denied == [], f"ACL LOG shows commands refused to cachewatch: {denied}"
    calls = command_calls(conn)
    outside = set(calls) - ALLOWED_COMMANDS - ADMIN_COMMANDS
    assert not outside, f"commands outside the allowlist were called: {sorted(outside)}"
    return calls


class PollCounter:
    """Counts finished polls (the engine's observer seam)."""

    def __init__(self) -> None:
        self.polls = 0

    def observe_poll(self, instance: str, duration_s: float, ok: bool) -> None:
        self.polls += 1


def cachewatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def restricted_redis() -> Iterator[LocalRedis]:
    server = acl_redis("--maxmemory-policy", "allkeys-lfu").start()
    try:
        yield server
    finally:
        server.stop()


def test_allowlist_user_really_is_restricted(restricted_redis: LocalRedis) -> None:
    """The proof below is only worth something if the server refuses what is not allowed."""
    conn = redis.Redis(port=restricted_redis.port, username="monitor", password=PASSWORD)
    for forbidden in (("SET", "k", "v"), ("KEYS", "*"), ("CONFIG", "SET", "maxmemory", "1")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            conn.execute_command(*forbidden)
    conn.close()
    with admin(restricted_redis) as conn:
        assert len(conn.acl_log()) == 3
        conn.acl_log_reset()


def test_everything_that_talks_to_redis_sends_only_allowlisted_commands(
    restricted_redis: LocalRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with admin(restricted_redis) as conn:
        # something for SCAN, OBJECT FREQ, MEMORY USAGE and MONITOR to see
        conn.mset({f"key:{i}": "x" * i for i in range(200)})
        for _ in range(50):
            conn.get("key:1")
        conn.config_resetstat()
    env = {"CW_SAFETY_PASSWORD": PASSWORD}
    config_path = tmp_path / "cachewatch.toml"
    config_path.write_text(f"""
[global]
interval = "500ms"
timeout = "450ms"
slow_interval = "500ms"

[store]
path = "{tmp_path / "store"}"

[doctor]
interval = "1s"
namespaces_floor = 200

[[targets]]
url = "{restricted_redis.url}"
username = "monitor"
password_env = "CW_SAFETY_PASSWORD"
""")
    os.environ.update(env)
    try:
        counter = PollCounter()
        config = load_config(config_path)
        runtime = Runtime(config, observer=counter)
        doctor = DoctorRunner(config.doctor)  # rules, namespace sampler
        runtime.on_started(doctor.start)
        runtime.on_stopping(doctor.stop)
        runtime.start_background()
        try:
            wait_for(lambda: counter.polls >= 5, 30, "five polls of the restricted server")
            wait_for(lambda: doctor.evaluations >= 2, 30, "two doctor evaluations")
            wait_for(lambda: any(r.complete for r in doctor.namespace_reports()), 30)
            (status,) = runtime.statuses()
            assert status.up, status.last_error
            assert not status.skipped, f"collectors switched off: {status.skipped}"
            reports = LocalSource(runtime).server_doctor(status.target.instance)
            assert "refused" not in " ".join(reports.values())
        finally:
            runtime.stop_background()
    finally:
        for name in env:
            os.environ.pop(name)
    url = f"redis://monitor:{PASSWORD}@127.0.0.1:{restricted_redis.port}"
    poll = cachewatch("poll", url, "--once", "--format", "json")
    assert poll.returncode == 0, poll.stderr
    assert '"redis_up"' in poll.stdout
    doctor_run = cachewatch("doctor", url, "--duration", "2s", "--format", "json")
    assert doctor_run.returncode in (0, 1), doctor_run.stderr
    monitor_bursts = [
        "--method",
        "monitor",
        "--monitor",
        "--burst",
        "200ms",
        "--burst-every",
        "500ms",
    ]
    for method in (monitor_bursts, []):
        hot = cachewatch(
            "hotkeys", url, "--duration", "2s", "--format", "json", "--budget", "500", *method
        )
        assert hot.returncode == 0, hot.stderr
    with admin(restricted_redis) as conn:
        calls = assert_read_only(conn)
    # the proof covered the interesting commands, not only INFO
    for used in ("info", "latency|latest", "slowlog|get", "config|get", "client|setname"):
        assert calls.get(used, {}).get("calls", 0) > 0, f"{used} was never called: {calls}"
    for used in ("monitor", "scan", "object|freq", "memory|usage", "ttl", "client|list",
                 "latency|doctor", "memory|doctor"):  # fmt: skip
        assert calls.get(used, {}).get("calls", 0) > 0, f"{used} was never called: {calls}"


def test_cluster_discovery_and_polls_stay_read_only(tmp_path: Path) -> None:
    """A cluster node: discovery (CLUSTER SHARDS/NODES) and the cluster collector too."""
    server = acl_redis(
        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"
    ).start()  # fmt: skip
    try:
        with admin(server) as conn:
            conn.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            conn.config_resetstat()
        url = f"redis://monitor:{PASSWORD}@127.0.0.1:{server.port}"
        poll = cachewatch("poll", url, "--once", "--format", "json")
        assert poll.returncode == 0, poll.stderr
        assert "redis_cluster_" in poll.stdout or "cluster_" in poll.stdout
        with admin(server) as conn:
            calls = assert_read_only(conn)
        assert any(name.startswith("cluster|") for name in calls), calls
    finally:
        server.stop()


MEMCACHED_WRITE_COUNTERS = (
    "cmd_set",
    "cmd_flush",
    "cmd_touch",
    "delete_hits",
    "delete_misses",
    "incr_hits",
    "incr_misses",
    "decr_hits",
    "decr_misses",
    "cas_hits",
    "cas_misses",
    "touch_hits",
    "touch_misses",
    "curr_items",
    "total_items",
)


def memcached_stats(port: int) -> dict[str, str]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = sock.recv(65536)
            assert chunk, "memcached closed the connection"
            data += chunk
    stats = {}
    for line in data.decode().splitlines():
        parts = line.split(" ", 2)
        if parts[0] == "STAT" and len(parts) == 3:
            stats[parts[1]] = parts[2]
    return stats


def test_memcached_polls_and_hot_keys_never_write(caplog: pytest.LogCaptureFixture) -> None:
    server = LocalMemcached().start()
    try:
        caplog.set_level(logging.WARNING)
        counter = PollCounter()
        config = config_from_urls([server.url], interval_s=0.5)
        runtime = Runtime(config, observer=counter, with_store=False)
        runtime.start_background()
        try:
            wait_for(lambda: counter.polls >= 5, 30, "five memcached polls")
            assert all(s.up for s in runtime.statuses())
        finally:
            runtime.stop_background()
        poll = cachewatch("poll", server.url, "--once", "--format", "json")
        assert poll.returncode == 0, poll.stderr
        hot = cachewatch(
            "hotkeys", server.url, "--duration", "2s", "--metadump", "--burst", "200ms"
        )  # fmt: skip
        assert hot.returncode == 0, hot.stderr
        stats = memcached_stats(server.port)
        written = {name: stats[name] for name in MEMCACHED_WRITE_COUNTERS if name in stats}
        assert set(written) >= {"cmd_set", "cmd_flush", "cmd_touch", "delete_misses"}
        assert all(value == "0" for value in written.values()), written
        assert int(stats["cmd_get"]) == 0, "cachewatch read a key"
    finally:
        server.stop()


def test_costly_methods_run_only_as_the_product_allows() -> None:
    """MONITOR runs on a person's request where nothing cheaper ranks keys (PRODUCT.md), in
    bounded bursts, and never with `--no-monitor`; `lru_crawler metadump` is opt-in."""
    server = acl_redis().start()  # noeviction: no LFU, so MONITOR is the method
    memcached = LocalMemcached().start()
    try:
        url = f"redis://monitor:{PASSWORD}@127.0.0.1:{server.port}"
        result = cachewatch("hotkeys", url, "--duration", "1s", "--no-monitor")
        assert result.returncode == 1, result.stderr
        assert "no hot-key method available" in result.stderr, result.stderr
        with admin(server) as conn:
            calls = assert_read_only(conn)
            conn.config_resetstat()
        assert "monitor" not in calls, calls
        result = cachewatch("hotkeys", url, "--duration", "1s")
        assert result.returncode == 0, result.stderr
        with admin(server) as conn:
            calls = assert_read_only(conn)
        # one second at the 3 % budget: one burst of at most 30 ms
        assert calls.get("monitor", {}).get("calls", 0) == 1, calls
        crawls = int(memcached_stats(memcached.port)["lru_crawler_starts"])
        result = cachewatch("hotkeys", memcached.url, "--duration", "1s")
        assert result.returncode == 0, result.stderr
        assert int(memcached_stats(memcached.port)["lru_crawler_starts"]) == crawls
        result = cachewatch("hotkeys", memcached.url, "--duration", "1s", "--metadump")
        assert result.returncode == 0, result.stderr
        assert int(memcached_stats(memcached.port)["lru_crawler_starts"]) == crawls + 1
    finally:
        memcached.stop()
        server.stop()
