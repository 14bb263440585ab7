"""What makes the dashboard safe to host, as WSGI middleware around the whole HTTP app:

- optional HTTP basic auth or a bearer token (`monitor.http.auth`, shared with `export`);
  the health endpoints stay open for load balancers and orchestrators;
- CSRF protection for every Dash callback: the double-submit cookie Dash's renderer already
  sends back (`_csrf_token` cookie -> `X-CSRFToken` header), plus a same-origin check;
- a Content-Security-Policy that allows exactly what Dash needs (own scripts, the hashes of
  its inline bootstrap, inline styles for Plotly), and no caching of pages.

The router adds X-Frame-Options, X-Content-Type-Options and Referrer-Policy to everything.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterable, Sequence
from http.cookies import CookieError, SimpleCookie
from typing import Any

from monitor.http.auth import AuthGate, AuthSettings

__all__ = ["AuthSettings", "SecureApp", "content_security_policy", "CSRF_COOKIE", "CSRF_HEADER"]

CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
#: our own endpoints, which set their own headers and are not part of the UI
_API_PREFIXES = ("/api/", "/metrics", "/scrape", "/-/")


def content_security_policy(script_hashes: Sequence[str]) -> str:
    scripts = " ".join(["'self'", *script_hashes])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            # Plotly and Dash's components inject <style> elements and style attributes
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _reply(
    start_response: StartResponse, status: str, body: str, headers: list[tuple[str, str]]
) -> list[bytes]:
    data = body.encode()
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            *headers,
        ],
    )
    return [data]


class SecureApp:
    """Auth (`monitor.http.auth.AuthGate`, as `export` has it), then CSRF and CSP."""

    def __init__(self, app: WSGIApp, auth: AuthSettings | None, csp: str) -> None:
        self._app = app
        self._gate = AuthGate(self._guarded, auth)
        self._csp = csp

    @property
    def auth_enabled(self) -> bool:
        return self._gate.enabled

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self._gate(environ, start_response)

    def _guarded(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "/")
        if path.startswith(_API_PREFIXES):
            return self._app(environ, start_response)
        cookie = _csrf_cookie(environ)
        method = str(environ.get("REQUEST_METHOD") or "GET")
        if method not in ("GET", "HEAD", "OPTIONS"):
            problem = _csrf_problem(environ, cookie)
            if problem:
                return _reply(
                    start_response, "403 Forbidden", f"CSRF check failed: {problem}\n", []
                )
        new_token = None if cookie else secrets.token_urlsafe(32)
        secure = environ.get("wsgi.url_scheme") == "https"

        def with_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            extra = [("Content-Security-Policy", self._csp)]
            if not any(name.lower() == "cache-control" for name, _ in headers):
                extra.append(("Cache-Control", "no-store"))
            if new_token is not None:
                attributes = "; Path=/; SameSite=Strict" + ("; Secure" if secure else "")
                extra.append(("Set-Cookie", f"{CSRF_COOKIE}={new_token}{attributes}"))
            merged = headers + extra
            return (
                start_response(status, merged, exc_info)
                if exc_info
                else start_response(status, merged)
            )

        return self._app(environ, with_headers)


def _csrf_cookie(environ: dict[str, Any]) -> str | None:
    raw = environ.get("HTTP_COOKIE")
    if not raw:
        return None
    try:
        jar = SimpleCookie(str(raw))
    except CookieError:
        return None
    morsel = jar.get(CSRF_COOKIE)
    return morsel.value if morsel is not None and len(morsel.value) >= 32 else None


def _csrf_problem(environ: dict[str, Any], cookie: str | None) -> str | None:
    """Why a state-changing request must be refused, or None."""
    origin = environ.get("HTTP_ORIGIN")
    host = environ.get("HTTP_HOST")
    if origin and host and origin.split("://", 1)[-1] != host:
        return "the request comes from another origin"
    header = environ.get("HTTP_" + CSRF_HEADER.upper().replace("-", "_"))
    if not cookie or not header:
        return "missing token (reload the page)"
    if not hmac.compare_digest(str(header).encode(), cookie.encode()):
        return "token mismatch (reload the page)"
    return None
