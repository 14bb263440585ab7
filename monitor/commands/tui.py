"""`cachewatch tui [-c FILE] [URL…] [--attach URL]`: the terminal UI.

Without `--attach` it polls the targets itself (a cluster seed discovers the cluster) into
an embedded store: the configured one with `-c`/`--store`, else a temporary one, so a
quick look never competes with a running `cachewatch serve` for its store. It runs the alert
rules and the hot-key detectors as `serve` does (with `-c`: the config's rules and
receivers, so don't run it next to a `serve` of the same config: attach to that instead).
With `--attach URL` it polls nothing and reads a running `cachewatch serve` through its
query API. With `[store] backend = "prometheus"` and no targets it is a reader node
(`monitor/readernode.py`): it polls nothing and lists the targets from that Prometheus.
Textual is imported only here, inside `run`, so the core never loads it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from monitor.commands.common import add_config_options, duration_arg, fail, resolve_config
from monitor.commands.extras import require_extra
from monitor.config import ConfigError
from monitor.readernode import open_announced

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("tui", help="the terminal UI")
    add_config_options(parser)
    parser.add_argument(
        "--attach",
        metavar="URL",
        help="read from a running `cachewatch serve` (e.g. http://127.0.0.1:8050) "
        "instead of polling",
    )
    parser.add_argument(
        "--refresh",
        type=duration_arg,
        default=1.0,
        metavar="D",
        help="screen refresh interval (default 1s)",
    )
    parser.add_argument("--log", metavar="FILE", help="write log lines here (default: none)")
    parser.set_defaults(run=run)


def _log_to(path: str | None) -> None:
    """Log lines would tear the screen: send them to a file, or nowhere."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if path:
        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    else:
        root.addHandler(logging.NullHandler())


def run(args: argparse.Namespace) -> int:
    require_extra("tui", "tui")
    if args.attach:
        if args.urls or args.config:
            return fail("--attach reads a running server: give no URLs or config with it")
        from monitor.readmodel import RemoteSource

        try:
            source = RemoteSource(args.attach)
        except ValueError as exc:
            return fail(str(exc))
        _log_to(args.log)
        from ui.tui import run_tui

        run_tui(source, refresh_s=args.refresh)
        return 0
    from alerts.runner import AlertingRunner
    from alerts.service import AlertSettingsError, default_state_dir
    from monitor.doctor.runner import DoctorRunner
    from monitor.hotkeys_runner import HotKeysRunner, HotKeysSettingsError, RunningHotKeys
    from monitor.sections import SettingsError

    with tempfile.TemporaryDirectory(prefix="cachewatch-tui-") as tmp:
        try:
            config = resolve_config(args, need_targets=True, reader_ok=True)
            if not args.config and not args.store:
                config = replace(config, store=replace(config.store, path=Path(tmp) / "store"))
            # without a config file: the default rule pack, no receivers, state thrown away
            base_dir = Path(args.config).resolve().parent if args.config else Path.cwd()
            state_dir = default_state_dir() if args.config else Path(tmp) / "alerts"
            alerting = AlertingRunner(config.alerts, base_dir, state_dir)
            hotkeys = HotKeysRunner(config.hotkeys)
            doctor = DoctorRunner(config.doctor)
        except ConfigError as exc:
            return fail(str(exc))
        except SettingsError as exc:
            return fail("\n".join(exc.problems))
        except AlertSettingsError as exc:
            return fail("\n".join(exc.problems))
        except HotKeysSettingsError as exc:
            return fail(str(exc))
        try:
            upstream = open_announced(config, sys.stderr)
        except ValueError as exc:
            return fail(str(exc))
        _log_to(args.log)
        from monitor.readmodel import LocalSource
        from monitor.readmodel.reader import ReaderSource
        from monitor.runtime import Runtime
        from ui.tui import run_tui

        runtime = Runtime(config)
        # a reader polls nothing: no hot-key detectors or namespace samplers (they talk to
        # servers), and no doctor (its findings ride on polls); its alert rules read the upstream
        parts = (alerting,) if upstream is not None else (alerting, hotkeys, doctor)
        for part in parts:
            runtime.on_started(part.start)
            runtime.on_stopping(part.stop)
        try:
            runtime.start_background()
        except Exception as exc:
            return fail(f"cannot start polling: {exc}")
        try:
            if upstream is not None:
                reader = ReaderSource(runtime, upstream, alerting=alerting.service)
                run_tui(reader, refresh_s=args.refresh, note=f"reader of {upstream.describe}")
            else:
                local = LocalSource(
                    runtime,
                    alerting=alerting.service,
                    hotkeys=RunningHotKeys(runtime, hotkeys) if hotkeys.enabled else None,
                )
                run_tui(local, refresh_s=args.refresh)
        finally:
            runtime.stop_background()
    return 0
