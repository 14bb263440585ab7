"""`run_web`: the dashboard, `/metrics`, the query API and the health endpoints on one
waitress server (threads, not forked workers), over a running `Runtime`."""

from __future__ import annotations

import logging
from typing import Any

from monitor.http import RunningServer, parse_listen, serve_forever
from monitor.http.auth import InsecureListenError
from monitor.http.auth import check_listen as check_host
from monitor.http.settings import ServerSettings
from monitor.readmodel.source import HotKeySampling
from monitor.readmodel.upstream import UpstreamTargets
from monitor.service import build_http_app
from ui.web.security import AuthSettings, SecureApp, content_security_policy

__all__ = ["run_web", "InsecureListenError", "build_wsgi_app", "check_listen"]

log = logging.getLogger("cachewatch.web")


def check_listen(listen: str, auth: AuthSettings | None, allow_insecure_listen: bool) -> None:
    """InsecureListenError for a non-loopback `listen` without auth (and no opt-out)."""
    host, _ = parse_listen(listen)
    check_host(host, listen, auth, allow_insecure_listen, "web")


def build_wsgi_app(
    runtime: Any,
    *,
    alerting: Any = None,
    hotkeys: HotKeySampling | None = None,
    auth: AuthSettings | None = None,
    theme: str = "dark",
    upstream: UpstreamTargets | None = None,
) -> SecureApp:
    """`upstream`: a reader node's target list (`monitor/readernode.py`); the runtime then
    polls nothing and the pages read the targets from there."""
    from alerts.promapi import EngineRulesSource
    from monitor.readmodel.reader import ReaderSource
    from ui.web.app import create_app
    from ui.web.data import WebData

    if upstream is not None:
        data = WebData.for_reader(ReaderSource(runtime, upstream, alerting), alerting)
    else:
        data = WebData.from_runtime(runtime, alerting=alerting, hotkeys=hotkeys)
    can_write = auth is not None and auth.enabled
    dash_app = create_app(data, can_write=can_write, default_theme=theme)
    # the same HTTP surface as `export` (metrics, self metrics, scrape, query API, events),
    # plus the alert engine's rules and alerts, with the dashboard at /
    rules = EngineRulesSource(alerting.engine) if alerting is not None else None
    router = build_http_app(
        runtime,
        query_api=True,
        root=dash_app.server,
        rules=rules,
        hotkeys=hotkeys,
        upstream=upstream,
    )
    return SecureApp(router, auth, content_security_policy(dash_app.csp_hashes()))


def run_web(
    runtime: Any,
    listen: str = "127.0.0.1:8050",
    *,
    alerting: Any = None,
    hotkeys: HotKeySampling | None = None,
    auth: AuthSettings | None = None,
    theme: str = "dark",
    allow_insecure_listen: bool = False,
    server: ServerSettings | None = None,
    upstream: UpstreamTargets | None = None,
) -> RunningServer:
    """Serve the dashboard for a started `runtime` (store attached) in a background thread;
    `server.url` is where it listens, `server.stop()` ends it. Raises InsecureListenError
    for a non-loopback `listen` without auth unless `allow_insecure_listen`. `server`: TLS
    and connection limits (`[web]`); `upstream`: serve as a reader node."""
    check_listen(listen, auth, allow_insecure_listen)
    app = build_wsgi_app(
        runtime, alerting=alerting, hotkeys=hotkeys, auth=auth, theme=theme, upstream=upstream
    )
    running = serve_forever(app, listen, server)
    log.info("dashboard on %s", running.url)
    return running
