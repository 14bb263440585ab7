"""Server versions with known defects, from the servers' public release notes and security
advisories. Each entry names the releases that carry the fix on each release line; a
version is affected when its line has a fix it predates, or when its line is older than the
newest fixed line and never got one (an end-of-life line).

Distributions backport security fixes without changing the version a server reports
(Debian's redis 7.0.15 carries many), so a finding says what the version string implies and
asks to check the package's changelog: cachewatch cannot see backports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Defect", "DEFECTS", "parse_version", "defects_of", "server_and_version"]

Version = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Defect:
    server: str  # "redis" | "valkey"
    name: str
    fixed_in: tuple[Version, ...]
    #: the oldest release line this entry judges (older ones are not claimed either way)
    lines_from: Version = (2, 6)


DEFECTS: tuple[Defect, ...] = (
    Defect(
        "redis",
        "CVE-2025-49844, CVE-2025-46817, CVE-2025-46818, CVE-2025-46819 (Lua scripts: "
        "use-after-free and integer overflow leading to remote code execution)",
        ((6, 2, 20), (7, 2, 11), (7, 4, 6), (8, 0, 4), (8, 2, 2)),
    ),
    Defect(
        "redis",
        "CVE-2024-46981 (Lua garbage collector use-after-free), CVE-2024-51741 (a malformed "
        "ACL selector crashes the server)",
        ((6, 2, 17), (7, 2, 7), (7, 4, 2)),
    ),
    Defect(
        "redis",
        "CVE-2024-31449 (Lua bit library stack overflow), CVE-2024-31227, CVE-2024-31228 "
        "(denial of service by ACL selectors and unbounded patterns)",
        ((6, 2, 16), (7, 2, 6), (7, 4, 1)),
    ),
    Defect(
        "valkey",
        "CVE-2025-49844, CVE-2025-46817, CVE-2025-46818, CVE-2025-46819 (Lua scripts: "
        "use-after-free and integer overflow leading to remote code execution)",
        ((8, 0, 6), (8, 1, 4)),
        lines_from=(8, 0),
    ),
    Defect(
        "valkey",
        "CVE-2024-46981 (Lua garbage collector use-after-free), CVE-2024-51741 (a malformed "
        "ACL selector crashes the server)",
        ((8, 0, 2),),
        lines_from=(8, 0),
    ),
)


def parse_version(text: str) -> Version | None:
    parts = text.strip().split(".")
    try:
        return tuple(int(p) for p in parts[:3])
    except ValueError:
        return None


def _affected(version: Version, defect: Defect) -> bool:
    line, fixed_in = version[:2], defect.fixed_in
    if line < defect.lines_from:
        return False
    for fix in fixed_in:
        if fix[:2] == line:
            return version < fix
    return line < max(fix[:2] for fix in fixed_in)


def server_and_version(labels: Mapping[str, str]) -> tuple[str, str]:
    """`redis_instance_info`'s labels → ("valkey", "8.0.1") or ("redis", "7.0.15")."""
    if labels.get("valkey_version"):
        return "valkey", labels["valkey_version"]
    return "redis", labels.get("redis_version", "")


def defects_of(server: str, version_text: str) -> list[Defect]:
    version = parse_version(version_text)
    if version is None or len(version) < 2:
        return []
    return [d for d in DEFECTS if d.server == server and _affected(version, d)]
