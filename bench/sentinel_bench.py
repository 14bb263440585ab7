"""Sentinel sets: how fast cachewatch follows a failover, and what polling a Sentinel costs.

Starts a real set (three Sentinels, a primary, two replicas; down-after 1 s) and a Runtime
on its `redis+sentinel://` URL, polling every `--interval` with periodic discovery off (ten
minutes), so following comes from the polls alone. Then, `--failovers` times each:

- `SENTINEL FAILOVER`: the time until the Sentinels name the new primary ("switch"), and
  from then until cachewatch polls it labelled `role=primary` ("follow");
- a killed primary (SIGKILL; brought back afterwards, and Sentinel makes it a replica):
  the same two figures, the switch now including down-after-milliseconds and the election.

Then CPU per Sentinel poll (INFO ALL + the SENTINEL reads + the poll itself, this process's
`time.process_time`) against Debian's prometheus-redis-exporter CPU per `/scrape` of the
same Sentinel (/proc/PID/stat). Prints figures; asserts nothing.

    .venv/bin/python bench/sentinel_bench.py --failovers 5 --rounds 300
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from redis_poll_bench import measure_exporter

from monitor.config import Config, config_from_urls
from monitor.localservers import LocalSentinelSet
from monitor.poller import TargetPoller
from monitor.runtime import Runtime, collector_factory
from monitor.targets import parse_target_url


def wait(condition: Callable[[], bool], timeout_s: float = 120.0) -> float:
    """Poll `condition` every 10 ms; returns when it held (monotonic seconds)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.01)
    raise TimeoutError("condition not met")


def primary_of(runtime: Runtime) -> str:
    return next(
        (
            s.target.instance
            for s in runtime.statuses()
            if dict(s.target.labels).get("role") == "primary" and s.up
        ),
        "",
    )


def one_failover(sentinels: LocalSentinelSet, runtime: Runtime, kill: bool) -> tuple[float, float]:
    old = sentinels.primary_address()
    wait(lambda: primary_of(runtime) == old)
    started = time.monotonic()
    if kill:
        sentinels.node(old).kill()
    else:
        with redis.Redis(port=sentinels.live_sentinels()[0].port) as conn:
            conn.execute_command("SENTINEL", "FAILOVER", sentinels.master_name)
    switched = wait(lambda: sentinels.primary_address() != old)
    new = sentinels.primary_address()
    followed = wait(lambda: primary_of(runtime) == new)
    if kill:
        sentinels.node(old).restart()  # back as a replica, once Sentinel converts it
    sentinels.wait_settled(120)
    return switched - started, followed - switched


def measure_following(sentinels: LocalSentinelSet, args: argparse.Namespace) -> None:
    config = config_from_urls([sentinels.seed_url], Config(), interval_s=args.interval)
    config = replace(
        config,
        global_=replace(config.global_, discovery_interval_s=600.0),
        store=replace(config.store, path=Path(args.store)),
    )
    runtime = Runtime(config)
    runtime.start_background()
    try:
        for kill in (False, True):
            switch, follow = [], []
            for _ in range(args.failovers):
                took_switch, took_follow = one_failover(sentinels, runtime, kill)
                switch.append(took_switch)
                follow.append(took_follow)
            what = "killed primary   " if kill else "SENTINEL FAILOVER"
            print(
                f"{what}: Sentinels switch median {statistics.median(switch):.2f} s "
                f"(max {max(switch):.2f}); cachewatch follows after the switch median "
                f"{statistics.median(follow):.2f} s (max {max(follow):.2f}; poll interval "
                f"{args.interval:g} s)"
            )
    finally:
        runtime.stop_background()


async def cpu_per_poll(address: str, rounds: int) -> tuple[float, int]:
    target = parse_target_url(f"redis://{address}", timeout_s=5.0)
    poller = TargetPoller(target, collector_factory(Config())(target))
    await poller.poll()  # warm-up: connect, probe
    start = time.process_time()
    for _ in range(rounds):
        await poller.poll()
    cpu = time.process_time() - start
    samples = len(poller.status.last_batch or ())
    await poller.close()
    return cpu * 1000 / rounds, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failovers", type=int, default=5, help="of each kind")
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval, seconds")
    parser.add_argument("--rounds", type=int, default=300, help="polls for the CPU figure")
    parser.add_argument("--repeat", type=int, default=3, help="CPU runs; the median is reported")
    parser.add_argument("--store", default="/tmp/cachewatch-sentinel-bench-store")
    args = parser.parse_args()
    sentinels = LocalSentinelSet().start()
    try:
        measure_following(sentinels, args)
        sentinel = sentinels.sentinel_nodes[0]
        ours: list[float] = []
        theirs: list[float] = []
        samples = 0
        for _ in range(args.repeat):
            cpu, samples = asyncio.run(cpu_per_poll(sentinel.address, args.rounds))
            ours.append(cpu)
            exporter: Any = measure_exporter([sentinel], args.rounds)  # type: ignore[list-item]
            if exporter is not None:
                theirs.append(exporter)
        print(
            f"cachewatch CPU per Sentinel poll ({samples} samples): median "
            f"{statistics.median(ours):.3f} ms (runs {' '.join(f'{c:.3f}' for c in ours)})"
        )
        if theirs:
            print(
                f"prometheus-redis-exporter CPU per Sentinel scrape: median "
                f"{statistics.median(theirs):.3f} ms "
                f"(runs {' '.join(f'{c:.3f}' for c in theirs)})"
            )
    finally:
        sentinels.stop()


if __name__ == "__main__":
    main()
