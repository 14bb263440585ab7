"""A server's own diagnosis, asked on demand (a person opens it in a target's detail):
`LATENCY DOCTOR` and `MEMORY DOCTOR`, read-only reports in plain text. One connection, one
round trip; a refusal (renamed command, ACL, memcached) comes back as a line saying so."""

from __future__ import annotations

from collectors.redis_conn import RedisConnection, ReplyError
from monitor.targets import Target, TargetKind

__all__ = ["server_doctor_text", "REPORTS"]

#: report name -> the command that produces it
REPORTS: dict[str, tuple[str, str]] = {
    "latency": ("LATENCY", "DOCTOR"),
    "memory": ("MEMORY", "DOCTOR"),
}


async def server_doctor_text(target: Target) -> dict[str, str]:
    if target.kind is not TargetKind.REDIS:
        return {name: "memcached has no such report" for name in REPORTS}
    conn = await RedisConnection.open(target)
    try:
        replies = await conn.pipeline([REPORTS["latency"], REPORTS["memory"]])
    finally:
        await conn.close()
    out = {}
    for name, reply in zip(REPORTS, replies, strict=True):
        if isinstance(reply, ReplyError):
            out[name] = f"{' '.join(REPORTS[name])} refused: {reply}"
        elif isinstance(reply, bytes):
            out[name] = reply.decode("utf-8", "replace")
        else:
            out[name] = str(reply)
    return out
