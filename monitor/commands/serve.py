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

__all__ = ["add_parser", "run", "AlertingRunner", "HotKeysRunner", "hotkey_options"]

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


def hotkey_options(table: dict[str, Any]) -> Any:
    """`[hotkeys]` as `HotKeyOptions`; raises ValueError naming the bad key."""
    from collectors.hotkeys import HotKeyOptions
    from monitor.durations import parse_duration

    defaults = HotKeyOptions()

    def seconds(key: str, default: float) -> float:
        try:
            return parse_duration(str(table[key])) if key in table else default
        except ValueError as exc:
            raise ValueError(f"hotkeys.{key}: {exc}") from None

    try:
        return HotKeyOptions(
            top=int(table.get("top", defaults.top)),
            window_s=seconds("window", defaults.window_s),
            command_budget_per_s=float(table.get("command_budget", defaults.command_budget_per_s)),
            big_keys=bool(table.get("big_keys", defaults.big_keys)),
            monitor=bool(table.get("monitor", defaults.monitor)),
            burst_s=seconds("monitor_burst", defaults.burst_s),
            burst_every_s=seconds("monitor_every", defaults.burst_every_s),
            metadump=bool(table.get("metadump", defaults.metadump)),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"[hotkeys]: {exc}") from None


class HotKeysRunner:
    """One hot-key detector per polled target, stepped on the poll interval in the engine's
    loop; `reports()` hands the web pages the reports of the last step (made in the loop,
    so pages never read a detector mid-step)."""

    def __init__(self, options: Any, interval_s: float) -> None:
        self._options = options
        self._interval_s = max(interval_s, 1.0)
        self._detectors: dict[str, Any] = {}
        self._reports: tuple[Any, ...] = ()
        self._runtime: Any = None

    def reports(self) -> tuple[Any, ...]:
        return self._reports

    async def start(self, runtime: Any) -> None:
        self._runtime = runtime
        runtime.scheduler.add_periodic("hotkeys", self._interval_s, self._step)

    async def _step(self) -> None:
        from collectors.hotkeys import HotKeyDetector

        current = {s.target.instance: s.target for s in self._runtime.statuses()}
        for instance in set(self._detectors) - set(current):
            await self._detectors.pop(instance).close()
        for instance, target in current.items():
            if instance not in self._detectors:
                self._detectors[instance] = HotKeyDetector(target, self._options)
        detectors = list(self._detectors.values())
        try:
            async with asyncio.timeout(self._interval_s * 0.8):
                results = await asyncio.gather(
                    *(d.step() for d in detectors), return_exceptions=True
                )
        except TimeoutError:
            results = []
        for detector, result in zip(detectors, results, strict=False):
            if isinstance(result, Exception):
                log.debug("hot keys on %s: %s", detector.instance, type(result).__name__)
        self._reports = tuple(d.report() for d in detectors)

    async def stop(self) -> None:
        for detector in self._detectors.values():
            await detector.close()
        self._detectors.clear()


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

    hotkeys: HotKeysRunner | None = None
    if config.hotkeys.get("enabled", False):
        try:
            options = hotkey_options(config.hotkeys)
        except ValueError as exc:
            return fail(str(exc))
        intervals = [t.interval_s for t in config.targets] or [10.0]
        hotkeys = HotKeysRunner(options, min(intervals))

    from monitor.runtime import Runtime
    from ui.web.server import InsecureListenError, check_listen, run_web

    try:
        check_listen(listen, web.auth, web.allow_insecure_listen or args.allow_insecure_listen)
    except (InsecureListenError, ListenError) as exc:
        return fail(str(exc))
    runtime = Runtime(config)
    runtime.on_started(alerting.start)
    if hotkeys is not None:
        runtime.on_started(hotkeys.start)
    runtime.start_background()
    try:
        server = run_web(
            runtime,
            listen,
            alerting=alerting.service,
            hotkeys=hotkeys.reports if hotkeys is not None else None,
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
        for component in (alerting, hotkeys):
            if component is None:
                continue
            try:
                runtime.call(component.stop())
            except Exception:
                log.exception("stopping %s", type(component).__name__)
        runtime.stop_background()
    return 0
