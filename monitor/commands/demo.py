"""`cachewatch demo [--tui|--web]`: local Redis (standalone + cluster) and memcached with a
realistic workload, polled and shown. Ctrl-C stops everything it started."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.commands.common import duration_arg, fail
from monitor.commands.extras import require_extra
from monitor.config import Config, config_from_urls
from monitor.localservers import have_binary

if TYPE_CHECKING:
    from alerts.runner import AlertingRunner
    from monitor.demo.fleet import DemoFleet
    from monitor.hotkeys_runner import HotKeysRunner
    from monitor.runtime import Runtime

log = logging.getLogger("cachewatch.demo")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("demo", help="watch local servers under a realistic load")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--tui",
        action="store_true",
        help="open the terminal UI (the default on a terminal; the web dashboard runs beside it)",
    )
    mode.add_argument("--web", action="store_true", help="serve only the web dashboard")
    parser.add_argument(
        "--interval", type=duration_arg, default=1.0, metavar="D", help="poll interval (default 1s)"
    )
    parser.add_argument("--store", metavar="PATH", help="store path (default: a temp dir)")
    parser.add_argument("--no-cluster", action="store_true", help="skip the 3+3 cluster")
    parser.add_argument("--listen", default="127.0.0.1:8050", help="web dashboard address")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    require_extra("demo", "demo")
    missing = [b for b in ("redis-server", "memcached") if not have_binary(b)]
    if not args.no_cluster and not have_binary("redis-cli"):
        missing.append("redis-cli (package redis-tools)")
    if missing:
        return fail(
            "the demo needs " + ", ".join(missing) + " (apt-get install redis-server "
            "redis-tools memcached)"
        )
    from alerts.runner import AlertingRunner
    from monitor.demo.fleet import demo_fleet
    from monitor.demo.workload import WorkloadSpec, start_workload
    from monitor.doctor.runner import DoctorRunner
    from monitor.hotkeys_runner import HotKeysRunner
    from monitor.runtime import Runtime

    # SIGINT, SIGTERM and SIGHUP all end the demo like Ctrl-C, so everything it started is
    # stopped. SIGINT too, explicitly: a shell starts a background job with SIGINT ignored,
    # and Python then leaves it ignored (`scripts/demo &` could not be stopped with kill -INT).
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    with tempfile.TemporaryDirectory(prefix="cachewatch-demo-") as tmp:
        store_path = Path(args.store) if args.store else Path(tmp) / "store"
        what = "redis (standalone)" if args.no_cluster else "redis (standalone + 3x2 cluster)"
        print(f"cachewatch demo: starting {what} and memcached ...", flush=True)
        with demo_fleet(cluster=not args.no_cluster) as fleet:
            config = config_from_urls(
                fleet.urls, Config(), interval_s=args.interval, store_path=str(store_path)
            )
            cluster_seed = None if args.no_cluster else ("127.0.0.1", fleet.cluster.nodes[0].port)
            spec = WorkloadSpec(
                redis_url=fleet.standalone.url,
                cluster_seed=cluster_seed,
                memcached=("127.0.0.1", fleet.memcached.port),
            )
            process, stop = start_workload(spec)
            _silence_fresh_start(Path(tmp) / "alerts", fleet)
            alerting = AlertingRunner({}, Path.cwd(), Path(tmp) / "alerts")
            # the demo is local: background bursts (auto: only with headroom) rank every
            # target's keys, whatever its policy
            hotkeys = HotKeysRunner({"monitor": "auto"})
            runtime = Runtime(config)
            for part in (alerting, hotkeys, DoctorRunner(config.doctor)):
                runtime.on_started(part.start)
                runtime.on_stopping(part.stop)
            runtime.start_background()
            try:
                return _show(args, runtime, alerting, hotkeys)
            except KeyboardInterrupt:
                return 0
            finally:
                stop.set()
                process.join(5)
                if process.is_alive():
                    process.kill()
                runtime.stop_background()


#: the restart rules fire while a server is younger than 5 minutes; the silence outlasts that
_FRESH_START_SILENCE_S = 330


def _silence_fresh_start(state_dir: Path, fleet: DemoFleet) -> None:
    """The demo has just started every server it watches: the pack's restart alerts
    (uptime under 5 minutes) would fire for all of them, about the demo itself. A silence
    named for exactly those alerts and servers keeps the start quiet and says why; it
    expires on its own, and every other alert fires as usual."""
    from alerts.silences import SilenceStore, parse_matcher

    def one_of(addresses: list[str]) -> str:
        return "|".join(re.escape(a) for a in addresses)

    silences = SilenceStore(state_dir)
    comment = "cachewatch demo: these servers were just started by the demo"
    for rule, addresses in (
        ("RedisRestarted", fleet.redis_addresses),
        ("MemcachedRestarted", [fleet.memcached.address]),
    ):
        matchers = [
            parse_matcher(f"alertname={rule}"),
            parse_matcher(f"instance=~{one_of(addresses)}"),
        ]
        silences.add(matchers, _FRESH_START_SILENCE_S * 1000, comment, "cachewatch demo")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _show(
    args: argparse.Namespace, runtime: Runtime, alerting: AlertingRunner, hotkeys: HotKeysRunner
) -> int:
    """The TUI in the foreground with the dashboard beside it, the dashboard alone (--web),
    or, where there is no terminal to draw on, the plain live table."""
    from monitor.hotkeys_runner import RunningHotKeys
    from monitor.http.server import ListenError
    from ui.web.server import run_web

    sampling = RunningHotKeys(runtime, hotkeys)
    try:
        web = run_web(runtime, args.listen, alerting=alerting.service, hotkeys=sampling)
    except ListenError as exc:  # the servers it started are stopped by the caller
        return fail(f"{exc} (choose another address with --listen)")
    print(f"cachewatch demo: dashboard at {web.url}", flush=True)
    try:
        if args.web:
            print("cachewatch demo: Ctrl-C stops everything", flush=True)
            threading.Event().wait()
        elif args.tui or sys.stdout.isatty():
            from monitor.readmodel import LocalSource
            from ui.tui import run_tui

            run_tui(LocalSource(runtime, alerting=alerting.service, hotkeys=sampling))
        else:
            from monitor.demo.table import run_live_table

            run_live_table(runtime, alerting=alerting.service)
    finally:
        web.stop()
    return 0
