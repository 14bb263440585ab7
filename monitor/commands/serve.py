"""`cachewatch serve [-c FILE] [URL…] [--listen ADDR]`: collectors, store, alert engine,
the web dashboard, `/metrics` and the Prometheus query API in one process, on waitress
(threads). Listens on 127.0.0.1:8050 unless told otherwise, and refuses a non-loopback
address without auth unless `--allow-insecure-listen`. Ctrl-C or SIGTERM stops it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import threading
from pathlib import Path
from typing import Any

from monitor.commands.common import add_config_options, fail, resolve_config
from monitor.config import ConfigError

__all__ = ["add_parser", "run", "AlertingRunner"]

log = logging.getLogger("cachewatch.serve")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve", help="collect, alert, and serve the dashboard, /metrics and the query API"
    )
    add_config_options(parser)
    parser.add_argument(
        "--listen",
        metavar="ADDR",
        help="host:port to serve on (default from [web] listen, else 127.0.0.1:8050)",
    )
    parser.add_argument(
        "--allow-insecure-listen",
        action="store_true",
        help="allow a non-loopback address without auth (e.g. behind an authenticating proxy)",
    )
    parser.add_argument(
        "--alerts-state-dir",
        type=Path,
        metavar="DIR",
        help="where alert state and silences live (default: the user's data directory, "
        "as for `cachewatch alerts`)",
    )
    parser.set_defaults(run=run)


class AlertingRunner:
    """Runs the alert engine inside the runtime's loop once polling has started."""

    def __init__(self, table: dict[str, Any], base_dir: Path, state_dir: Path) -> None:
        from alerts.service import parse_alert_settings

        self._settings = parse_alert_settings(table, base_dir)
        self._state_dir = state_dir
        self.service: Any = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, runtime: Any) -> None:
        from alerts.querier import EngineQuerier
        from alerts.service import AlertingService
        from monitor.query import Engine

        self.service = AlertingService.from_settings(
            self._settings, EngineQuerier(Engine(runtime.store)), runtime.store, self._state_dir
        )
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.service.run(self._stop))

    async def stop(self) -> None:
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await self._task


def run(args: argparse.Namespace) -> int:
    from alerts.service import AlertSettingsError, default_state_dir
    from monitor.http import ListenError
    from ui.web.settings import WebSettingsError, parse_web_settings

    try:
        config = resolve_config(args, need_targets=True)
        web = parse_web_settings(config.web)
    except ConfigError as exc:
        return fail(str(exc))
    except WebSettingsError as exc:
        return fail("\n".join(exc.problems))
    listen = args.listen or web.listen
    base_dir = Path(args.config).resolve().parent if args.config else Path.cwd()
    try:
        alerting = AlertingRunner(
            config.alerts, base_dir, args.alerts_state_dir or default_state_dir()
        )
    except AlertSettingsError as exc:
        return fail("\n".join(exc.problems))

    from monitor.runtime import Runtime
    from ui.web.server import InsecureListenError, check_listen, run_web

    try:
        check_listen(listen, web.auth, web.allow_insecure_listen or args.allow_insecure_listen)
    except (InsecureListenError, ListenError) as exc:
        return fail(str(exc))
    runtime = Runtime(config)
    runtime.on_started(alerting.start)
    runtime.start_background()
    try:
        server = run_web(
            runtime,
            listen,
            alerting=alerting.service,
            auth=web.auth,
            theme=web.theme,
            allow_insecure_listen=True,  # checked above, before the engine started
        )
    except ListenError as exc:
        runtime.stop_background()
        return fail(str(exc))
    print(f"cachewatch: serving the dashboard, /metrics and /api/v1 on {server.url}", flush=True)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        stopping.wait()
    finally:
        server.stop()
        try:
            runtime.call(alerting.stop())
        except Exception:
            log.exception("stopping the alert engine")
        runtime.stop_background()
    return 0
