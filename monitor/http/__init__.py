"""The HTTP server shared by `serve` and `export`.

app = make_app(latest_batches=..., metadata=..., probe=..., reader=...)
app.mount_root(dash_wsgi_app)          # optional: the web UI at /
server = serve_forever(app, "127.0.0.1:8050")
...
server.stop()
"""

from __future__ import annotations

from monitor.http.app import make_app
from monitor.http.server import ListenError, RunningServer, parse_listen, serve_forever
from monitor.http.wsgi import Router, WSGIApp

__all__ = [
    "make_app",
    "serve_forever",
    "parse_listen",
    "RunningServer",
    "ListenError",
    "Router",
    "WSGIApp",
]
