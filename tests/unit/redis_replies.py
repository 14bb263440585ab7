"""Load the replies captured from real Redis 7.0 and Valkey 8.0 in `tests/unit/replies/`.

Each `.resp` file holds the raw RESP bytes of one reply, as the server sent it (captured by
sending the command over a socket), so tests see exactly what hiredis gives the collectors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hiredis

from monitor.model import SampleBatch

REPLIES = Path(__file__).parent / "replies"
SERVERS = ("redis7", "valkey8")


def reply(name: str) -> Any:
    reader = hiredis.Reader()
    reader.feed((REPLIES / f"{name}.resp").read_bytes())
    return reader.gets()


def batch() -> SampleBatch:
    return SampleBatch(ts_ms=1_800_000_000_000, target_labels=(("instance", "t:1"),))


def samples(out: SampleBatch) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(n, lbl): v for n, lbl, v in zip(out.names, out.labels, out.values, strict=True)}
