"""The `[exporter]` section's owner declaration: where `cachewatch export` listens, who may
talk to it, and what `/scrape` may reach. The parsing itself is the HTTP layer's
(`monitor/http/settings.py`), shared with `[web]`; this adds the listen address check and
declares the keys for `cachewatch check`.

[exporter]
listen = "127.0.0.1:9121"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.http.auth import AUTH_KEYS
from monitor.http.server import ListenError, parse_listen
from monitor.http.settings import (
    DEFAULT_EXPORTER_LISTEN,
    SERVER_KEYS,
    ExporterSettings,
    HttpSettingsError,
)
from monitor.http.settings import parse_exporter_settings as _parse_http
from monitor.sections import SectionContext, SectionSpec, SettingsError

__all__ = [
    "DEFAULT_EXPORTER_LISTEN",
    "EXPORTER_KEYS",
    "EXPORTER_SECTION",
    "ExporterSettings",
    "ExporterSettingsError",
    "parse_exporter_settings",
]

EXPORTER_KEYS = frozenset(
    {"listen", "allow_insecure_listen", "scrape_allow", *AUTH_KEYS, *SERVER_KEYS}
)


class ExporterSettingsError(SettingsError):
    pass


def parse_exporter_settings(table: Mapping[str, Any]) -> ExporterSettings:
    listen = table.get("listen", DEFAULT_EXPORTER_LISTEN)
    problems: list[str] = []
    if not isinstance(listen, str):
        problems.append(f"exporter.listen: must be 'host:port', got {listen!r}")
    else:
        try:
            parse_listen(listen)
        except ListenError as exc:
            problems.append(f"exporter.listen: {exc}")
    try:
        settings = _parse_http(table)
    except HttpSettingsError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ExporterSettingsError(problems)
    return settings


def _parse(table: Mapping[str, Any], context: SectionContext) -> ExporterSettings:
    return parse_exporter_settings(table)


EXPORTER_SECTION = SectionSpec("exporter", _parse, EXPORTER_KEYS)
