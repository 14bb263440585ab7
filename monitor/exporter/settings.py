"""The `[exporter]` config table: where `cachewatch export` listens.

[exporter]
listen = "127.0.0.1:9121"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.http.server import ListenError, parse_listen
from monitor.sections import SectionContext, SectionSpec, SettingsError

__all__ = [
    "DEFAULT_EXPORTER_LISTEN",
    "EXPORTER_SECTION",
    "ExporterSettings",
    "ExporterSettingsError",
    "parse_exporter_settings",
]

DEFAULT_EXPORTER_LISTEN = "127.0.0.1:9121"


class ExporterSettingsError(SettingsError):
    pass


@dataclass(frozen=True, slots=True)
class ExporterSettings:
    listen: str = DEFAULT_EXPORTER_LISTEN


def parse_exporter_settings(table: Mapping[str, Any]) -> ExporterSettings:
    listen = table.get("listen", DEFAULT_EXPORTER_LISTEN)
    if not isinstance(listen, str):
        raise ExporterSettingsError([f"exporter.listen: must be 'host:port', got {listen!r}"])
    try:
        parse_listen(listen)
    except ListenError as exc:
        raise ExporterSettingsError([f"exporter.listen: {exc}"]) from None
    return ExporterSettings(listen=listen)


def _parse(table: Mapping[str, Any], context: SectionContext) -> ExporterSettings:
    return parse_exporter_settings(table)


EXPORTER_SECTION = SectionSpec("exporter", _parse, frozenset({"listen"}))
