"""Events and metric metadata, in sqlite (WAL mode) next to the blocks."""

from __future__ import annotations

import json
import sqlite3
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


class EventLog:
    """Callers serialise access (the store's lock); commits happen on `commit()`."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        if read_only:
            self._db = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                check_same_thread=False,
                isolation_level=None,
            )
        else:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        self._db.execute("BEGIN")
        self._pending = False

    def add(self, events: Iterable[Event]) -> None:
        rows = [
            (e.ts_ms, e.kind, json.dumps(e.target_labels), json.dumps(e.data, default=str))
            for e in events
        ]
        if rows:
            self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", rows)
            self._pending = True

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
        return [
            Event(
                ts, kind, tuple((str(k), str(v)) for k, v in json.loads(target)), json.loads(data)
            )
            for ts, kind, target, data in self._db.execute(sql, args)
        ]

    def delete_before(self, ts_ms: int) -> None:
        self._db.execute("DELETE FROM events WHERE ts_ms < ?", (ts_ms,))
        self._pending = True

    def save_metadata(self, entries: dict[str, tuple[MetricType, str]]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO metadata VALUES (?, ?, ?)",
            [(name, str(kind), help_text) for name, (kind, help_text) in entries.items()],
        )
        self._pending = True

    def load_metadata(self) -> dict[str, tuple[MetricType, str]]:
        out = {}
        for name, kind, help_text in self._db.execute("SELECT name, type, help FROM metadata"):
            try:
                out[name] = (MetricType(kind), help_text or "")
            except ValueError:
                continue
        return out

    def commit(self) -> None:
        if self._pending:
            self._db.execute("COMMIT")
            self._db.execute("BEGIN")
            self._pending = False

    def bytes_on_disk(self) -> int:
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))

    def close(self) -> None:
        self.commit()
        self._db.execute("COMMIT")
        self._db.close()
