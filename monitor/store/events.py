"""Events and metric metadata, in sqlite (WAL mode) next to the blocks.

The log has its own locks, not the store's: adding an event (from the polling loop) never
waits on a reader, and readers use their own connection, which sqlite's WAL mode lets read
beside the writer. Events are committed as they are added (they are rare: a failover, a
restart, a poll's new slowlog entries), so a view shows a failover in the same refresh as
the roles it changed; metadata waits for the store's flush. Rows added since the last
commit are kept in memory too, so a commit that fails (a full disk) loses nothing: the
transaction is rolled back and the rows are written again at the next flush.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from monitor.model import Event, Labels, MetricType

__all__ = ["EventLog"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    ts_ms INTEGER NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts_ms);
CREATE TABLE IF NOT EXISTS metadata (name TEXT PRIMARY KEY, type TEXT NOT NULL, help TEXT);
"""
_INSERT_EVENT = "INSERT INTO events VALUES (?, ?, ?, ?)"
_INSERT_METADATA = "INSERT OR REPLACE INTO metadata VALUES (?, ?, ?)"

_Row = tuple[object, ...]


class EventLog:
    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        self._writer: sqlite3.Connection | None = None
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        #: (statement, rows) added since the last commit, to write again if it fails
        self._uncommitted: list[tuple[str, list[_Row]]] = []
        self._dirty = False
        if not read_only:
            self._writer = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.execute("PRAGMA synchronous=NORMAL")
            self._writer.executescript(_SCHEMA)
            self._writer.execute("BEGIN")
        # A read-only open must change nothing: with no writer running and nothing left in
        # sqlite's WAL, the file is opened immutable (sqlite then writes not even its
        # shared-memory index); otherwise read-only, seeing the writer's commits.
        immutable = read_only and not _writer_alive(path.parent) and not _has_wal(path)
        self._reader = sqlite3.connect(
            f"{path.resolve().as_uri()}?{'immutable=1' if immutable else 'mode=ro'}",
            uri=True,
            check_same_thread=False,
            isolation_level=None,
        )

    def _write(self, statement: str, rows: list[_Row]) -> None:
        if self._writer is None:
            raise PermissionError(f"{self.path} was opened read-only")
        with self._write_lock:
            self._writer.executemany(statement, rows)
            self._uncommitted.append((statement, rows))
            self._dirty = True

    def add(self, events: Iterable[Event]) -> None:
        rows: list[_Row] = [
            (e.ts_ms, e.kind, json.dumps(e.target_labels), json.dumps(e.data, default=str))
            for e in events
        ]
        if rows:
            self._write(_INSERT_EVENT, rows)
            # a failed commit keeps the rows; the store's flush retries and counts it
            with contextlib.suppress(sqlite3.Error, OSError):
                self.commit()

    def save_metadata(self, entries: dict[str, tuple[MetricType, str]]) -> None:
        rows: list[_Row] = [
            (name, str(kind), help_text) for name, (kind, help_text) in entries.items()
        ]
        self._write(_INSERT_METADATA, rows)

    def delete_before(self, ts_ms: int) -> None:
        if self._writer is None:
            return
        with self._write_lock:
            self._writer.execute("DELETE FROM events WHERE ts_ms < ?", (ts_ms,))
            self._dirty = True

    def commit(self) -> None:
        """Make what was added durable and visible to readers; on failure (sqlite3.Error,
        OSError) roll back and keep the rows for the next commit."""
        if self._writer is None:
            return
        with self._write_lock:
            if not self._dirty:
                return
            try:
                self._writer.execute("COMMIT")
            except (sqlite3.Error, OSError):
                with contextlib.suppress(sqlite3.Error):
                    self._writer.execute("ROLLBACK")
                self._writer.execute("BEGIN")
                for statement, rows in self._uncommitted:
                    self._writer.executemany(statement, rows)
                raise
            self._uncommitted = []
            self._dirty = False
            self._writer.execute("BEGIN")

    def query(
        self,
        kind_prefix: str,
        target_labels: Labels | None,
        start_ms: int,
        end_ms: int | None,
        limit: int,
    ) -> list[Event]:
        sql = "SELECT ts_ms, kind, target, data FROM events WHERE ts_ms >= ?"
        args: list[object] = [start_ms]
        if end_ms is not None:
            sql += " AND ts_ms <= ?"
            args.append(end_ms)
        if kind_prefix:
            sql += " AND substr(kind, 1, ?) = ?"
            args += [len(kind_prefix), kind_prefix]
        if target_labels is not None:
            sql += " AND target = ?"
            args.append(json.dumps(target_labels))
        sql += " ORDER BY ts_ms DESC, rowid DESC LIMIT ?"
        args.append(limit)
        with self._read_lock:
            rows = self._reader.execute(sql, args).fetchall()
        return [
            Event(
                ts, kind, tuple((str(k), str(v)) for k, v in json.loads(target)), json.loads(data)
            )
            for ts, kind, target, data in rows
        ]

    def load_metadata(self) -> dict[str, tuple[MetricType, str]]:
        out = {}
        with self._read_lock:
            rows = self._reader.execute("SELECT name, type, help FROM metadata").fetchall()
        for name, kind, help_text in rows:
            try:
                out[name] = (MetricType(kind), help_text or "")
            except ValueError:
                continue
        return out

    def bytes_on_disk(self) -> int:
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))

    def close(self) -> None:
        try:
            self.commit()
        finally:
            # the reader first: the writer, closing last, checkpoints and removes sqlite's
            # WAL and shared-memory files, so a later read-only open finds a plain file
            with self._read_lock:
                self._reader.close()
            if self._writer is not None:
                with self._write_lock, contextlib.suppress(sqlite3.Error):
                    self._writer.execute("COMMIT")
                self._writer.close()


def _has_wal(path: Path) -> bool:
    wal = path.with_name(path.name + "-wal")
    return wal.exists() and wal.stat().st_size > 0


def _writer_alive(store: Path) -> bool:
    """Whether a writer holds the store (its directory lock, `monitor.store.lock`)."""
    try:
        fd = os.open(store, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
