"""One `cachewatch serve` process at 100, 300 and 1,000 targets: CPU per poll, process CPU
as a share of one core, RSS (and its growth), polls on their grid slot, with 5 % of the
targets broken (half hang, half refuse connections).

Servers: real redis-server (`--hz 1`) and memcached processes on loopback, each listening
on `--per-server` loopback addresses (127.0.0.1, 127.0.0.2, ...): cachewatch tells targets
apart by address, so one server process is several targets (3 by default: 1,000 targets
are about 335 processes, which a shared 2-core machine can host beside other work). A
fifth of the healthy targets are memcached. The hanging targets are the addresses of
SIGSTOPped redis-servers (connections are accepted by the kernel, nothing
answers: every poll runs into its timeout); the refusing ones are ports nobody listens on.

For each size a fresh `serve` (its own store, alert state; with `--polling-only` no alert
rules, hot keys or doctor, so what it measures is polling and storing) polls every target at
`--interval` (timeout `--timeout`); after `--warmup` seconds, its CPU (utime + stime from
/proc) and RSS are read over `--seconds`, and `/metrics` before and after gives the polls
(`cachewatch_polls_total` per instance), the polls due on the grid and those not on their
slot (`cachewatch_scheduler_polls_due_total` / `..._late_total`). A healthy target is
starved when it was polled less than once per interval minus one over the window. Prints
figures; asserts nothing.

    .venv/bin/python bench/scale_bench.py                       # ~6 min: 100, 300, 1000
    .venv/bin/python bench/scale_bench.py --sizes 1000 --seconds 600   # RSS growth, 10 min
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from monitor.localservers import LocalMemcached, LocalRedis, free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))

from poll_process_bench import proc_cpu_s, proc_rss_mib

CACHEWATCH = str(Path(sys.executable).with_name("cachewatch"))
_SAMPLE = re.compile(r"^(\w+)(?:\{([^}]*)\})? (\S+)", re.M)


@dataclass
class Fleet:
    redis: list[LocalRedis]
    memcached: list[LocalMemcached]
    hung: list[LocalRedis]
    per_server: int

    def addresses(self, servers: list[LocalRedis] | list[LocalMemcached]) -> list[str]:
        return [f"127.0.0.{i + 1}:{s.port}" for i in range(self.per_server) for s in servers]

    def stop(self) -> None:
        for server in [*self.redis, *self.memcached, *self.hung]:
            server.stop()


def start_fleet(targets: int, per_server: int, broken_share: float) -> Fleet:
    broken = round(targets * broken_share)
    healthy = targets - broken
    memcached = math.ceil(healthy / 5 / per_server)
    redis = math.ceil((healthy - memcached * per_server) / per_server)
    hung = math.ceil((broken - broken // 2) / per_server)
    binds = [f"127.0.0.{i + 1}" for i in range(per_server)]
    redis_extra = ["--bind", *binds, "--hz", "1"]
    fleet = Fleet([], [], [], per_server)
    for _ in range(redis):
        fleet.redis.append(LocalRedis(extra=redis_extra).start())
    for _ in range(memcached):
        fleet.memcached.append(
            LocalMemcached(
                memory_mb=8, extra=["-l", ",".join(binds[1:])] if per_server > 1 else []
            ).start()
        )
    for _ in range(hung):
        server = LocalRedis(extra=redis_extra).start()
        server.pause()
        fleet.hung.append(server)
    return fleet


def target_urls(fleet: Fleet, targets: int, broken_share: float) -> tuple[list[str], set[str]]:
    """The URLs of `targets` targets and the addresses of the healthy ones."""
    broken = round(targets * broken_share)
    healthy = targets - broken
    memcached = fleet.addresses(fleet.memcached)[: healthy // 5]
    redis = fleet.addresses(fleet.redis)[: healthy - len(memcached)]
    hung = fleet.addresses(fleet.hung)[: broken - broken // 2]
    taken = {s.port for s in [*fleet.redis, *fleet.memcached, *fleet.hung]}
    ports: set[int] = set()
    while len(ports) < broken // 2:  # nothing listens there; free_port may repeat itself
        port = free_port()
        if port not in taken:
            ports.add(port)
    refused = [f"127.0.0.1:{port}" for port in sorted(ports)]
    urls = [f"redis://{a}" for a in redis + hung + refused]
    urls += [f"memcached://{a}" for a in memcached]
    return urls, set(redis) | set(memcached)


def scrape(url: str) -> dict[tuple[str, str], float]:
    text = urllib.request.urlopen(url, timeout=60).read().decode()
    out: dict[tuple[str, str], float] = {}
    for name, labels, value in _SAMPLE.findall(text):
        if name.startswith(("cachewatch_polls_total", "cachewatch_scheduler_polls")):
            out[(name, labels or "")] = float(value)
    return out


def instance_of(labels: str) -> str:
    found = re.search(r'instance="([^"]*)"', labels)
    return found.group(1) if found else ""


def run_size(fleet: Fleet, size: int, args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    urls, healthy = target_urls(fleet, size, args.broken)
    config = tmp / f"scale{size}.toml"
    lines = [
        "[global]",
        f'interval = "{args.interval:g}s"',
        f'timeout = "{args.timeout:g}s"',
        "[store]",
        f'path = "{tmp / f"store{size}"}"',
    ]
    if args.polling_only:  # polling and storing: no rules, no hot keys, no doctor
        lines += ["[alerts]", "rule_files = []", "[hotkeys]", "enabled = false"]
        lines += ["[doctor]", "enabled = false"]
    for url in urls:
        lines += ["[[targets]]", f'url = "{url}"']
    config.write_text("\n".join(lines) + "\n")
    port = free_port()
    proc = subprocess.Popen(
        [
            CACHEWATCH,
            "serve",
            "-c",
            str(config),
            "--listen",
            f"127.0.0.1:{port}",
            "--alerts-state-dir",
            str(tmp / f"alerts{size}"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / f"serve{size}.log", "wb"),  # noqa: SIM115
    )
    metrics = f"http://127.0.0.1:{port}/metrics"
    try:
        started = time.monotonic()
        while True:
            try:
                scrape(metrics)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() - started > 120:
                    raise RuntimeError(f"serve did not start: see {tmp}/serve{size}.log") from None
                time.sleep(0.5)
        time.sleep(max(0.0, args.warmup - (time.monotonic() - started)))
        before = scrape(metrics)
        cpu0, t0 = proc_cpu_s(proc.pid), time.monotonic()
        rss = [(0.0, proc_rss_mib(proc.pid))]
        while time.monotonic() - t0 < args.seconds:
            time.sleep(min(10.0, args.seconds - (time.monotonic() - t0)))
            rss.append((time.monotonic() - t0, proc_rss_mib(proc.pid)))
        cpu, window = proc_cpu_s(proc.pid) - cpu0, time.monotonic() - t0
        if args.rss_trace:  # one figure a minute: where the RSS levels off, if it does
            trace = [f"{(t + args.warmup) / 60:.0f}m {r:.0f}" for t, r in rss[::6]]
            print(f"  RSS MiB by minute of uptime: {', '.join(trace)}", flush=True)
        after = scrape(metrics)
        uptime = time.monotonic() - started
    finally:
        stopping = time.monotonic()
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        print(f"  ({size} targets: serve stopped in {time.monotonic() - stopping:.1f}s)")

    def delta(name: str, labels: str = "") -> float:
        return after.get((name, labels), 0.0) - before.get((name, labels), 0.0)

    per_instance = {
        instance_of(labels): after[(name, labels)] - before.get((name, labels), 0.0)
        for name, labels in after
        if name == "cachewatch_polls_total"
    }
    polls = sum(per_instance.values())
    expected = window / args.interval
    starved = [i for i in healthy if per_instance.get(i, 0.0) < expected - 1]
    due = delta("cachewatch_scheduler_polls_due_total")
    late = delta("cachewatch_scheduler_polls_late_total")
    # RSS growth: least squares over the samples, per hour
    n = len(rss)
    mean_t = sum(t for t, _ in rss) / n
    mean_r = sum(r for _, r in rss) / n
    var = sum((t - mean_t) ** 2 for t, _ in rss) or 1.0
    slope = sum((t - mean_t) * (r - mean_r) for t, r in rss) / var  # MiB per second
    return {
        "targets": float(len(urls)),
        "servers": float(len(fleet.redis) + len(fleet.memcached) + len(fleet.hung)),
        "cpu_ms_per_poll": cpu * 1000 / max(polls, 1),
        "core_share": cpu / window,
        "rss_mib": rss[-1][1],
        "rss_growth_mib_per_h": slope * 3600,
        "rss_1h_mib": rss[-1][1] + slope * max(0.0, 3600 - uptime),
        "on_slot": 1 - late / due if due else float("nan"),
        "due": due,
        "starved": float(len(starved)),
        "polls": polls,
        "window_s": window,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,300,1000", help="target counts, comma-separated")
    parser.add_argument("--interval", type=float, default=10.0, help="poll interval, seconds")
    parser.add_argument("--timeout", type=float, default=5.0, help="poll timeout, seconds")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before measuring")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window per size")
    parser.add_argument("--broken", type=float, default=0.05, help="share of broken targets")
    parser.add_argument("--per-server", type=int, default=3, help="addresses per server")
    parser.add_argument("--rss-trace", action="store_true", help="print RSS once a minute")
    parser.add_argument(
        "--polling-only",
        action="store_true",
        help="serve with no alert rules, hot keys or doctor: polling and storing alone",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="cachewatch-scale-"))
    started = time.monotonic()
    fleet = start_fleet(max(sizes), args.per_server, args.broken)
    print(
        f"fleet: {len(fleet.redis)} redis-server + {len(fleet.memcached)} memcached + "
        f"{len(fleet.hung)} SIGSTOPped redis-server, {args.per_server} addresses each, "
        f"started in {time.monotonic() - started:.0f}s; interval {args.interval:g}s, "
        f"timeout {args.timeout:g}s, {args.broken:.0%} broken (half hang, half refuse); "
        + (
            "polling only"
            if args.polling_only
            else "serve with its default rules, hot keys, doctor"
        ),
        flush=True,
    )
    header = (
        f"{'targets':>7} {'CPU/poll':>9} {'core %':>7} {'RSS MiB':>8} {'RSS +MiB/h':>10} "
        f"{'RSS@1h':>7} {'on slot':>8} {'starved':>7} {'polls':>6} {'window':>6}"
    )
    rows = []
    try:
        for size in sizes:
            r = run_size(fleet, size, args, tmp)
            rows.append(
                f"{r['targets']:>7.0f} {r['cpu_ms_per_poll']:>7.2f}ms {r['core_share']:>7.1%} "
                f"{r['rss_mib']:>8.0f} {r['rss_growth_mib_per_h']:>10.0f} {r['rss_1h_mib']:>7.0f} "
                f"{r['on_slot']:>8.2%} {r['starved']:>7.0f} {r['polls']:>6.0f} "
                f"{r['window_s']:>5.0f}s"
            )
            print(rows[-1], flush=True)
    finally:
        fleet.stop()
    print(header)
    print("\n".join(rows))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
