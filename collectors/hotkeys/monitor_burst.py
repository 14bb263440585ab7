"""One bounded MONITOR burst, streamed into a Space-Saving summary.

Cost: while the burst runs the server formats every command for us (a continuous MONITOR
cut a pipelined GET load by ~70 % on the reference machine), so bursts are short (100 ms by
default), duty-cycled (every 10 s) and opt-in. The connection is closed at the deadline no
matter what (see `deadline.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from collectors.hotkeys.deadline import SocketDeadline
from collectors.hotkeys.keyspecs import CommandTable
from collectors.hotkeys.monitor_lines import MonitorCommand, MonitorLineError, parse_monitor_line
from collectors.hotkeys.topk import SpaceSaving
from collectors.redis_conn import ConnectionLost, RedisConnection, ReplyError
from monitor.targets import Target

__all__ = ["BurstResult", "MonitorRefused", "run_monitor_burst"]

#: our own sampling commands, which would otherwise make the sampled keys look hot
_IGNORED = frozenset({b"object", b"memory", b"type", b"scan", b"monitor"})


class MonitorRefused(Exception):
    """The server (or the ACL user) does not allow MONITOR; the message says which."""


@dataclass(frozen=True, slots=True)
class BurstResult:
    started_at: float  # unix time
    duration_s: float  # how long MONITOR actually streamed
    commands: int
    bad_lines: int
    cut_by_deadline: bool


async def run_monitor_burst(
    target: Target,
    duration_s: float,
    table: CommandTable,
    summary: SpaceSaving[bytes],
    *,
    on_command: Callable[[MonitorCommand], None] | None = None,
    connect: Callable[[Target], Awaitable[RedisConnection]] = RedisConnection.open,
) -> BurstResult:
    """Stream MONITOR for at most `duration_s` into `summary` (keys -> counts, R/W split)."""
    conn = await connect(target)
    try:
        reply = (await conn.pipeline([("MONITOR",)]))[0]
        if isinstance(reply, ReplyError):
            raise MonitorRefused(f"{target.url}: MONITOR refused: {reply}")
        started_wall, started = time.time(), time.monotonic()
        deadline = SocketDeadline(conn.writer, duration_s)
        end = started + duration_s
        commands = bad = 0
        try:
            async with asyncio.timeout(duration_s):
                while True:
                    line = await conn.read_reply()
                    # Buffered replies come back without suspending, so the timeout alone
                    # cannot stop a burst whose consumer fell behind.
                    if time.monotonic() >= end:
                        break
                    if not isinstance(line, bytes):
                        continue
                    try:
                        command = parse_monitor_line(line)
                    except MonitorLineError:
                        bad += 1
                        continue
                    commands += 1
                    if on_command is not None:
                        on_command(command)
                    if command.argv[0].lower() in _IGNORED:
                        continue
                    for key, write in table.keys(command.argv):
                        summary.add(key, write=write)
        except (TimeoutError, ConnectionLost, OSError):
            pass
        finally:
            deadline.cancel()
        elapsed = min(duration_s, time.monotonic() - started)
        return BurstResult(started_wall, elapsed, commands, bad, deadline.fired)
    finally:
        await conn.close()
