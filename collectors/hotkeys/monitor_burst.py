"""One bounded MONITOR burst: the commands a server ran for a moment, counted per key.

Cost: while a MONITOR client is attached the server formats every command it runs into that
client's output buffer; a continuous MONITOR cut a pipelined GET load by ~70 % on the
reference machine. So a burst is short (100 ms by default), runs on its own connection, and
the whole stream is collected first and parsed after the connection is closed: reading raw
replies keeps up with the server (it never piles output up in the server's memory), where
parsing each line as it comes fell behind at ~10k lines a second and caught only a sliver of
what ran. A watchdog thread shuts the socket at the deadline even if the event loop stalls
(`deadline.py`), at most `max_bytes` are read, and never two bursts run at once on one
server from this process (`server_lock`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from collectors.hotkeys.deadline import SocketDeadline
from collectors.hotkeys.keyspecs import CommandTable
from collectors.hotkeys.monitor_lines import MonitorCommand, MonitorLineError, parse_monitor_line
from collectors.hotkeys.topk import SpaceSaving
from collectors.redis_conn import ConnectionLost, RedisConnection, ReplyError
from monitor.targets import Target

__all__ = [
    "BurstResult",
    "MonitorRefused",
    "MonitorBusy",
    "run_monitor_burst",
    "server_lock",
    "MAX_BURST_BYTES",
]

#: commands no application sends on its request path (monitors', samplers' and admin
#: commands): their keys are not the application's hot keys
_IGNORED = frozenset(
    {
        b"object",
        b"memory",
        b"type",
        b"scan",
        b"monitor",
        b"info",
        b"latency",
        b"slowlog",
        b"config",
        b"client",
        b"cluster",
        b"command",
        b"hotkeys",
    }
)
#: a burst reads at most this much of the stream (about 200k commands)
MAX_BURST_BYTES = 32 << 20

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class MonitorRefused(Exception):
    """The server (or the ACL user) does not allow MONITOR; the message says which."""


class MonitorBusy(Exception):
    """Another burst on the same server is running in this process."""


@contextmanager
def server_lock(target: Target) -> Iterator[None]:
    """Held while a burst runs on `target`'s server; raises MonitorBusy if one already is."""
    key = f"{target.kind.value}:{target.instance}"
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(key, threading.Lock())
    if not lock.acquire(blocking=False):
        raise MonitorBusy(f"{target.url}: a MONITOR burst is already running there")
    try:
        yield
    finally:
        lock.release()


@dataclass(frozen=True, slots=True)
class BurstResult:
    started_at: float  # unix time
    duration_s: float  # how long MONITOR streamed
    commands: int  # lines the server sent (every command it ran while we watched)
    keyed: int  # of which commands with keys the application sent (what shares rest on)
    bad_lines: int
    cut_by_deadline: bool
    bytes_read: int


async def run_monitor_burst(
    target: Target,
    duration_s: float,
    table: CommandTable,
    summary: SpaceSaving[bytes],
    *,
    on_command: Callable[[MonitorCommand], None] | None = None,
    on_key: Callable[[bytes], None] | None = None,
    connect: Callable[[Target], Awaitable[RedisConnection]] = RedisConnection.open,
    max_bytes: int = MAX_BURST_BYTES,
) -> BurstResult:
    """Collect MONITOR for at most `duration_s`, then count its keys into `summary` (R/W
    split); `on_command` sees every parsed command, `on_key` every application key."""
    with server_lock(target):
        conn = await connect(target)
        try:
            # armed before MONITOR is sent: a loop that stalls anywhere after this point
            # still cannot leave the server formatting commands for us past the deadline
            started_wall, started = time.time(), time.monotonic()
            deadline = SocketDeadline(conn.writer, duration_s)
            lines: list[Any] = []
            read = 0
            try:
                reply = (await conn.pipeline([("MONITOR",)]))[0]
                if isinstance(reply, ReplyError):
                    raise MonitorRefused(f"{target.url}: MONITOR refused: {reply}")
                lines, read = await conn.read_replies_until(started + duration_s, max_bytes)
            except (ConnectionLost, OSError):
                pass  # cut by the deadline before MONITOR answered: an empty burst
            finally:
                deadline.cancel()
            elapsed = min(duration_s, time.monotonic() - started)
        finally:
            await conn.close()
    keyed = bad = 0
    for line in lines:
        if not isinstance(line, bytes):
            continue
        try:
            command = parse_monitor_line(line)
        except MonitorLineError:
            bad += 1
            continue
        if on_command is not None:
            on_command(command)
        if command.argv[0].lower() in _IGNORED:
            continue
        found = table.keys(command.argv)
        if found:
            keyed += 1
        for key, write in found:
            summary.add(key, write=write)
            if on_key is not None:
                on_key(key)
    commands = sum(1 for line in lines if isinstance(line, bytes))
    return BurstResult(started_wall, elapsed, commands, keyed, bad, deadline.fired, read)
