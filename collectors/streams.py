"""What the asyncio server connections (Redis, memcached) share about their streams."""

from __future__ import annotations

import asyncio

__all__ = ["close_writer"]


async def close_writer(writer: asyncio.StreamWriter, timeout_s: float = 1.0) -> None:
    """Close a stream, waiting at most `timeout_s` for the peer: a frozen server must not
    hold up whoever is dropping the connection to it."""
    if writer.is_closing():
        return
    writer.close()
    try:
        async with asyncio.timeout(timeout_s):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        pass
