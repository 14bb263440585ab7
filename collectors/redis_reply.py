"""What the Redis collectors share: turning error replies into `Unsupported` or errors, and
the error raised for replies of the wrong shape.

A command that is missing (renamed away, unknown to this version), refused by ACL, or not
applicable (CLUSTER INFO without cluster mode) makes its collector `Unsupported` with a
one-line reason, and is recorded in `Capabilities.refused` so nothing else sends it again:
every refused call would bump the server's `errorstat_*` counters. Any other error reply
(LOADING, BUSY, ...) is transient and raised as `CommandError`.
"""

from __future__ import annotations

from typing import Any

from collectors.base import CollectContext, Unsupported
from collectors.redis_conn import CommandError, ReplyError

__all__ = ["ReplyFormatError", "run_command", "refusal_reason", "text"]

_REFUSAL_MARKERS = (
    ("NOPERM", "refused by ACL"),
    ("unknown command", "command missing (renamed or disabled)"),
    ("unknown subcommand", "subcommand not supported by this server version"),
    ("Unknown subcommand", "subcommand not supported by this server version"),
    ("cluster support disabled", "cluster mode is off"),
    ("not allowed", "command not allowed on this server"),
)


class ReplyFormatError(ValueError):
    """A reply whose shape is not what the command returns; the message names the command."""


def refusal_reason(message: str) -> str | None:
    """Why an error reply means "never send this again", or None if it may be transient."""
    for marker, reason in _REFUSAL_MARKERS:
        if marker in message:
            return reason
    return None


async def run_command(conn: Any, ctx: CollectContext, *args: Any) -> Any:
    """Send one command; raise `Unsupported` if the server refuses it for good."""
    (reply,) = await conn.pipeline([args])
    check_reply(reply, ctx, " ".join(str(a) for a in args[:2]))
    return reply


def check_reply(reply: Any, ctx: CollectContext, command: str) -> None:
    """Raise for an error reply: `Unsupported` when permanent, `CommandError` otherwise."""
    if not isinstance(reply, ReplyError):
        return
    message = str(reply)
    reason = refusal_reason(message)
    if reason is None:
        raise CommandError(f"{command}: {message}")
    ctx.capabilities.refused.add(command.lower())
    raise Unsupported(f"{command}: {reason} ({message.splitlines()[0][:120]})")


def text(value: Any, what: str) -> str:
    """A bulk string reply as text, or a `ReplyFormatError` naming what was expected."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise ReplyFormatError(f"{what}: expected a bulk string, got {type(value).__name__}")
