"""The `[web]` config table, checked, with secrets read from env or file.

[web]
listen = "127.0.0.1:8050"
auth_username = "ops"
auth_password_env = "CACHEWATCH_WEB_PASSWORD"   # or auth_password_file
bearer_token_env = "CACHEWATCH_WEB_TOKEN"       # or bearer_token_file
allow_insecure_listen = false                   # bind non-loopback without auth
theme = "dark"                                  # or "light"
tls_cert_file = "/etc/cachewatch/tls.crt"       # HTTPS (with tls_key_file)
max_connections = 100                           # and read_timeout, idle_timeout:
                                                # see monitor/http/settings.py
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.http.auth import AUTH_KEYS, AuthSettings, is_loopback, parse_auth
from monitor.http.settings import SERVER_KEYS, ServerSettings, parse_server_settings
from monitor.sections import SectionContext, SectionSpec, SettingsError

__all__ = [
    "WebSettings",
    "WebSettingsError",
    "parse_web_settings",
    "is_loopback",
    "DEFAULT_LISTEN",
    "WEB_KEYS",
    "WEB_SECTION",
]

DEFAULT_LISTEN = "127.0.0.1:8050"
WEB_KEYS = frozenset({"listen", "allow_insecure_listen", "theme", *AUTH_KEYS, *SERVER_KEYS})


class WebSettingsError(SettingsError):
    pass


@dataclass(frozen=True, slots=True)
class WebSettings:
    listen: str = DEFAULT_LISTEN
    auth: AuthSettings = field(default_factory=AuthSettings)
    #: TLS and connection limits (`monitor.http.settings`)
    server: ServerSettings = field(default_factory=ServerSettings)
    allow_insecure_listen: bool = False
    theme: str = "dark"


def parse_web_settings(table: Mapping[str, Any]) -> WebSettings:
    problems: list[str] = []
    auth = parse_auth(table, "web", problems)
    server = parse_server_settings(table, "web", problems)
    theme = str(table.get("theme", "dark"))
    if theme not in ("dark", "light"):
        problems.append(f"web.theme: {theme!r} is not one of dark, light")
    allow = table.get("allow_insecure_listen", False)
    if not isinstance(allow, bool):
        problems.append("web.allow_insecure_listen: must be true or false")
    if problems:
        raise WebSettingsError(problems)
    return WebSettings(
        listen=str(table.get("listen", DEFAULT_LISTEN)),
        auth=auth,
        server=server,
        allow_insecure_listen=bool(allow),
        theme=theme,
    )


def _check_web(table: Mapping[str, Any], context: SectionContext) -> WebSettings:
    """The settings, plus what `serve` would refuse at start: a listen address it cannot
    parse, or one beyond loopback without auth."""
    from ui.web.server import InsecureListenError, check_listen

    settings = parse_web_settings(table)
    try:
        check_listen(settings.listen, settings.auth, settings.allow_insecure_listen)
    except (InsecureListenError, ValueError) as exc:
        raise WebSettingsError([f"web.listen: {exc}"]) from None
    return settings


WEB_SECTION = SectionSpec("web", _check_web, WEB_KEYS)
