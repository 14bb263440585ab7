"""A small asyncio Redis connection for monitoring: raw replies, pipelines, nothing else.

Why not redis-py's client: we need raw replies (INFO as bytes, not redis-py's dict with its
per-field type guessing, which costs more CPU than the rest of a poll), one round trip for
the whole poll, streaming for bounded MONITOR bursts, and error messages with secrets
removed. hiredis does the RESP parsing in C.

Replies come back as hiredis gives them: bytes, int, list, None, or `ReplyError` instances
for error replies inside a pipeline (a single `execute` raises `CommandError` instead).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any

import hiredis

from collectors.observer import CLIENT_NAME, ledger_for
from collectors.streams import close_writer
from monitor.secrets import redact
from monitor.targets import Target

__all__ = ["RedisConnection", "CommandError", "ConnectionLost", "ReplyError", "encode_command"]

ReplyError = hiredis.ReplyError


class CommandError(Exception):
    """The server answered a command with an error reply."""


class ConnectionLost(ConnectionError):
    """The connection closed or broke mid-reply."""


def encode_command(args: tuple[Any, ...]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        else:
            data = str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class RedisConnection:
    """One connection to one Redis/Valkey server. Not safe for concurrent use: the poller
    owns it and never overlaps polls of a target."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: Target):
        self._reader = reader
        self._writer = writer
        self._parser = hiredis.Reader()
        self.target = target
        self._ledger = ledger_for(target)

    @classmethod
    async def open(cls, target: Target, timeout_s: float | None = None) -> RedisConnection:
        timeout_s = target.timeout_s if timeout_s is None else timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                if target.unix_path is not None:
                    reader, writer = await asyncio.open_unix_connection(target.unix_path)
                else:
                    ssl_ctx = _ssl_context(target) if target.tls is not None else None
                    server_hostname = None
                    if ssl_ctx is not None:
                        server_hostname = (target.tls and target.tls.server_name) or target.host
                    reader, writer = await asyncio.open_connection(
                        target.host, target.port, ssl=ssl_ctx, server_hostname=server_hostname
                    )
                conn = cls(reader, writer, target)
                try:
                    await conn._handshake()
                except BaseException:
                    # also on cancellation (the poll's timeout): never leak the socket
                    writer.close()
                    raise
                return conn
        except TimeoutError:
            raise ConnectionLost(f"{target.url}: connect timed out after {timeout_s:g}s") from None
        except OSError as exc:
            message = redact(str(exc), target.password)
            raise ConnectionLost(f"{target.url}: cannot connect: {message}") from None

    async def _handshake(self) -> None:
        target = self.target
        commands: list[tuple[Any, ...]] = []
        if target.password is not None:
            if target.username:
                commands.append(("AUTH", target.username, target.password.reveal()))
            else:
                commands.append(("AUTH", target.password.reveal()))
        if target.db:
            commands.append(("SELECT", target.db))
        # A name makes our connection recognisable in CLIENT LIST (and excludable there).
        commands.append(("CLIENT", "SETNAME", CLIENT_NAME))
        replies = await self.pipeline(commands)
        for command, reply in zip(commands, replies, strict=True):
            if isinstance(reply, ReplyError) and command[0] != "CLIENT":
                # Never echo the AUTH arguments; the server's message is safe to show.
                raise CommandError(
                    f"{target.url}: {command[0]} failed: {redact(str(reply), target.password)}"
                )

    async def execute(self, *args: Any) -> Any:
        (reply,) = await self.pipeline([args])
        if isinstance(reply, ReplyError):
            raise CommandError(str(reply))
        return reply

    async def pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Send all commands in one write and read one reply per command.

        Error replies are returned in place (as `ReplyError`), not raised, so one refused
        command does not lose the others' replies.
        """
        self._writer.write(b"".join(encode_command(c) for c in commands))
        replies: list[Any] = []
        try:
            for _ in commands:
                replies.append(await self.read_reply())
        finally:
            # every command written counts (the server may have run it), lookups by reply
            self._ledger.answered(commands, replies)
        return replies

    async def read_reply(self) -> Any:
        parser = self._parser
        while True:
            reply = parser.gets()
            if reply is not False:
                return reply
            data = await self._reader.read(65536)
            if not data:
                raise ConnectionLost(f"{self.target.url}: connection closed by server")
            parser.feed(data)

    async def read_replies_until(self, until: float, max_bytes: int) -> tuple[list[Any], int]:
        """Every reply that arrives before the monotonic time `until`, reading at most about
        `max_bytes`, as fast as the socket gives them (for MONITOR's stream: parse later,
        collect now, so the reader keeps up). Returns (replies, bytes read); stops early
        when the connection closes."""
        parser, replies, read = self._parser, [], 0
        while True:
            reply = parser.gets()
            while reply is not False:
                replies.append(reply)
                reply = parser.gets()
            left = until - time.monotonic()
            if left <= 0 or read >= max_bytes:
                return replies, read
            try:
                async with asyncio.timeout(left):
                    data = await self._reader.read(1 << 20)
            except (TimeoutError, OSError):
                return replies, read
            if not data:
                return replies, read
            read += len(data)
            parser.feed(data)

    @property
    def writer(self) -> asyncio.StreamWriter:
        """The underlying stream, for watchdogs that must cut a connection from another
        thread (bounded MONITOR bursts)."""
        return self._writer

    async def send(self, *args: Any) -> None:
        """Write one command without reading its reply (for MONITOR-style streams)."""
        self._writer.write(encode_command(args))
        self._ledger.sent([args])
        await self._writer.drain()

    async def close(self) -> None:
        await close_writer(self._writer)


def _ssl_context(target: Target) -> ssl.SSLContext:
    tls = target.tls
    assert tls is not None
    ctx = ssl.create_default_context(cafile=tls.ca_file)
    if tls.cert_file:
        ctx.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
