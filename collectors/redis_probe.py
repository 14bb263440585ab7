"""What a Redis/Valkey server is and which of our commands it has, probed once per connection.

One round trip: `INFO server`, `INFO cluster` and `COMMAND INFO` for the commands the
collectors use. A command renamed away (`rename-command CONFIG ""`) or unknown to the
version comes back as nil and is recorded in `Capabilities.refused`, so its collector is
skipped without ever sending it. ACL denials are not visible here (COMMAND INFO ignores
ACLs): the collector meets the NOPERM reply on first use and becomes `Unsupported`.
"""

from __future__ import annotations

from typing import Any

from collectors.base import Capabilities
from collectors.redis_conn import CommandError, ReplyError
from collectors.redis_reply import ReplyFormatError

__all__ = ["probe", "parse_probe", "PROBED_COMMANDS", "parse_version"]

PROBED_COMMANDS = (
    "latency",
    "slowlog",
    "config",
    "cluster",
    "memory",
    "object",
    "scan",
    "monitor",
    "client",
    "info",
)


def parse_version(text: str) -> tuple[int, ...]:
    """`7.0.15` → (7, 0, 15); stops at the first part that is not a number."""
    parts: list[int] = []
    for part in text.strip().split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def _info_fields(reply: Any, what: str) -> dict[str, str]:
    if isinstance(reply, ReplyError):
        raise CommandError(f"{what}: {reply}")
    if not isinstance(reply, bytes):
        raise ReplyFormatError(f"{what}: expected a bulk string, got {type(reply).__name__}")
    fields: dict[str, str] = {}
    for line in reply.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and not key.startswith("#"):
            fields[key] = value
    return fields


def parse_probe(info_server: Any, info_cluster: Any, command_info: Any) -> Capabilities:
    """Build `Capabilities` from the three probe replies (see `probe`)."""
    server = _info_fields(info_server, "INFO server")
    cluster = _info_fields(info_cluster, "INFO cluster")
    caps = Capabilities()
    if server.get("server_name") == "valkey" or "valkey_version" in server:
        caps.server = "valkey"
        caps.version = parse_version(server.get("valkey_version", ""))
    else:
        caps.version = parse_version(server.get("redis_version", ""))
    caps.cluster_enabled = cluster.get("cluster_enabled") == "1"
    for key in ("redis_version", "valkey_version", "redis_mode", "server_mode", "run_id", "os"):
        if key in server:
            caps.facts[key] = server[key]
    # An error here (COMMAND refused by ACL) leaves `commands` empty, which means "assume
    # everything exists"; refusals are then found on first use.
    if isinstance(command_info, list) and len(command_info) == len(PROBED_COMMANDS):
        for name, entry in zip(PROBED_COMMANDS, command_info, strict=True):
            if isinstance(entry, list) and entry:
                caps.commands.add(name)
            else:
                caps.refused.add(name)
    return caps


async def probe(conn: Any) -> Capabilities:
    """Probe one connection: server kind and version, cluster mode, available commands."""
    replies = await conn.pipeline(
        [("INFO", "server"), ("INFO", "cluster"), ("COMMAND", "INFO", *PROBED_COMMANDS)]
    )
    return parse_probe(*replies)
