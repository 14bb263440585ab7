"""The `[web]` config table, checked, with secrets read from env or file.

[web]
listen = "127.0.0.1:8050"
auth_username = "ops"
auth_password_env = "CACHEWATCH_WEB_PASSWORD"   # or auth_password_file
bearer_token_env = "CACHEWATCH_WEB_TOKEN"       # or bearer_token_file
allow_insecure_listen = false                   # bind non-loopback without auth
theme = "dark"                                  # or "light"
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.secrets import Secret
from monitor.sections import SectionContext, SectionSpec, SettingsError
from ui.web.security import AuthSettings

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
WEB_KEYS = frozenset(
    {
        "listen",
        "auth_username",
        "auth_password_env",
        "auth_password_file",
        "bearer_token_env",
        "bearer_token_file",
        "allow_insecure_listen",
        "theme",
    }
)


class WebSettingsError(SettingsError):
    pass


@dataclass(frozen=True, slots=True)
class WebSettings:
    listen: str = DEFAULT_LISTEN
    auth: AuthSettings = field(default_factory=AuthSettings)
    allow_insecure_listen: bool = False
    theme: str = "dark"


def _secret(
    table: Mapping[str, Any], env_key: str, file_key: str, problems: list[str]
) -> Secret | None:
    if env_key in table and file_key in table:
        problems.append(f"web.{env_key} and web.{file_key}: give one, not both")
        return None
    if env_key in table:
        name = str(table[env_key])
        value = os.environ.get(name)
        if not value:
            problems.append(f"web.{env_key}: environment variable {name} is not set or empty")
            return None
        return Secret(value)
    if file_key in table:
        path = Path(str(table[file_key])).expanduser()
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            problems.append(f"web.{file_key}: cannot read {path}: {exc.strerror or exc}")
            return None
        if not value:
            problems.append(f"web.{file_key}: {path} is empty")
            return None
        return Secret(value)
    return None


def parse_web_settings(table: Mapping[str, Any]) -> WebSettings:
    problems: list[str] = []
    password = _secret(table, "auth_password_env", "auth_password_file", problems)
    token = _secret(table, "bearer_token_env", "bearer_token_file", problems)
    username = table.get("auth_username")
    if password is not None and not username:
        problems.append("web.auth_username: required with a password")
    if (
        username
        and password is None
        and not any(k in table for k in ("auth_password_env", "auth_password_file"))
    ):
        problems.append("web.auth_username: needs auth_password_env or auth_password_file")
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
        auth=AuthSettings(str(username) if username else None, password, token),
        allow_insecure_listen=bool(allow),
        theme=theme,
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
