"""`run_web`: the dashboard, `/metrics`, the query API and the health endpoints on one
waitress server (threads, not forked workers), over a running `Runtime`."""

from __future__ import annotations

import logging
from typing import Any

from monitor.http import RunningServer, parse_listen, serve_forever
from monitor.service import build_http_app
from ui.web.security import AuthSettings, SecureApp, content_security_policy
from ui.web.settings import is_loopback

__all__ = ["run_web", "InsecureListenError", "build_wsgi_app"]

log = logging.getLogger("cachewatch.web")


class InsecureListenError(ValueError):
    """Binding beyond loopback without auth, and without the explicit opt-out."""


def check_listen(listen: str, auth: AuthSettings | None, allow_insecure_listen: bool) -> None:
    host, _ = parse_listen(listen)
    if is_loopback(host) or (auth is not None and auth.enabled) or allow_insecure_listen:
        return
    raise InsecureListenError(
        f"refusing to listen on {listen!r} without authentication: anyone who can reach it could "
        "read the fleet and silence alerts. Set [web] auth_username + auth_password_env (or "
        "bearer_token_env), or pass --allow-insecure-listen if a proxy in front handles auth."
    )


def build_wsgi_app(
    runtime: Any,
    *,
    alerting: Any = None,
    hotkeys: Any = None,
    auth: AuthSettings | None = None,
    theme: str = "dark",
) -> SecureApp:
    from ui.web.app import create_app
    from ui.web.data import WebData

    data = WebData.from_runtime(runtime, alerting=alerting, hotkeys=hotkeys)
    can_write = auth is not None and auth.enabled
    dash_app = create_app(data, can_write=can_write, default_theme=theme)
    # the same HTTP surface as `export` (metrics, self metrics, scrape, query API, events),
    # with the dashboard at /
    router = build_http_app(runtime, query_api=True, root=dash_app.server)
    return SecureApp(router, auth, content_security_policy(dash_app.csp_hashes()))


def run_web(
    runtime: Any,
    listen: str = "127.0.0.1:8050",
    *,
    alerting: Any = None,
    hotkeys: Any = None,
    auth: AuthSettings | None = None,
    theme: str = "dark",
    allow_insecure_listen: bool = False,
) -> RunningServer:
    """Serve the dashboard for a started `runtime` (store attached) in a background thread;
    `server.url` is where it listens, `server.stop()` ends it. Raises InsecureListenError
    for a non-loopback `listen` without auth unless `allow_insecure_listen`."""
    check_listen(listen, auth, allow_insecure_listen)
    app = build_wsgi_app(runtime, alerting=alerting, hotkeys=hotkeys, auth=auth, theme=theme)
    server = serve_forever(app, listen)
    log.info("dashboard on %s", server.url)
    return server
