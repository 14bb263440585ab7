"""Start real Redis/Valkey/memcached processes on free loopback ports.

Used by `cachewatch demo`, the test fixtures and the benchmarks. Every server binds
127.0.0.1 only, keeps nothing on disk, and lives in its own temporary directory that
`stop()` removes.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "LocalRedis",
    "LocalMemcached",
    "LocalCluster",
    "LocalSentinel",
    "LocalSentinelSet",
    "free_port",
    "have_binary",
    "die_with_parent",
]


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child process: ask Linux to SIGKILL us when our parent dies, so no server
    outlives a test run or a demo that was killed (even with kill -9)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # not Linux/glibc: cleanup falls back to stop()
        pass


def have_binary(name: str) -> bool:
    return shutil.which(name) is not None


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 now (and, for cluster nodes, port+10000 too)."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return int(port)
    raise RuntimeError("no free port pair found on 127.0.0.1")


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"server on port {port} did not start within {timeout_s}s")


class _ServerProcess:
    """Start, freeze, thaw and kill one local server process (shared by the launchers)."""

    proc: subprocess.Popen[bytes] | None
    port: int
    #: a temporary directory of the server's own (removed by `stop()`), if it has one
    workdir: Path | None = None

    def _spawn(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent
        )
        _wait_port(self.port, self.proc)

    def pause(self, timeout_s: float = 5.0) -> None:
        """SIGSTOP: the server keeps its sockets but answers nothing (a hung server).
        Returns once every thread is stopped: the signal lands asynchronously, and a
        thread still running on the other core could answer one more request."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + timeout_s
        while not _all_threads_stopped(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.001)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(5)

    def stop(self) -> None:
        self.kill()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


@dataclass
class LocalRedis(_ServerProcess):
    """A redis-server (or valkey-server) process. `extra` adds config directives."""

    binary: str = "redis-server"
    extra: list[str] = field(default_factory=list)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> LocalRedis:
        self.port = self.port or free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="cachewatch-redis-"))
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--daemonize",
            "no",
            "--logfile",
            str(self.workdir / "server.log"),
            "--latency-monitor-threshold",
            "1",
            *self.extra,
        ]
        self._spawn(args)
        return self

    def restart(self) -> None:
        """Kill and start again on the same port (counters reset, data gone)."""
        self.kill()
        workdir = self.workdir
        self.start()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class LocalMemcached(_ServerProcess):
    memory_mb: int = 64
    extra: list[str] = field(default_factory=list)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"memcached://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> LocalMemcached:
        self.port = self.port or free_port()
        args = [
            "memcached",
            "-l",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "0",
            "-m",
            str(self.memory_mb),
            "-u",
            "nobody",
            *self.extra,
        ]
        self._spawn(args)
        return self


@dataclass
class LocalCluster:
    """A Redis Cluster of `primaries` shards with `replicas_per_primary` replicas each."""

    primaries: int = 3
    replicas_per_primary: int = 1
    binary: str = "redis-server"
    #: how long a node may not answer before the others fail it over: 2 s makes failover
    #: tests quick; the demo uses Redis's default (15 s), which a loaded machine never trips
    node_timeout_ms: int = 2000
    extra: list[str] = field(default_factory=list)
    nodes: list[LocalRedis] = field(default_factory=list)

    @property
    def seed_url(self) -> str:
        return self.nodes[0].url

    def start(self, timeout_s: float = 30.0) -> LocalCluster:
        count = self.primaries * (1 + self.replicas_per_primary)
        try:
            for _ in range(count):
                node = LocalRedis(
                    binary=self.binary,
                    extra=[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-node-timeout",
                        str(self.node_timeout_ms),
                        "--cluster-config-file",
                        "nodes.conf",
                        *self.extra,
                    ],
                )
                self.nodes.append(node.start())
            cli = shutil.which("redis-cli") or shutil.which("valkey-cli")
            if cli is None:
                raise RuntimeError(
                    "redis-cli is needed to create a cluster (apt install redis-tools)"
                )
            subprocess.run(
                [
                    cli,
                    "--cluster",
                    "create",
                    *[n.address for n in self.nodes],
                    "--cluster-replicas",
                    str(self.replicas_per_primary),
                    "--cluster-yes",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=timeout_s,
            )
            self._wait_ok(cli, timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ok(self, cli: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ok = True
            for node in self.nodes:
                out = subprocess.run(
                    [cli, "-p", str(node.port), "cluster", "info"],
                    capture_output=True,
                    text=True,
                    timeout=5,
                ).stdout
                if "cluster_state:ok" not in out:
                    ok = False
                    break
            if ok:
                # replicas must have finished their initial sync too
                info = "".join(
                    subprocess.run(
                        [cli, "-p", str(n.port), "info", "replication"],
                        capture_output=True,
                        text=True,
                        timeout=5,
                    ).stdout
                    for n in self.nodes
                )
                if (
                    info.count("master_link_status:up")
                    >= self.primaries * self.replicas_per_primary
                ):
                    return
            time.sleep(0.2)
        raise RuntimeError("cluster did not reach cluster_state:ok in time")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self.nodes.clear()


def sentinel_command() -> list[str]:
    """How to start a Sentinel here: Debian's `redis-sentinel` (package redis-sentinel), or
    the same binary as `redis-server --sentinel` where only redis-server is installed."""
    if have_binary("redis-sentinel"):
        return ["redis-sentinel"]
    return ["redis-server", "--sentinel"]


@dataclass
class LocalSentinel(_ServerProcess):
    """A Redis Sentinel process watching one master. Sentinel rewrites its config file, so
    it gets one of its own in its temporary directory."""

    master_port: int = 0
    master_name: str = "mymaster"
    quorum: int = 2
    down_after_ms: int = 1000
    failover_timeout_ms: int = 3000
    #: the Sentinel's own password (its peers use it too); the data nodes' password
    password: str | None = None
    data_password: str | None = None
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> LocalSentinel:
        self.port = self.port or free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="cachewatch-sentinel-"))
        config = self.workdir / "sentinel.conf"
        name = self.master_name
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndaemonize no\ndir {self.workdir}\n"
            f"logfile {self.workdir / 'sentinel.log'}\n"
            f"sentinel monitor {name} 127.0.0.1 {self.master_port} {self.quorum}\n"
            f"sentinel down-after-milliseconds {name} {self.down_after_ms}\n"
            f"sentinel failover-timeout {name} {self.failover_timeout_ms}\n"
        )
        with config.open("a") as extra:
            if self.password is not None:
                extra.write(
                    f"requirepass {self.password}\nsentinel sentinel-pass {self.password}\n"
                )
            if self.data_password is not None:
                extra.write(f"sentinel auth-pass {name} {self.data_password}\n")
        self._spawn([*sentinel_command(), str(config)])
        return self


@dataclass
class LocalSentinelSet:
    """A primary with `replicas` replicas, watched by `sentinels` Sentinels (quorum: a
    majority). Timeouts are short so that failovers take seconds, not minutes."""

    replicas: int = 2
    sentinels: int = 3
    master_name: str = "mymaster"
    down_after_ms: int = 1000
    failover_timeout_ms: int = 3000
    #: passwords of the Sentinels and of the data nodes (none by default)
    sentinel_password: str | None = None
    data_password: str | None = None
    data_nodes: list[LocalRedis] = field(default_factory=list)
    sentinel_nodes: list[LocalSentinel] = field(default_factory=list)

    @property
    def seed_url(self) -> str:
        """One Sentinel's address, as a user would give it."""
        return f"redis+sentinel://{self.sentinel_nodes[0].address}/{self.master_name}"

    def start(self, timeout_s: float = 30.0) -> LocalSentinelSet:
        auth = []
        if self.data_password is not None:
            auth = ["--requirepass", self.data_password, "--masterauth", self.data_password]
        try:
            primary = LocalRedis(extra=auth).start()
            self.data_nodes.append(primary)
            for _ in range(self.replicas):
                replica = LocalRedis(extra=[*auth, "--replicaof", "127.0.0.1", str(primary.port)])
                self.data_nodes.append(replica.start())
            for _ in range(self.sentinels):
                sentinel = LocalSentinel(
                    master_port=primary.port,
                    master_name=self.master_name,
                    quorum=self.sentinels // 2 + 1,
                    down_after_ms=self.down_after_ms,
                    failover_timeout_ms=self.failover_timeout_ms,
                    password=self.sentinel_password,
                    data_password=self.data_password,
                )
                self.sentinel_nodes.append(sentinel.start())
            self.wait_settled(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def sentinel_masters(self, sentinel: LocalSentinel) -> dict[str, str]:
        """What one Sentinel says of the master (SENTINEL MASTER's fields)."""
        import redis

        with redis.Redis(
            port=sentinel.port,
            password=self.sentinel_password,
            decode_responses=True,
            socket_timeout=5,
        ) as conn:
            reply = conn.execute_command("SENTINEL", "MASTER", self.master_name)
        if isinstance(reply, dict):
            return {str(k): str(v) for k, v in reply.items()}
        return {str(k): str(v) for k, v in zip(reply[::2], reply[1::2], strict=True)}

    def primary_address(self, sentinel: LocalSentinel | None = None) -> str:
        fields = self.sentinel_masters(sentinel or self.live_sentinels()[0])
        return f"{fields['ip']}:{fields['port']}"

    def live_sentinels(self) -> list[LocalSentinel]:
        return [s for s in self.sentinel_nodes if s.proc is not None and s.proc.poll() is None]

    def node(self, address: str) -> LocalRedis:
        return next(n for n in self.data_nodes if n.address == address)

    def settled(self) -> bool:
        """Every live Sentinel agrees on the primary, knows the other live Sentinels and
        every live replica, sees them all healthy, and no failover is running."""
        import redis

        live = self.live_sentinels()
        live_data = [n for n in self.data_nodes if n.proc is not None and n.proc.poll() is None]
        try:
            views = [self.sentinel_masters(s) for s in live]
        except (OSError, redis.RedisError):  # a Sentinel still starting, or busy failing over
            return False
        primaries = {f"{v['ip']}:{v['port']}" for v in views}
        return (
            len(primaries) == 1
            and all(v["flags"] == "master" for v in views)
            and all(int(v["num-other-sentinels"]) >= len(live) - 1 for v in views)
            and all(int(v["num-slaves"]) >= len(live_data) - 1 for v in views)
        )

    def wait_settled(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.settled():
            if time.monotonic() > deadline:
                raise RuntimeError("the Sentinels did not agree on one healthy master in time")
            time.sleep(0.1)

    def stop(self) -> None:
        for sentinel in self.sentinel_nodes:
            sentinel.stop()
        for node in self.data_nodes:
            node.stop()
        self.sentinel_nodes.clear()
        self.data_nodes.clear()


def _all_threads_stopped(pid: int) -> bool:
    """Whether every thread of `pid` is in the stopped state (Linux /proc; elsewhere, or if
    the process is gone, there is nothing to wait for)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        for task in tasks:
            with open(f"/proc/{pid}/task/{task}/stat") as stat:
                state = stat.read().rpartition(")")[2].split()[0]
            if state not in ("T", "t"):
                return False
    except (OSError, IndexError):
        return True
    return True
