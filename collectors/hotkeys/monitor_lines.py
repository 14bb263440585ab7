"""Parse MONITOR output lines into commands.

Each line is `<unix ts> [<db> <client>] "arg" "arg" ...`, where the client is `ip:port`,
`unix:/path` or `lua` (commands a script ran), and every argument is quoted the way
`sdscatrepr` does it: `\\\\`, `\\"`, `\\n`, `\\r`, `\\t`, `\\a`, `\\b` and `\\xNN` for other
bytes that are not printable. Pipelined commands are simply consecutive lines; a
transaction shows as `MULTI`, the queued commands, `EXEC`, all at execution time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MonitorCommand", "MonitorLineError", "parse_monitor_line"]


class MonitorLineError(ValueError):
    """A line that is not in MONITOR's format."""


@dataclass(frozen=True, slots=True)
class MonitorCommand:
    ts: float
    db: int
    client: str
    argv: tuple[bytes, ...]


_ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|.)", re.DOTALL)
_SIMPLE = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b"}


def _unescape(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    if len(code) == 3:
        return bytes((int(code[1:], 16),))
    return _SIMPLE.get(code, code)


def parse_monitor_line(line: bytes) -> MonitorCommand:
    """One MONITOR line (without the RESP `+` or the CRLF) -> its command."""
    head_end = line.find(b'] "')
    if head_end < 0:
        raise MonitorLineError(f"MONITOR line without a command: {line[:80]!r}")
    head = line[:head_end]
    ts_text, _, bracket = head.partition(b" [")
    db_text, _, client = bracket.partition(b" ")
    try:
        ts, db = float(ts_text), int(db_text)
    except ValueError:
        raise MonitorLineError(f"MONITOR line with a bad timestamp or db: {line[:80]!r}") from None
    args = []
    for match in _ARG.finditer(line, head_end + 2):
        raw = match.group(1)
        args.append(_ESCAPE.sub(_unescape, raw) if b"\\" in raw else raw)
    if not args:
        raise MonitorLineError(f"MONITOR line without arguments: {line[:80]!r}")
    return MonitorCommand(ts, db, client.decode("latin-1"), tuple(args))
