"""A tiny WSGI router: exact paths, one path-parameter pattern, security headers on every
response, and another WSGI app (the Dash UI) mounted at `/` for everything else — except
`/api/…`: an unknown API path is a JSON 404, never the dashboard's page."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from monitor.http.params import BadRequest, Params
from monitor.query.errors import QueryError

__all__ = ["WSGIApp", "Request", "Response", "Router", "json_response", "error_response"]

log = logging.getLogger("cachewatch.http")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: on every response, including the mounted UI's
_COMMON_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
]
#: only on our own responses: the mounted UI needs scripts, which it must allow itself
_API_HEADERS = [
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("Cache-Control", "no-store"),
]

#: Prometheus's HTTP status for each `errorType`
_STATUS_BY_ERROR_TYPE = {
    "bad_data": 400,
    "execution": 422,
    "timeout": 503,
    "canceled": 503,
    "unavailable": 503,
    "internal": 500,
}

_STATUS_TEXT = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(slots=True)
class Request:
    environ: dict[str, Any]
    path_arg: str = ""
    _params: Params | None = None

    @property
    def params(self) -> Params:
        if self._params is None:
            self._params = Params(self.environ)
        return self._params

    def header(self, name: str) -> str | None:
        value = self.environ.get("HTTP_" + name.upper().replace("-", "_"))
        return str(value) if value is not None else None


@dataclass(slots=True)
class Response:
    status: int
    #: the whole body, or chunks to stream (sent chunked: no Content-Length)
    body: bytes | Iterable[bytes]
    content_type: str
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Request], Response]


def json_response(payload: object, status: int = 200) -> Response:
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    return Response(status, body, "application/json")


def error_response(error_type: str, message: str, status: int) -> Response:
    return json_response({"status": "error", "errorType": error_type, "error": message}, status)


class Router:
    """Dispatches on the path; GET and POST only. A handler's bad input becomes a 400, a
    `QueryError` its Prometheus status, and an unexpected exception a JSON 500 (logged with
    its traceback, never sent)."""

    def __init__(self) -> None:
        self._exact: dict[str, Handler] = {}
        self._prefixed: list[tuple[str, str, Handler]] = []
        self._fallback: WSGIApp | None = None

    def route(self, path: str, handler: Handler) -> None:
        self._exact[path] = handler

    def route_param(self, prefix: str, suffix: str, handler: Handler) -> None:
        """`prefix<arg>suffix`, e.g. `/api/v1/label/<name>/values`; `arg` has no `/`."""
        self._prefixed.append((prefix, suffix, handler))

    def mount_root(self, app: WSGIApp) -> None:
        """Serve every path no route claims with `app` (the web UI)."""
        self._fallback = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "/")
        handler, arg = self._match(path)
        if handler is None:
            if self._fallback is not None and not path.startswith("/api/"):
                return self._fallback(environ, _with_headers(start_response, _COMMON_HEADERS))
            response = error_response("not_found", f"no such endpoint {path!r}", 404)
        elif environ.get("REQUEST_METHOD") not in ("GET", "POST", "HEAD"):
            response = error_response("bad_data", "only GET and POST are allowed", 405)
            response.headers.append(("Allow", "GET, POST"))
        else:
            response = self._call(handler, Request(environ, arg))
        body = response.body
        headers = [("Content-Type", response.content_type)]
        if isinstance(body, bytes):
            headers.append(("Content-Length", str(len(body))))
        headers += [*_COMMON_HEADERS, *_API_HEADERS, *response.headers]
        start_response(f"{response.status} {_STATUS_TEXT.get(response.status, '')}", headers)
        if environ.get("REQUEST_METHOD") == "HEAD":
            return [b""]
        return [body] if isinstance(body, bytes) else body

    def _match(self, path: str) -> tuple[Handler | None, str]:
        handler = self._exact.get(path)
        if handler is not None:
            return handler, ""
        for prefix, suffix, candidate in self._prefixed:
            if path.startswith(prefix) and path.endswith(suffix):
                arg = path[len(prefix) : len(path) - len(suffix)]
                if arg and "/" not in arg:
                    return candidate, arg
        return None, ""

    @staticmethod
    def _call(handler: Handler, request: Request) -> Response:
        try:
            return handler(request)
        except BadRequest as exc:
            return error_response("bad_data", str(exc), 400)
        except QueryError as exc:
            # from the engine, or from a reader whose remote Prometheus is down
            status = _STATUS_BY_ERROR_TYPE.get(exc.error_type, 422)
            return error_response(exc.error_type, exc.message, status)
        except Exception:
            log.exception("error serving %s", request.environ.get("PATH_INFO"))
            return error_response("internal", "internal error; see the server log", 500)


def _with_headers(
    start_response: Callable[..., Any], extra: list[tuple[str, str]]
) -> Callable[..., Any]:
    def wrapped(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        present = {name.lower() for name, _ in headers}
        merged = headers + [(k, v) for k, v in extra if k.lower() not in present]
        return (
            start_response(status, merged, exc_info) if exc_info else start_response(status, merged)
        )

    return wrapped
