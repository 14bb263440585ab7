"""One writer per store directory.

Two writers replaying and rotating one WAL destroy each other's data, so the writer holds an
exclusive `flock` on the store directory itself, which no `rm LOCK` can take away, and on the
`LOCK` file inside it (what older cachewatch versions lock, and where the owner's pid is
written for the error a second writer gets). The writer checks every second that `LOCK` is
still the file it locked: a `LOCK` replaced by another file means some other process (an
older version, or a person) has taken the store over, and the writer stops writing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

__all__ = ["StoreLock", "StoreLockedError", "LockStatus"]


class StoreLockedError(RuntimeError):
    """Another process has the store open for writing."""


class LockStatus:
    OURS = "ours"
    #: deleted, and recreated by us: the directory lock kept every other writer out
    RESTORED = "restored"
    #: another file took its place: someone else writes here now
    TAKEN = "taken"


class StoreLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._dir_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(self._dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._dir_fd)
            raise StoreLockedError(_in_use(path)) from None
        try:
            self._file_fd = self._lock_file()
        except BaseException:
            os.close(self._dir_fd)
            raise

    def _lock_file(self) -> int:
        fd = os.open(self.path / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreLockedError(_in_use(self.path)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        return fd

    def check(self) -> str:
        """Whether `LOCK` is still ours (a `LockStatus`); a deleted one is recreated."""
        try:
            current = os.stat(self.path / "LOCK")
        except FileNotFoundError:
            os.close(self._file_fd)
            try:
                self._file_fd = self._lock_file()
            except StoreLockedError:  # someone created and locked a new one meanwhile
                self._file_fd = os.open(os.devnull, os.O_RDONLY)
                return LockStatus.TAKEN
            return LockStatus.RESTORED
        ours = os.fstat(self._file_fd)
        if (current.st_dev, current.st_ino) != (ours.st_dev, ours.st_ino):
            return LockStatus.TAKEN
        return LockStatus.OURS

    def close(self) -> None:
        for fd in (self._file_fd, self._dir_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def _in_use(path: Path) -> str:
    try:
        owner = (path / "LOCK").read_text(errors="replace").strip() or "?"
    except OSError:
        owner = "?"
    return (
        f"the store at {path} is in use by another cachewatch process (pid {owner}); "
        "stop it, use another --store, or read it with `cachewatch query` / "
        "`cachewatch store stats`, which open stores read-only"
    )
