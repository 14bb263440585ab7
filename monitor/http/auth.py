"""Who may talk to the HTTP server: the same rules for `serve` and `export`.

- optional HTTP basic auth or a bearer token (compared in constant time); the health
  endpoints stay open for load balancers and orchestrators;
- a server binds 127.0.0.1 unless told otherwise, and an address beyond loopback needs auth
  (or the explicit `allow_insecure_listen`, for a proxy in front that authenticates).

The settings come from the `[web]` table (`serve`) or the `[exporter]` table (`export`),
with secrets from env vars or files.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.secrets import Secret

__all__ = [
    "AUTH_KEYS",
    "AuthSettings",
    "AuthGate",
    "InsecureListenError",
    "OPEN_PATHS",
    "check_listen",
    "is_loopback",
    "parse_auth",
]

#: probes must work without credentials
OPEN_PATHS = frozenset({"/-/healthy", "/-/ready"})

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True, slots=True)
class AuthSettings:
    username: str | None = None
    password: Secret | None = None
    bearer_token: Secret | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.password) or bool(self.bearer_token)

    def check(self, authorization: str | None) -> str | None:
        """The authenticated user's name, or None. Both the name and the secret are always
        compared, so the time taken does not say which one was wrong."""
        if not authorization:
            return None
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and self.bearer_token:
            token_ok = hmac.compare_digest(
                value.strip().encode(), self.bearer_token.reveal().encode()
            )
            return "token" if token_ok else None
        if scheme == "basic" and self.password:
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return None
            user, _, password = decoded.partition(":")
            user_ok = hmac.compare_digest(user.encode(), (self.username or "").encode())
            password_ok = hmac.compare_digest(password.encode(), self.password.reveal().encode())
            return user if user_ok and password_ok else None
        return None


class AuthGate:
    """WSGI middleware: every path but `OPEN_PATHS` needs the credentials (a 401 with the
    right challenge otherwise); the user's name goes to `REMOTE_USER`."""

    def __init__(self, app: WSGIApp, auth: AuthSettings | None) -> None:
        self._app = app
        self._auth = auth if auth is not None and auth.enabled else None

    @property
    def enabled(self) -> bool:
        return self._auth is not None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "/")
        if self._auth is not None and path not in OPEN_PATHS:
            user = self._auth.check(environ.get("HTTP_AUTHORIZATION"))
            if user is None:
                challenge = (
                    'Basic realm="cachewatch", charset="UTF-8"' if self._auth.password else "Bearer"
                )
                body = b"authentication required\n"
                start_response(
                    "401 Unauthorized",
                    [
                        ("Content-Type", "text/plain; charset=utf-8"),
                        ("Content-Length", str(len(body))),
                        ("Cache-Control", "no-store"),
                        ("X-Content-Type-Options", "nosniff"),
                        ("WWW-Authenticate", challenge),
                    ],
                )
                return [body]
            environ["REMOTE_USER"] = user
        return self._app(environ, start_response)


def _secret(
    table: Mapping[str, Any], env_key: str, file_key: str, section: str, problems: list[str]
) -> Secret | None:
    if env_key in table and file_key in table:
        problems.append(f"{section}.{env_key} and {section}.{file_key}: give one, not both")
        return None
    if env_key in table:
        name = str(table[env_key])
        value = os.environ.get(name)
        if not value:
            problems.append(f"{section}.{env_key}: environment variable {name} is not set or empty")
            return None
        return Secret(value)
    if file_key in table:
        path = Path(str(table[file_key])).expanduser()
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            problems.append(f"{section}.{file_key}: cannot read {path}: {exc.strerror or exc}")
            return None
        if not value:
            problems.append(f"{section}.{file_key}: {path} is empty")
            return None
        return Secret(value)
    return None


#: the keys `parse_auth` reads, in `[web]` and `[exporter]`
AUTH_KEYS = frozenset(
    {
        "auth_username",
        "auth_password_env",
        "auth_password_file",
        "bearer_token_env",
        "bearer_token_file",
    }
)


def parse_auth(table: Mapping[str, Any], section: str, problems: list[str]) -> AuthSettings:
    """`auth_username` + `auth_password_env`/`_file`, `bearer_token_env`/`_file`."""
    password = _secret(table, "auth_password_env", "auth_password_file", section, problems)
    token = _secret(table, "bearer_token_env", "bearer_token_file", section, problems)
    username = table.get("auth_username")
    if password is not None and not username:
        problems.append(f"{section}.auth_username: required with a password")
    if (
        username
        and password is None
        and not any(k in table for k in ("auth_password_env", "auth_password_file"))
    ):
        problems.append(f"{section}.auth_username: needs auth_password_env or auth_password_file")
    return AuthSettings(str(username) if username else None, password, token)


class InsecureListenError(ValueError):
    """Binding beyond loopback without auth, and without the explicit opt-out."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listen(
    host: str, listen: str, auth: AuthSettings | None, allow_insecure: bool, section: str = "web"
) -> None:
    """Refuse a non-loopback `host` without auth, unless `allow_insecure`."""
    if is_loopback(host) or (auth is not None and auth.enabled) or allow_insecure:
        return
    raise InsecureListenError(
        f"refusing to listen on {listen!r} without authentication: anyone who can reach it "
        f"could read the fleet{' and silence alerts' if section == 'web' else ''}. Set "
        f"[{section}] auth_username + auth_password_env (or bearer_token_env), or pass "
        "--allow-insecure-listen if a proxy in front handles auth."
    )
