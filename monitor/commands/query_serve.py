"""`cachewatch query` answered by the `serve` that writes the store, when one does.

The running serve holds the whole head in memory and evaluates with the same engine, so its
answer is the one a read-only open of the store would give (from data a second fresher:
the log is flushed once a second), without reading the writer's log first (~2 s at a
thousand targets; docs/PERFORMANCE.md section 11). Whatever stands in the way (no serve, a
file left by a dead one, TLS, credentials this config does not have, a refused or slow
request, an answer that is not one) sends the command back to opening the store itself:
the answer never depends on which path gave it, only the time it takes.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from monitor import servefile
from monitor.config import Config
from monitor.query.errors import BadDataError

__all__ = ["ask_running_serve", "TIMEOUT_S"]

log = logging.getLogger("cachewatch.query")

#: a serve that does not answer in this time is not waited for: the store is opened
TIMEOUT_S = 5.0
#: Prometheus's (and serve's) limit of points per series in a range query
_MAX_POINTS = 11_000


def ask_running_serve(
    config: Config, expr: str, end_ms: int, range_ms: int | None, step_ms: int
) -> dict[str, Any] | None:
    """The running serve's answer (Prometheus's `data` object, what `QueryResult.to_api`
    gives), None when it cannot give one (open the store then).
    Raises QueryError for an expression the serve's engine refused as bad (`bad_data`):
    the local engine would refuse it the same way."""
    if config.store.backend != "embedded":
        return None
    address = servefile.find(config.store.path)
    if address is None or not address.url.startswith("http://"):
        return None  # TLS: the certificate names a host, not loopback; read the store
    headers = _credentials(config) if address.auth else {}
    if headers is None:
        log.debug("the serve at %s wants credentials this config does not give", address.url)
        return None
    if range_ms is None:
        path = "/api/v1/query"
        params = {"query": expr, "time": f"{end_ms / 1000:.3f}"}
    else:
        if range_ms / max(step_ms, 1) > _MAX_POINTS:
            return None
        path = "/api/v1/query_range"
        params = {
            "query": expr,
            "start": f"{(end_ms - range_ms) / 1000:.3f}",
            "end": f"{end_ms / 1000:.3f}",
            "step": f"{step_ms / 1000:.3f}",
        }
    url = f"{address.url}{path}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = _error_body(exc)
        if body is None:
            log.debug("the serve at %s answered HTTP %s", address.url, exc.code)
            return None
    except (OSError, ValueError) as exc:
        log.debug("the serve at %s did not answer: %s", address.url, exc)
        return None
    if body.get("status") == "error":
        if body.get("errorType") == "bad_data":
            raise BadDataError(str(body.get("error", "")))
        return None  # a limit or timeout of the server's: the local engine may do it
    data = body.get("data")
    if not _is_data(data):
        log.debug("the serve at %s gave an answer that is not one", address.url)
        return None
    log.info("answered by the running serve at %s (pid %d)", address.url, address.pid)
    return data


def _credentials(config: Config) -> dict[str, str] | None:
    """The Authorization header this config's [web] credentials make; None without them."""
    from ui.web.settings import WebSettingsError, parse_web_settings

    try:
        auth = parse_web_settings(config.web).auth
    except WebSettingsError:
        return None
    if auth.bearer_token:
        return {"Authorization": f"Bearer {auth.bearer_token.reveal()}"}
    if auth.password and auth.username:
        token = base64.b64encode(f"{auth.username}:{auth.password.reveal()}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    return None


def _is_data(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    kind, result = data.get("resultType"), data.get("result")
    if kind in ("vector", "matrix"):
        return isinstance(result, list) and all(isinstance(item, dict) for item in result)
    return kind in ("scalar", "string") and isinstance(result, list) and len(result) == 2


def _error_body(exc: urllib.error.HTTPError) -> dict[str, Any] | None:
    try:
        body = json.loads(exc.read())
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) and body.get("status") == "error" else None
