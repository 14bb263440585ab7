"""How the HTTP server holds up: TLS and the connection limits, from `[web]` (`serve`) or
`[exporter]` (`export`), and what `/scrape?target=` may reach (`[exporter] scrape_allow`).

    tls_cert_file = "/etc/cachewatch/tls.crt"   # serve HTTPS (both files, PEM)
    tls_key_file = "/etc/cachewatch/tls.key"
    max_connections = 100      # open connections at once; the oldest idle or unfinished
                               # request is closed to make room for a new one
    read_timeout = "10s"       # a request must arrive whole within this (slowloris)
    idle_timeout = "30s"       # a keep-alive connection with no request is closed
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.durations import parse_duration
from monitor.http.auth import AuthSettings, parse_auth
from monitor.http.scrapepolicy import ScrapeRule, parse_scrape_allow

__all__ = [
    "ServerSettings",
    "parse_server_settings",
    "SERVER_KEYS",
    "ExporterSettings",
    "HttpSettingsError",
    "parse_exporter_settings",
]

SERVER_KEYS = frozenset(
    {"tls_cert_file", "tls_key_file", "max_connections", "read_timeout", "idle_timeout"}
)


@dataclass(frozen=True, slots=True)
class ServerSettings:
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    max_connections: int = 100
    read_timeout_s: float = 10.0
    idle_timeout_s: float = 30.0

    def tls_context(self) -> ssl.SSLContext | None:
        """A server context for the configured certificate, or None for plain HTTP."""
        if self.tls_cert_file is None or self.tls_key_file is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.tls_cert_file, self.tls_key_file)
        return context


def _duration(
    table: Mapping[str, Any], key: str, section: str, default: float, problems: list[str]
) -> float:
    if key not in table:
        return default
    try:
        seconds = parse_duration(str(table[key]))
    except ValueError as exc:
        problems.append(f"{section}.{key}: {exc}")
        return default
    if seconds <= 0:
        problems.append(f"{section}.{key}: must be positive, got {table[key]!r}")
        return default
    return seconds


def parse_server_settings(
    table: Mapping[str, Any], section: str, problems: list[str]
) -> ServerSettings:
    defaults = ServerSettings()
    cert, key = table.get("tls_cert_file"), table.get("tls_key_file")
    files: dict[str, Path] = {}
    if (cert is None) != (key is None):
        problems.append(f"{section}.tls_cert_file and {section}.tls_key_file: give both or none")
    for name, value in (("tls_cert_file", cert), ("tls_key_file", key)):
        if value is None:
            continue
        path = Path(str(value)).expanduser()
        if not path.is_file():
            problems.append(f"{section}.{name}: file not found: {path}")
        files[name] = path
    max_connections = table.get("max_connections", defaults.max_connections)
    if isinstance(max_connections, bool) or not isinstance(max_connections, int):
        max_connections = -1
    if max_connections < 4:
        problems.append(
            f"{section}.max_connections: must be an integer >= 4, got {table['max_connections']!r}"
        )
        max_connections = defaults.max_connections
    settings = ServerSettings(
        tls_cert_file=files.get("tls_cert_file") if len(files) == 2 else None,
        tls_key_file=files.get("tls_key_file") if len(files) == 2 else None,
        max_connections=max_connections,
        read_timeout_s=_duration(table, "read_timeout", section, defaults.read_timeout_s, problems),
        idle_timeout_s=_duration(table, "idle_timeout", section, defaults.idle_timeout_s, problems),
    )
    if settings.tls_cert_file is not None and not problems:
        try:
            settings.tls_context()
        except (OSError, ssl.SSLError) as exc:
            problems.append(f"{section}.tls_cert_file / tls_key_file: cannot load: {exc}")
    return settings


DEFAULT_EXPORTER_LISTEN = "127.0.0.1:9121"


class HttpSettingsError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True, slots=True)
class ExporterSettings:
    """The `[exporter]` table: where `export` listens, who may talk to it, and what
    `/scrape` may reach (that part also applies to `serve`)."""

    listen: str = DEFAULT_EXPORTER_LISTEN
    auth: AuthSettings = field(default_factory=AuthSettings)
    allow_insecure_listen: bool = False
    server: ServerSettings = field(default_factory=ServerSettings)
    scrape_allow: tuple[ScrapeRule, ...] = ()


def parse_exporter_settings(table: Mapping[str, Any]) -> ExporterSettings:
    problems: list[str] = []
    auth = parse_auth(table, "exporter", problems)
    server = parse_server_settings(table, "exporter", problems)
    scrape_allow = parse_scrape_allow(table.get("scrape_allow"), problems)
    allow = table.get("allow_insecure_listen", False)
    if not isinstance(allow, bool):
        problems.append("exporter.allow_insecure_listen: must be true or false")
    if problems:
        raise HttpSettingsError(problems)
    return ExporterSettings(
        listen=str(table.get("listen", DEFAULT_EXPORTER_LISTEN)),
        auth=auth,
        allow_insecure_listen=bool(allow),
        server=server,
        scrape_allow=scrape_allow,
    )
