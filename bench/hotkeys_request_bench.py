"""Hot keys on request, at the defaults of `cachewatch hotkeys`: precision@10 and what the
request costs the server, on the servers people run.

For each server kind: a real redis-server with `--keys` keys (bench/zipf_load.py: realistic
names over five patterns), `--loaders` load processes sending Zipf(1.0) GETs with 15 % SETs
in pipelines of 64 (so the server, not the client, is the bottleneck), then A/B/A:

    A1: `--phase` seconds of load alone,
    B:  `cachewatch hotkeys URL --duration 10s --top 10 --format json` (the CLI, defaults),
    A2: `--phase` seconds of load alone,

and prints, per run: precision@10 (the true top 10 are ranks 1..10 of the distribution),
the largest error of any pattern's share against the distribution's exact shares, the
method and the cost the result itself reports, and the throughput lost during B measured
two ways: the load's own ops/s and the server's CPU per command (INFO used_cpu_* over
total_commands_processed), each against the mean of A1 and A2.

Kinds: allkeys-lru, noeviction, allkeys-lfu (fresh), allkeys-lfu at the counter ceiling
(`lfu-log-factor 0` and a warm-up, which saturates the hot keys' counters as a long-running
busy server does), and a 3+3 cluster (allkeys-lru). Prints figures; asserts nothing.

    .venv/bin/python bench/hotkeys_request_bench.py --runs 10
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
import zipf_load

from monitor.localservers import LocalCluster, LocalRedis

KINDS = ("allkeys-lru", "noeviction", "lfu-fresh", "lfu-saturated", "cluster")


@dataclass
class Phase:
    ops: float  # load ops/s
    cpu_per_op: float  # server CPU seconds per command


class Load:
    """The load processes, their per-second throughput collected from their output."""

    def __init__(self, port: int, loaders: int, seconds: float, keys: int, cluster: bool):
        args = ["--port", str(port), "--seconds", str(seconds), "--keys", str(keys)]
        self.procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(Path(__file__).parent / "zipf_load.py"),
                    *args,
                    "--seed",
                    str(seed),
                    *(["--cluster"] if cluster else []),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for seed in range(loaders)
        ]
        self.samples: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        self._readers = [threading.Thread(target=self._read, args=(p,)) for p in self.procs]
        for reader in self._readers:
            reader.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            sample = json.loads(line)
            with self._lock:
                self.samples.append((sample["t"], sample["ops"]))

    def ops_between(self, start: float, end: float) -> float:
        with self._lock:
            total = sum(ops for t, ops in self.samples if start < t <= end)
        return total / max(end - start, 1e-9)

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait(10)
        for reader in self._readers:
            reader.join(10)


def _cpu_and_commands(ports: list[int]) -> tuple[float, float]:
    cpu = commands = 0.0
    for port in ports:
        info = redis.Redis(port=port).info()
        cpu += float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
        commands += float(info["total_commands_processed"])
    return cpu, commands


def _phase(
    load: Load, ports: list[int], seconds: float, action: object = None
) -> tuple[Phase, object]:  # type: ignore[type-arg]
    cpu0, cmd0 = _cpu_and_commands(ports)
    start = time.time()
    result = action() if callable(action) else time.sleep(seconds)
    end = time.time()
    cpu1, cmd1 = _cpu_and_commands(ports)
    return Phase(load.ops_between(start, end), (cpu1 - cpu0) / max(cmd1 - cmd0, 1)), result


def _request(url: str) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "hotkeys", url, "--duration", "10s", "--top", "10",
         "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    result = json.loads(done.stdout)
    result["stderr"] = done.stderr
    return result  # type: ignore[no-any-return]


def _start(kind: str, keys: int) -> tuple[list[int], str, object]:
    if kind == "cluster":
        cluster = LocalCluster(
            extra=["--maxmemory", "512mb", "--maxmemory-policy", "allkeys-lru"],
            node_timeout_ms=15000,
        ).start()
        zipf_load.fill(cluster.nodes[0].port, keys, cluster=True)
        primaries = [n.port for n in cluster.nodes[:3]]
        return primaries, cluster.seed_url, cluster
    policy = {"lfu-fresh": "allkeys-lfu", "lfu-saturated": "allkeys-lfu"}.get(kind, kind)
    extra = ["--maxmemory", "1gb", "--maxmemory-policy", policy]
    if kind == "lfu-saturated":
        extra += ["--lfu-log-factor", "0"]
    server = LocalRedis(extra=extra).start()
    zipf_load.fill(server.port, keys)
    return [server.port], server.url, server


def run_once(kind: str, args: argparse.Namespace) -> dict[str, float | str]:
    ports, url, server = _start(kind, args.keys)
    warmup = args.warmup * (3 if kind == "lfu-saturated" else 1)
    total = warmup + 2 * args.phase + 30
    load = Load(ports[0], args.loaders, total, args.keys, kind == "cluster")
    try:
        time.sleep(warmup)
        before, _ = _phase(load, ports, args.phase)
        during, result = _phase(load, ports, 0, lambda: _request(url))
        after, _ = _phase(load, ports, args.phase)
    finally:
        load.stop()
        server.stop()  # type: ignore[attr-defined]
    assert isinstance(result, dict)
    truth = set(zipf_load.true_top(10))
    found = [row["key"] for row in result["keys"]]
    shares = zipf_load.true_pattern_shares(args.keys, 1.0)
    seen = {p["pattern"]: p["share"] for p in result["patterns"]}
    pattern_error = max(abs(seen.get(p, 0.0) - share) for p, share in shares.items())
    base_ops = (before.ops + after.ops) / 2
    base_cpu = (before.cpu_per_op + after.cpu_per_op) / 2
    reported = [s.get("throughput_loss") for s in result["samples"]]
    return {
        "precision": len(truth & set(found)) / 10,
        "pattern_error": pattern_error,
        "methods": ",".join(result["methods"]),
        "commands": sum(s["commands"] for s in result["samples"]),
        "reported_loss": max((r for r in reported if r is not None), default=float("nan")),
        "ops_loss": 1 - during.ops / base_ops if base_ops else float("nan"),
        "cpu_per_op_rise": during.cpu_per_op / base_cpu - 1 if base_cpu else float("nan"),
        "load_ops": base_ops,
        # the same figure between the two load-only phases: how much CPU per op moves on
        # this machine with no request at all (the noise the rise must be read against)
        "cpu_per_op_noise": after.cpu_per_op / before.cpu_per_op - 1
        if before.cpu_per_op
        else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--loaders", type=int, default=2)
    parser.add_argument("--phase", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--kinds", default=",".join(KINDS))
    args = parser.parse_args()
    for kind in args.kinds.split(","):
        rows = []
        for run in range(args.runs):
            row = run_once(kind, args)
            rows.append(row)
            print(
                f"{kind:14s} run {run + 1:2d}: precision@10 {row['precision']:.1f}  "
                f"patterns ±{row['pattern_error'] * 100:4.1f} pts  {row['methods']:8s} "
                f"{row['commands']:>8,} cmds  reported cost {row['reported_loss'] * 100:5.2f} %  "
                f"load ops lost {row['ops_loss'] * 100:+6.2f} %  server CPU/op "
                f"{row['cpu_per_op_rise'] * 100:+6.2f} %  (A2 vs A1 "
                f"{row['cpu_per_op_noise'] * 100:+6.2f} %)  ({row['load_ops']:,.0f} ops/s)",
                flush=True,
            )
        good = sum(1 for r in rows if float(r["precision"]) >= 0.9)
        noise = statistics.mean(abs(float(r["cpu_per_op_noise"])) for r in rows)
        print(
            f"{kind:14s} SUMMARY: precision@10 >= 0.9 in {good}/{len(rows)}; "
            f"mean {statistics.mean(float(r['precision']) for r in rows):.2f}; pattern error max "
            f"{max(float(r['pattern_error']) for r in rows) * 100:.1f} pts; load ops lost mean "
            f"{statistics.mean(float(r['ops_loss']) for r in rows) * 100:+.2f} %; server CPU/op "
            f"mean {statistics.mean(float(r['cpu_per_op_rise']) for r in rows) * 100:+.2f} % "
            f"(A2 vs A1, no request: mean |{noise * 100:.2f}| %)",
            flush=True,
        )


if __name__ == "__main__":
    main()
