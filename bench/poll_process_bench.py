"""CPU per poll of the whole `cachewatch poll` process (scheduler, store, self metrics and
all), against Debian's prometheus-redis-exporter CPU per `/scrape` of the same servers.

Starts `--servers` real redis-server processes and loads them with redis-benchmark (so
commandstats, latency histograms and keyspace are populated), then, A/B/A in one run:

- A: `cachewatch poll URL... --interval 1s --store TMP` as a subprocess. After `--warmup`
  seconds its CPU (utime + stime from /proc) is read over `--seconds`; the polls are the
  `LATENCY LATEST` calls the servers counted in that window (one per poll).
- B: one exporter process (`--redis.addr=` empty: multi-target mode); this process requests
  `/scrape?target=redis://...` for every server once per interval, paced like the poller,
  and divides the exporter's CPU over the same window by the scrapes answered.

Prints figures; asserts nothing.

    .venv/bin/python bench/poll_process_bench.py --servers 20 --seconds 30
    .venv/bin/python bench/poll_process_bench.py --servers 20 --seconds 30 --side-by-side 3
    .venv/bin/python bench/poll_process_bench.py --servers 20 --seconds 120 --side-by-side 2 \
        --versus DIR     # this tree against another checkout, at the same time
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from redis_poll_bench import EXPORTER, load

from monitor.localservers import LocalRedis, free_port

CACHEWATCH = [str(Path(sys.executable).with_name("cachewatch"))]
#: where `cachewatch` runs from; `--tree DIR` runs another checkout's code (a baseline)
TREE: list[str | None] = [None]


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def command_calls(servers: list[LocalRedis], command: str) -> int:
    """Sum of `cmdstat_<command>` calls over the servers."""
    import redis

    total = 0
    for server in servers:
        client = redis.Redis(port=server.port)
        stats = client.info("commandstats")
        total += int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))
        client.close()
    return total


def measure_cachewatch(
    servers: list[LocalRedis], seconds: float, warmup: float, store: Path, tree: str | None = None
) -> tuple[float, int, float]:
    """(ms CPU per poll, polls, RSS MiB) of one `cachewatch poll` process (run from `tree`,
    a checkout, when given: `python -m monitor` there)."""
    urls = [s.url for s in servers]
    command = [sys.executable, "-m", "monitor"] if tree else CACHEWATCH
    proc = subprocess.Popen(
        [*command, "poll", *urls, "--interval", "1s", "--store", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tree or TREE[0],
    )
    try:
        time.sleep(warmup)
        before_cpu, before_calls = proc_cpu_s(proc.pid), command_calls(servers, "latency|latest")
        time.sleep(seconds)
        cpu = proc_cpu_s(proc.pid) - before_cpu
        polls = command_calls(servers, "latency|latest") - before_calls
        rss = proc_rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    return cpu * 1000 / max(polls, 1), polls, rss


def measure_side_by_side(
    ours: list[LocalRedis], theirs: list[LocalRedis], seconds: float, warmup: float, store: Path
) -> tuple[float, int, float | None]:
    """Both at once, each on its own half of identically loaded servers: the two processes
    meet the same machine load at the same moments (on a shared machine, runs one after
    the other do not)."""
    result: list[float | None] = [None]
    thread = threading.Thread(
        target=lambda: result.__setitem__(0, measure_exporter(theirs, seconds, warmup))
    )
    thread.start()
    cw, polls, _ = measure_cachewatch(ours, seconds, warmup, store)
    thread.join()
    return cw, polls, result[0]


def measure_versus(
    ours: list[LocalRedis],
    theirs: list[LocalRedis],
    seconds: float,
    warmup: float,
    tmp: Path,
    tree: str,
) -> tuple[float, float]:
    """This tree's `poll` and another checkout's, at the same time, each on its own half of
    identically loaded servers: (ms CPU per poll here, there)."""
    result: list[float] = [0.0]
    thread = threading.Thread(
        target=lambda: result.__setitem__(
            0, measure_cachewatch(theirs, seconds, warmup, tmp / "versus", tree)[0]
        )
    )
    thread.start()
    here = measure_cachewatch(ours, seconds, warmup, tmp / "here")[0]
    thread.join()
    return here, result[0]


def measure_exporter(servers: list[LocalRedis], seconds: float, warmup: float) -> float | None:
    if not Path(EXPORTER).exists():
        return None
    port = free_port()
    proc = subprocess.Popen(
        [EXPORTER, "--redis.addr=", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    urls = [f"{base}/scrape?target=redis://127.0.0.1:{s.port}" for s in servers]
    stop = threading.Event()
    scrapes = [0]

    def scrape_loop(url: str, offset: float) -> None:
        # one thread per target, on its own phase of a 1 s grid, as the poller spaces them
        next_at = time.monotonic() + offset
        while not stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                stop.wait(delay)
            if stop.is_set():
                return
            try:
                urllib.request.urlopen(url, timeout=5).read()
                scrapes[0] += 1
            except OSError:
                pass
            next_at += 1.0

    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(base + "/metrics", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.05)
        threads = [
            threading.Thread(target=scrape_loop, args=(url, i / len(urls)), daemon=True)
            for i, url in enumerate(urls)
        ]
        for thread in threads:
            thread.start()
        time.sleep(warmup)
        before_cpu, before_scrapes = proc_cpu_s(proc.pid), scrapes[0]
        time.sleep(seconds)
        cpu = proc_cpu_s(proc.pid) - before_cpu
        done = scrapes[0] - before_scrapes
        stop.set()
        for thread in threads:
            thread.join(10)
        return cpu * 1000 / max(done, 1)
    finally:
        proc.kill()
        proc.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window per run")
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--requests", type=int, default=5000, help="redis-benchmark -n each")
    parser.add_argument(
        "--side-by-side",
        type=int,
        default=0,
        metavar="N",
        help="instead of A/B/A: N runs of both processes at once, each on its own "
        "--servers identically loaded servers; the median ratio is reported",
    )
    parser.add_argument(
        "--tree",
        metavar="DIR",
        help="run cachewatch from this checkout (`python -m monitor` there), e.g. an older "
        "commit's `git archive` for a baseline in the same conditions",
    )
    parser.add_argument(
        "--versus",
        metavar="DIR",
        help="with --side-by-side: run another checkout's `cachewatch poll` (e.g. the commit "
        "before a change, `git archive C | tar -x -C DIR`) instead of the exporter",
    )
    args = parser.parse_args()
    if args.tree:
        CACHEWATCH[:] = [sys.executable, "-m", "monitor"]
        TREE[0] = args.tree
    servers: list[LocalRedis] = []
    tmp = Path(tempfile.mkdtemp(prefix="cachewatch-bench-"))
    try:
        total = args.servers * (2 if args.side_by_side else 1)
        for _ in range(total):
            servers.append(LocalRedis().start())
        load(servers, args.requests)
        if args.side_by_side:
            ours, theirs = servers[: args.servers], servers[args.servers :]
            ratios = []
            if args.versus:
                for run in range(args.side_by_side):
                    # the halves swap each run: neither side keeps the same servers
                    halves = (ours, theirs) if run % 2 == 0 else (theirs, ours)
                    here, there = measure_versus(
                        *halves, args.seconds, args.warmup, tmp / f"v{run}", args.versus
                    )
                    ratios.append(here / there)
                    print(
                        f"run {run + 1}: this tree {here:.3f} ms per poll, "
                        f"{args.versus} {there:.3f} ms: {here / there:.2f}x",
                        flush=True,
                    )
                print(f"median ratio this tree / {args.versus}: {statistics.median(ratios):.2f}x")
                return
            for run in range(args.side_by_side):
                cw, polls, exporter = measure_side_by_side(
                    ours, theirs, args.seconds, args.warmup, tmp / f"s{run}"
                )
                if exporter is None:
                    print("no exporter")
                    return
                ratios.append(cw / exporter)
                print(
                    f"run {run + 1}: cachewatch {cw:.3f} ms per poll ({polls} polls), "
                    f"exporter {exporter:.3f} ms per /scrape: {cw / exporter:.2f}x",
                    flush=True,
                )
            print(f"median ratio cachewatch / exporter: {statistics.median(ratios):.2f}x")
            return
        ours1, polls1, rss1 = measure_cachewatch(servers, args.seconds, args.warmup, tmp / "a")
        exporter = measure_exporter(servers, args.seconds, args.warmup)
        ours2, polls2, rss2 = measure_cachewatch(servers, args.seconds, args.warmup, tmp / "b")
        ours = (ours1 + ours2) / 2
        print(f"servers={args.servers} interval=1s window={args.seconds:g}s (A/B/A)")
        print(f"cachewatch poll process, CPU per poll: {ours1:.3f} ms ({polls1} polls), ", end="")
        print(f"{ours2:.3f} ms ({polls2} polls); RSS {rss1:.0f}/{rss2:.0f} MiB")
        if exporter is not None:
            print(f"prometheus-redis-exporter CPU per /scrape:  {exporter:.3f} ms")
            print(f"ratio cachewatch / exporter:                {ours / exporter:.2f}x")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
