"""`cachewatch serve [-c FILE] [URL…] [--listen ADDR]`: collectors, store, alert engine,
the web dashboard, `/metrics` and the Prometheus query API in one process, on waitress
(threads). Listens on 127.0.0.1:8050 unless told otherwise, and refuses a non-loopback
address without auth unless `--allow-insecure-listen`. Ctrl-C or SIGTERM stops it; SIGHUP
reloads the config (targets, rule files, receivers and routes) without losing any state:
the store, alert state, silences and unchanged targets' pollers carry on. A config that does
not check out is refused with its problems, and the running one stays.

With `[store] backend = "prometheus"` and no targets it is a reader node
(`monitor/readernode.py`): it polls nothing and lists the targets from the upstream."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from monitor import servefile
from monitor.commands.common import (
    add_config_options,
    fail,
    resolve_config,
    serve_until_signalled,
)
from monitor.commands.extras import require_extra
from monitor.config import ConfigError
from monitor.readernode import is_reader, open_announced

__all__ = ["add_parser", "run"]

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


def run(args: argparse.Namespace) -> int:
    require_extra("web", "serve")
    from alerts.runner import AlertingRunner
    from alerts.service import AlertSettingsError, default_state_dir
    from monitor.doctor.runner import DoctorRunner
    from monitor.hotkeys_runner import HotKeysRunner, HotKeysSettingsError, RunningHotKeys
    from monitor.http import ListenError
    from monitor.http.settings import HttpSettingsError, parse_exporter_settings
    from monitor.sections import SettingsError
    from ui.web.settings import WebSettingsError, parse_web_settings

    try:
        config = resolve_config(args, need_targets=True, reader_ok=True)
        web = parse_web_settings(config.web)
        parse_exporter_settings(config.exporter)  # its scrape_allow applies to serve too
        base_dir = Path(args.config).resolve().parent if args.config else Path.cwd()
        state_dir = args.alerts_state_dir or default_state_dir()
        alerting = AlertingRunner(config.alerts, base_dir, state_dir)
        hotkeys = HotKeysRunner(config.hotkeys)
        doctor = DoctorRunner(config.doctor)
    except ConfigError as exc:
        return fail(str(exc))
    except (WebSettingsError, AlertSettingsError, HttpSettingsError, SettingsError) as exc:
        return fail("\n".join(exc.problems))
    except HotKeysSettingsError as exc:
        return fail(str(exc))
    listen = args.listen or web.listen

    from monitor.runtime import Runtime
    from ui.web.server import InsecureListenError, check_listen, run_web

    try:
        check_listen(listen, web.auth, web.allow_insecure_listen or args.allow_insecure_listen)
    except (InsecureListenError, ListenError) as exc:
        return fail(str(exc))
    try:
        upstream = open_announced(config, sys.stdout)
    except ValueError as exc:
        return fail(str(exc))
    runtime = Runtime(config)
    # a reader polls nothing: no hot-key detectors or namespace samplers (they talk to
    # servers), and no doctor (its findings ride on polls); its alert rules read the upstream
    parts = (alerting,) if upstream is not None else (alerting, hotkeys, doctor)
    for part in parts:
        runtime.on_started(part.start)
        runtime.on_stopping(part.stop)
    runtime.start_background()
    try:
        server = run_web(
            runtime,
            listen,
            alerting=alerting.service,
            hotkeys=RunningHotKeys(runtime, hotkeys)
            if hotkeys.enabled and upstream is None
            else None,
            auth=web.auth,
            theme=web.theme,
            allow_insecure_listen=True,  # checked above, before the engine started
            server=web.server,
            upstream=upstream,
        )
    except ListenError as exc:
        runtime.stop_background()
        return fail(str(exc))
    # `cachewatch query` on this machine asks this process instead of reading the store
    address = (
        servefile.announce(config.store.path, server.url, web.auth.enabled)
        if upstream is None and config.store.backend == "embedded"
        else None
    )
    try:
        return serve_until_signalled(
            server,
            runtime,
            reload=lambda: reload_config(args, runtime, alerting),
            ready_line=f"cachewatch: serving the dashboard, /metrics and /api/v1 on {server.url}",
        )
    finally:
        servefile.withdraw(address)


def reload_config(args: argparse.Namespace, runtime: Any, alerting: Any) -> bool:
    """SIGHUP: read the config again and apply its targets, rules, receivers and routes.
    Everything is checked first; on any problem nothing changes. One line either way."""
    from alerts.rules import RuleLoadError
    from alerts.runner import load_alerting
    from alerts.service import AlertSettingsError

    where = args.config or "the command line"
    try:
        config = resolve_config(args, need_targets=True, reader_ok=True)
        if is_reader(config) != is_reader(runtime.config):
            raise ConfigError(
                ["a reload cannot turn a reader node (no targets, backend = 'prometheus') "
                 "into one that polls, or back: restart cachewatch serve"]
            )  # fmt: skip
        base_dir = Path(args.config).resolve().parent if args.config else Path.cwd()
        settings, groups = load_alerting(config.alerts, base_dir)
    except (ConfigError, AlertSettingsError, RuleLoadError) as exc:
        problems = "\n  ".join(map(str, getattr(exc, "problems", [exc])))
        print(f"cachewatch: reload of {where} refused, keeping the running config:\n  "
              f"{problems}", file=sys.stderr, flush=True)  # fmt: skip
        return False
    try:
        added, removed = runtime.call(runtime.reload_targets(list(config.targets)))
        runtime.call(alerting.reload(settings, groups))
    except Exception:
        log.exception("reload of %s failed part-way", where)
        return False
    print(
        f"cachewatch: reloaded {where}: {len(config.targets)} target(s) "
        f"(+{added} -{removed} pollers), {len(groups)} rule group(s), "
        f"{len(settings.receivers)} receiver(s), {len(settings.routes)} route(s)",
        file=sys.stderr,
        flush=True,
    )
    return True
