"""A small asyncio memcached text-protocol connection for monitoring: stats, watch, metadump.

Only read-only commands are ever sent: `stats [arg]`, `version`, `watch <kinds>` and
`lru_crawler metadump`. Every read has a deadline (the target's timeout), so a paused or
wedged server turns into a `ConnectionLost` instead of a hung poll.

Errors use the classes of `collectors/redis_conn.py`, so the scheduler treats both kinds of
target alike: `ErrorReply` (a `CommandError`) for an error reply (`ERROR`, `CLIENT_ERROR …`,
`SERVER_ERROR …`, which is also what a server answers to a `stats` sub-command it lacks),
`ConnectionLost` for a closed, broken or timed-out connection (after which the connection is
closed and must be reopened), `ProtocolError` for a reply that is not memcached's format.

Authentication: memcached's SASL exists only in the binary protocol, and its ASCII "auth"
(`-Y`) is a `set` of the credentials, a write we never send. A target with a password is
therefore refused at connect with a `TargetError`.

The reply parsers (`parse_stats_reply`, `parse_watch_line`, `parse_metadump_line`) are pure
functions over bytes, shared by the connection and by tests over captured replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass

from collectors.observer import ledger_for
from collectors.redis_conn import CommandError, ConnectionLost
from collectors.streams import close_writer
from monitor.targets import Target, TargetError

__all__ = [
    "ErrorReply",
    "MemcachedConnection",
    "MetadumpEntry",
    "ProtocolError",
    "parse_metadump_line",
    "parse_stats_reply",
    "parse_watch_line",
    "WATCH_KINDS",
]

#: What `watch` may stream (memcached 1.6): item fetches, item stores, evictions, slab moves,
#: connection events, proxy requests and so on.
WATCH_KINDS = frozenset(
    {
        "fetchers",
        "mutations",
        "evictions",
        "rawcmds",
        "connevents",
        "proxyreqs",
        "proxyuser",
        "deletions",
        "sysevents",
    }
)

_ERROR_PREFIXES = (b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")
#: longest line we accept; memcached lines are short (a key is ≤ 250 bytes, ≤ 750 URI-encoded)
_LINE_LIMIT = 64 * 1024


#: largest `stats` reply we accept (`stats conns` of a server with 100k connections is ~20 MB)
_REPLY_LIMIT = 64 * 1024 * 1024


def _reply_complete(data: bytearray) -> bool:
    """True once `data` ends with a whole `END` or error line."""
    if not data.endswith(b"\r\n"):
        return False
    last = data[data.rfind(b"\n", 0, len(data) - 1) + 1 :]
    return last == b"END\r\n" or last.startswith(_ERROR_PREFIXES)


class ProtocolError(ValueError):
    """A reply that does not follow memcached's text protocol; the message says what and where."""


class ErrorReply(CommandError):
    """memcached answered with `ERROR`, `CLIENT_ERROR …` or `SERVER_ERROR …` (in `kind`).

    `ERROR` is also the answer to a command or `stats` group the server does not have.
    """

    def __init__(self, command: str, line: bytes) -> None:
        text = line.decode("utf-8", "replace").strip()
        super().__init__(f"memcached refused {command!r}: {text}")
        self.command = command
        self.kind = text.partition(" ")[0]


def _error_reply(command: str, line: bytes) -> ErrorReply:
    return ErrorReply(command, line)


def parse_stats_reply(command: str, data: bytes) -> list[tuple[str, str]]:
    """Parse a whole `stats` reply (`STAT k v` lines ending with `END`) into (key, value) pairs.

    The value is the rest of the line after the key (it may be empty or hold spaces).
    Raises `CommandError` for an error reply and `ProtocolError` for anything else that
    is not a `STAT` line or is missing the final `END`; never anything else.
    """
    pairs: list[tuple[str, str]] = []
    lines = data.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, 1):
        if line == b"END":
            if number != len(lines):
                raise ProtocolError(f"{command!r} reply: data after END at line {number}")
            return pairs
        if line.startswith(_ERROR_PREFIXES):
            raise _error_reply(command, line)
        head, _, rest = line.partition(b" ")
        key, _, value = rest.partition(b" ")
        if head != b"STAT" or not key:
            shown = line[:80].decode("utf-8", "replace")
            raise ProtocolError(
                f"{command!r} reply line {number}: expected 'STAT key value', got {shown!r}"
            )
        pairs.append((key.decode("utf-8", "replace"), value.decode("utf-8", "replace")))
    raise ProtocolError(f"{command!r} reply ended without END after {len(lines)} lines")


def parse_watch_line(line: bytes) -> dict[str, str]:
    """Split a `watch` log line (`ts=… gid=… type=item_get key=foo%3A1 status=found …`) into
    its fields, with the key URI-decoded. Tokens without `=` are skipped; never raises."""
    fields: dict[str, str] = {}
    for token in line.decode("utf-8", "replace").split():
        name, sep, value = token.partition("=")
        if sep and name:
            fields[name] = urllib.parse.unquote(value) if name == "key" else value
    return fields


@dataclass(frozen=True, slots=True)
class MetadumpEntry:
    """One item from `lru_crawler metadump`: key (decoded), expiry and last access as UNIX
    seconds (`expires_at` is None for items that never expire), whether it was fetched since
    it was stored, its slab class and size in bytes."""

    key: str
    expires_at: int | None
    last_access: int
    fetched: bool
    slab: int
    size: int


def parse_metadump_line(line: bytes) -> MetadumpEntry:
    """Parse `key=k exp=-1 la=1795792460 cas=1 fetch=no cls=1 size=74`; raises
    `ProtocolError` naming the line for a missing or non-numeric field."""
    fields = parse_watch_line(line)
    try:
        expiry = int(fields["exp"])
        return MetadumpEntry(
            key=fields["key"],
            expires_at=None if expiry < 0 else expiry,
            last_access=int(fields["la"]),
            fetched=fields["fetch"] == "yes",
            slab=int(fields["cls"]),
            size=int(fields["size"]),
        )
    except (KeyError, ValueError) as exc:
        shown = line[:120].decode("utf-8", "replace")
        raise ProtocolError(f"metadump line {shown!r}: bad or missing field {exc}") from None


class MemcachedConnection:
    """One connection to one memcached server. Not safe for concurrent use.

    `watch` and `metadump` take the connection over: once one has started, only `close()`
    is allowed (memcached keeps streaming until the connection closes).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        target: Target,
        timeout_s: float,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.target = target
        self.timeout_s = timeout_s
        self._streaming: str | None = None
        self._ledger = ledger_for(target)

    @classmethod
    async def open(cls, target: Target, timeout_s: float | None = None) -> MemcachedConnection:
        timeout_s = target.timeout_s if timeout_s is None else timeout_s
        if target.password is not None:
            raise TargetError(
                f"{target.url}: memcached authentication is not supported (SASL needs the "
                "binary protocol; cachewatch speaks the text protocol); remove the password"
            )
        if target.tls is not None:
            raise TargetError(f"{target.url}: TLS to memcached is not supported")
        try:
            async with asyncio.timeout(timeout_s):
                if target.unix_path is not None:
                    reader, writer = await asyncio.open_unix_connection(
                        target.unix_path, limit=_LINE_LIMIT
                    )
                else:
                    reader, writer = await asyncio.open_connection(
                        target.host, target.port, limit=_LINE_LIMIT
                    )
        except TimeoutError:
            raise ConnectionLost(f"{target.url}: connect timed out after {timeout_s:g}s") from None
        except OSError as exc:
            raise ConnectionLost(f"{target.url}: cannot connect: {exc}") from None
        return cls(reader, writer, target, timeout_s)

    async def stats(self, arg: str = "") -> list[tuple[str, str]]:
        """Send `stats <arg>` and return its (key, value) pairs in the server's order."""
        command = f"stats {arg}".strip()
        self._check_idle(command)
        self._writer.write(command.encode() + b"\r\n")
        # Whole chunks, not line by line: a `stats items` reply has thousands of lines, and
        # nothing follows the reply because only one command is ever in flight.
        data = bytearray()
        async with self._deadline(command):
            while not _reply_complete(data):
                chunk = await self._reader.read(65536)
                if not chunk:
                    self._writer.close()
                    raise ConnectionLost(
                        f"{self.target.url}: connection closed by server during {command!r}"
                    )
                data += chunk
                if len(data) > _REPLY_LIMIT:
                    self._writer.close()
                    raise ProtocolError(
                        f"{self.target.url}: {command!r} reply longer than {_REPLY_LIMIT} bytes"
                    )
        return parse_stats_reply(command, bytes(data))

    async def version(self) -> str:
        """The server's version string (`1.6.18`)."""
        self._check_idle("version")
        self._writer.write(b"version\r\n")
        async with self._deadline("version"):
            line = (await self._read_line("version")).rstrip(b"\r\n")
        if line.startswith(_ERROR_PREFIXES):
            raise _error_reply("version", line)
        head, _, version = line.partition(b" ")
        if head != b"VERSION" or not version:
            raise ProtocolError(f"'version' reply: expected 'VERSION x', got {line[:80]!r}")
        return version.decode("utf-8", "replace")

    async def watch(self, *kinds: str, duration_s: float) -> AsyncIterator[bytes]:
        """Stream `watch <kinds>` log lines (without CRLF) for at most `duration_s` seconds.

        The iterator ends at the deadline or when the caller stops; either way the
        connection is closed afterwards, which is what ends the server's log stream.
        Parse lines with `parse_watch_line`.
        """
        unknown = sorted(set(kinds) - WATCH_KINDS)
        if not kinds or unknown:
            raise ValueError(f"watch kinds must be some of {sorted(WATCH_KINDS)}, got {unknown}")
        command = "watch " + " ".join(kinds)
        self._check_idle(command)
        self._streaming = command
        try:
            self._writer.write(command.encode() + b"\r\n")
            async with self._deadline(command):
                reply = (await self._read_line(command)).rstrip(b"\r\n")
            if reply != b"OK":
                if reply.startswith(_ERROR_PREFIXES):
                    raise _error_reply(command, reply)
                raise ProtocolError(f"{command!r}: expected OK, got {reply[:80]!r}")
            deadline = time.monotonic() + duration_s
            while (left := deadline - time.monotonic()) > 0:
                try:
                    async with asyncio.timeout(left):
                        line = await self._read_line(command)
                except TimeoutError:
                    return
                yield line.rstrip(b"\r\n")
        finally:
            await self.close()

    async def metadump(self, limit: int, slabs: str = "all") -> AsyncIterator[MetadumpEntry]:
        """Stream at most `limit` items of `lru_crawler metadump <slabs>`.

        Each line must arrive within the timeout. When the dump is cut short by `limit` (or
        the caller stops), the connection is closed, because the server keeps sending the
        rest. A server started with `-X` (dumping disabled) or one whose crawler is busy
        answers with an error, raised as `CommandError`.
        """
        if limit <= 0:
            raise ValueError(f"metadump limit must be positive, got {limit}")
        command = f"lru_crawler metadump {slabs}"
        self._check_idle(command)
        self._streaming = command
        self._writer.write(command.encode() + b"\r\n")
        finished = False
        try:
            for _ in range(limit):
                async with self._deadline(command):
                    line = (await self._read_line(command)).rstrip(b"\r\n")
                if line == b"END":
                    finished = True
                    return
                if line.startswith(_ERROR_PREFIXES) or line.startswith(b"BUSY"):
                    finished = True
                    raise _error_reply(command, line)
                yield parse_metadump_line(line)
        finally:
            if finished:
                self._streaming = None
            else:
                await self.close()

    async def close(self) -> None:
        await close_writer(self._writer)

    def _check_idle(self, command: str) -> None:
        """Called right before `command` is written: refuses it on a closed or streaming
        connection, else counts it as sent (`collectors/observer.py`)."""
        if self._writer.is_closing():
            raise ConnectionLost(f"{self.target.url}: connection is closed ({command!r})")
        if self._streaming is not None:
            raise RuntimeError(
                f"{self.target.url}: cannot send {command!r}: connection is streaming "
                f"{self._streaming!r}"
            )
        words = command.split()
        grouped = len(words) > 1 and words[0] in ("stats", "lru_crawler")
        self._ledger.sent([(f"{words[0]}|{words[1]}" if grouped else words[0],)])

    @contextlib.asynccontextmanager
    async def _deadline(self, command: str) -> AsyncIterator[None]:
        """Running past the timeout becomes ConnectionLost, and the connection is closed:
        its reply stream is out of step now."""
        try:
            async with asyncio.timeout(self.timeout_s):
                yield
        except TimeoutError:
            self._writer.close()
            raise ConnectionLost(
                f"{self.target.url}: no reply to {command!r} within {self.timeout_s:g}s"
            ) from None

    async def _read_line(self, command: str) -> bytes:
        try:
            line = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            self._writer.close()
            raise ConnectionLost(
                f"{self.target.url}: connection closed by server during {command!r}"
            ) from None
        except asyncio.LimitOverrunError:
            self._writer.close()
            raise ProtocolError(
                f"{self.target.url}: {command!r} reply line longer than {_LINE_LIMIT} bytes"
            ) from None
        except OSError as exc:
            self._writer.close()
            raise ConnectionLost(f"{self.target.url}: {command!r} failed: {exc}") from None
        return line
