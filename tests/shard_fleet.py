"""A sharded fleet for tests: real redis-server and memcached targets polled by
`cachewatch export --shard i/n` subprocesses, scraped every second by a real Prometheus —
what a reader node (`serve`/`tui` with `backend = "prometheus"` and no targets) reads — and
the reader itself as a `cachewatch serve` subprocess (`start_reader`)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.localservers import LocalMemcached, LocalRedis, free_port
from monitor.sharding import hashmod
from tests.prometheus import Prometheus
from tests.waiting import wait_for

__all__ = [
    "Export",
    "Reader",
    "ShardedFleet",
    "by_instance",
    "get_json",
    "reader_config",
    "start_reader",
    "stop_reader",
]


def get_json(url: str, **params: str) -> Any:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(url + query, timeout=10) as response:
        return json.loads(response.read())


@dataclass
class Export:
    """One `cachewatch export` process."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_export(args: list[str], log: Path) -> Export:
    port = free_port()
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "export", *args,
             "--interval", "1s", "--listen", f"127.0.0.1:{port}"],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Export(proc, port, log)


def reader_config(path: Path, prometheus_url: str, listen: str = "") -> Path:
    """A config with no targets whose store reads from `prometheus_url`: a reader node."""
    text = f'[store]\nbackend = "prometheus"\nurl = "{prometheus_url}"\n'
    text += f'path = "{path.with_suffix(".store")}"\n'
    if listen:
        text += f'[web]\nlisten = "{listen}"\n'
    path.write_text(text)
    return path


@dataclass
class ShardedFleet:
    """`shards` export processes over `redis` + `memcached` targets (each labelled with a
    `service`), plus `lonely`: a redis-server polled by an export of its own, so a test can
    stop that one and watch a server no cachewatch polls any more."""

    workdir: Path
    redis: list[LocalRedis] = field(default_factory=list)
    memcached: list[LocalMemcached] = field(default_factory=list)
    lonely: LocalRedis | None = None
    exports: list[Export] = field(default_factory=list)
    lonely_export: Export | None = None
    prometheus: Prometheus | None = None

    @property
    def servers(self) -> list[LocalRedis | LocalMemcached]:
        return [*self.redis, *self.memcached]

    @staticmethod
    def service_of(server: LocalRedis | LocalMemcached) -> str:
        return "sessions" if isinstance(server, LocalMemcached) else "api-cache"

    def start(self, redis: int, memcached: int, shards: int) -> ShardedFleet:
        try:
            self._start(redis, memcached, shards)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, redis: int, memcached: int, shards: int) -> None:
        self.memcached = [LocalMemcached().start() for _ in range(memcached)]
        self.redis = [LocalRedis().start() for _ in range(redis)]
        # every shard polls something: add redis servers until each has one
        for _ in range(32):
            if len({hashmod(s.address, shards) for s in self.servers}) == shards:
                break
            self.redis.append(LocalRedis().start())
        self.lonely = LocalRedis().start()
        config = self.workdir / "shards.toml"
        config.write_text(
            "".join(
                f'[[targets]]\nurl = "{s.url}"\nlabels = {{ service = "{self.service_of(s)}" }}\n'
                for s in self.servers
            )
        )
        self.exports = [
            start_export(["-c", str(config), "--shard", f"{i}/{shards}"],
                         self.workdir / f"export-{i}.log")
            for i in range(shards)
        ]  # fmt: skip
        self.lonely_export = start_export([self.lonely.url], self.workdir / "export-lonely.log")
        ports = [e.port for e in (*self.exports, self.lonely_export)]
        (self.workdir / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: cachewatch\n    honor_labels: true\n"
            "    static_configs:\n"
            f"      - targets: {json.dumps([f'127.0.0.1:{p}' for p in ports])}\n"
        )
        self.prometheus = Prometheus(self.workdir / "tsdb", self.workdir / "prometheus.yml")
        self.prometheus.wait_ready()
        everyone = {s.address for s in self.servers} | {self.lonely.address}
        wait_for(lambda: self.up_in_prometheus() == dict.fromkeys(everyone, 1.0), 90,
                 "Prometheus to have every target up from the shards")  # fmt: skip

    def up_in_prometheus(self) -> dict[str, float]:
        """instance -> value of its `redis_up`/`memcached_up` in Prometheus now."""
        assert self.prometheus is not None
        data = self.prometheus.get("/api/v1/query", query="redis_up or memcached_up")
        return {
            r["metric"]["instance"]: float(r["value"][1])
            for r in data.get("data", {}).get("result", [])
        }

    def stop(self) -> None:
        if self.prometheus is not None:
            self.prometheus.stop()
        for export in [*self.exports, *([self.lonely_export] if self.lonely_export else [])]:
            export.stop()
        for server in [*self.servers, *([self.lonely] if self.lonely else [])]:
            server.stop()


@dataclass
class Reader:
    """The target-less `cachewatch serve` subprocess."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text()

    def targets(self) -> dict[str, dict[str, Any]]:
        data = get_json(f"{self.url}/api/v1/targets")["data"]["activeTargets"]
        return {t["labels"]["instance"]: t for t in data}

    def query(self, expr: str, at_s: float) -> dict[str, float]:
        return by_instance(get_json(f"{self.url}/api/v1/query", query=expr, time=f"{at_s:.3f}"))


def by_instance(answer: dict[str, Any]) -> dict[str, float]:
    return {r["metric"]["instance"]: float(r["value"][1]) for r in answer["data"]["result"]}


def start_reader(config: Path, log: Path) -> Reader:
    listen = f"127.0.0.1:{free_port()}"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "serve", "-c", str(config), "--listen", listen],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    reader = Reader(proc, f"http://{listen}", log)
    wait_for(
        lambda: proc.poll() is not None or "serving the dashboard" in reader.output(),
        60,
        "the reader to serve",
    )
    assert proc.poll() is None, reader.output()
    return reader


def stop_reader(reader: Reader) -> int:
    reader.proc.send_signal(signal.SIGTERM)
    try:
        return reader.proc.wait(20)
    except subprocess.TimeoutExpired:
        reader.proc.kill()
        return reader.proc.wait()
