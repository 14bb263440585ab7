"""Where a running `serve` can be asked: a small file it leaves in the store it writes.

`cachewatch query` on the same machine would otherwise open the store itself, read-only:
at a thousand targets that means reading the writer's whole log (the last ten minutes of
every target) before the first sample, about two seconds. The `serve` that writes the
store already holds all of it in memory and answers the same expression through its query
API, with the same engine, in milliseconds. So `serve` writes `<store>/SERVE` (its pid, the
URL it listens on, whether it wants credentials) once it listens, and removes it when it
stops; a reading command trusts the file only while that pid is alive and is the one
holding the store's lock (a file left by a killed process, or a serve of another store,
is ignored).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ServeAddress", "announce", "withdraw", "find", "FILE_NAME"]

FILE_NAME = "SERVE"


@dataclass(frozen=True, slots=True)
class ServeAddress:
    pid: int
    #: e.g. http://127.0.0.1:8050 (a wildcard listen address is reached on loopback)
    url: str
    #: the server wants basic or bearer credentials on its API
    auth: bool


def announce(store: Path, url: str, auth: bool) -> Path | None:
    """Write `<store>/SERVE` for this process; None when the store cannot take it."""
    path = store / FILE_NAME
    record = {"pid": os.getpid(), "url": _reachable(url), "auth": auth}
    tmp = path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(record) + "\n")
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return None
    return path


def withdraw(path: Path | None) -> None:
    """Remove the file this process wrote (not one a newer serve has written since)."""
    if path is None:
        return
    found = _read(path)
    if found is not None and found.pid == os.getpid():
        with contextlib.suppress(OSError):
            path.unlink()


def find(store: Path) -> ServeAddress | None:
    """The serve that writes `store` now, if it left its address; None otherwise."""
    found = _read(store / FILE_NAME)
    if found is None or not _alive(found.pid) or _lock_owner(store) != found.pid:
        return None
    return found


def _read(path: Path) -> ServeAddress | None:
    try:
        record = json.loads(path.read_text())
        return ServeAddress(int(record["pid"]), str(record["url"]), bool(record["auth"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _lock_owner(store: Path) -> int | None:
    try:
        return int((store / "LOCK").read_text().strip())
    except (OSError, ValueError):
        return None


def _reachable(url: str) -> str:
    """A server listening on every address is asked on loopback."""
    for wildcard, loopback in (("//0.0.0.0:", "//127.0.0.1:"), ("//[::]:", "//[::1]:")):
        url = url.replace(wildcard, loopback)
    return url
