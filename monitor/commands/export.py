"""`cachewatch export [-c FILE] [URL…] --listen ADDR`: the Prometheus exporter alone.

Polls the targets on their schedule and serves the latest samples of every target at
`/metrics` from memory (a scrape never waits on a slow target), plus redis_exporter's
multi-target probe `/scrape?target=redis://…` and cachewatch's own `cachewatch_*` metrics.
No store, no UI. Like `serve`: 127.0.0.1 unless told otherwise, a wider address only with
`[exporter]` auth (or `--allow-insecure-listen`), optional TLS (`tls_cert_file`/`_key_file`).
"""

from __future__ import annotations

import argparse

from monitor.commands.common import (
    add_config_options,
    fail,
    resolve_config,
    serve_until_signalled,
)
from monitor.config import ConfigError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("export", help="Prometheus exporter only (/metrics, /scrape)")
    add_config_options(parser)
    parser.add_argument(
        "--listen",
        metavar="ADDR",
        help="host:port to listen on (default: [exporter] listen, else 127.0.0.1:9121)",
    )
    parser.add_argument(
        "--allow-insecure-listen",
        action="store_true",
        help="allow a non-loopback address without auth (e.g. behind an authenticating proxy)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from monitor.exporter import SelfMetrics
    from monitor.exporter.settings import ExporterSettingsError, parse_exporter_settings
    from monitor.http.auth import AuthGate, InsecureListenError, check_listen
    from monitor.http.server import ListenError, parse_listen, serve_forever
    from monitor.runtime import Runtime
    from monitor.service import build_http_app

    try:
        config = resolve_config(args)
        settings = parse_exporter_settings(config.exporter)
    except ConfigError as exc:
        return fail(str(exc))
    except ExporterSettingsError as exc:
        return fail("\n".join(exc.problems))
    listen = args.listen or settings.listen
    try:
        host, _ = parse_listen(listen)
        allow = settings.allow_insecure_listen or args.allow_insecure_listen
        check_listen(host, listen, settings.auth, allow, "exporter")
    except (InsecureListenError, ListenError) as exc:
        return fail(str(exc))
    self_metrics = SelfMetrics()
    runtime = Runtime(config, observer=self_metrics, with_store=False)
    runtime.start_background()
    try:
        app = AuthGate(build_http_app(runtime, self_metrics, query_api=False), settings.auth)
        server = serve_forever(app, listen, settings.server)
    except ListenError as exc:
        runtime.stop_background()
        return fail(str(exc))
    return serve_until_signalled(
        server,
        runtime,
        ready_line=f"cachewatch export: {len(config.targets)} target(s), "
        f"metrics at {server.url}/metrics",
    )
