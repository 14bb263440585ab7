"""`EmbeddedStore`: the head, the WAL, the blocks of every tier, events and metadata.

Directory layout (see docs/STORE.md): `wal/`, `raw/`, one directory per rollup tier,
`events.sqlite`. Background work (flush, block cut, compaction, retention) runs in
`maintain(now_ms)`, which the scheduler calls about once a second from the writer thread.
One writer thread appends; readers in other threads share one lock, held only while reading.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

import numpy as np

from monitor.model import Event, Labels, Matcher, MetricType, SampleBatch, now_ms
from monitor.store.api import SeriesData, StoreStats
from monitor.store.blockfile import BlockError, BlockReader, block_name, write_block
from monitor.store.config import StoreConfig
from monitor.store.events import EventLog
from monitor.store.head import Head, RollupPart
from monitor.store.merge import merge_parts, merge_segments, read_block_parts
from monitor.store.segment import EncodedSegment
from monitor.store.series_index import SeriesIndex, SeriesKey
from monitor.store.wal import WalWriter, latest_wal, replay_wal, wal_path, write_snapshot

__all__ = ["EmbeddedStore", "StoreLockedError", "acquire_store_lock"]

log = logging.getLogger(__name__)
RAW = "raw"
_COUNTER_SUFFIXES = ("_total", "_bucket", "_count", "_sum")


class StoreLockedError(RuntimeError):
    """Another process has the store open for writing."""


def acquire_store_lock(path: Path) -> IO[bytes]:
    """An exclusive lock on the store directory, held while the returned file stays open:
    two writers replaying and rotating the same WAL would destroy each other's data."""
    lock = open(path / "LOCK", "a+b")  # noqa: SIM115 - held for the store's lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        owner = lock.read().decode(errors="replace").strip() or "?"
        lock.close()
        raise StoreLockedError(
            f"the store at {path} is in use by another cachewatch process (pid {owner}); "
            "stop it, use another --store, or read it with `cachewatch query` / "
            "`cachewatch store stats`, which open stores read-only"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(str(os.getpid()).encode())
    lock.flush()
    return lock


class EmbeddedStore:
    """Use `EmbeddedStore.open(path, config)`."""

    def __init__(self, path: Path, config: StoreConfig, read_only: bool = False) -> None:
        self.path = path
        self.config = config
        self.read_only = read_only
        self._lock_file: IO[bytes] | None = None
        self._lock = threading.RLock()
        self._maintaining = threading.Lock()
        self._index = SeriesIndex()
        self._blocks: dict[str, list[BlockReader]] = {RAW: []}
        for tier in config.tiers:
            self._blocks[tier.name] = []
        self._events = EventLog(path / "events.sqlite", read_only=read_only)
        self._metadata = self._events.load_metadata()
        self._replaying = True
        self._wal: WalWriter | None = None
        self._head = Head(self._index, config, self._wal_add, self._is_counter)
        self._last_flush = 0
        self._closed = False

    @classmethod
    def open(
        cls, path: Path, config: StoreConfig | None = None, read_only: bool = False
    ) -> EmbeddedStore:
        """Open for writing (one process at a time: a second writer gets `StoreLockedError`)
        or, with `read_only`, to read a store that another process may be writing: nothing
        on disk is changed and the writer's latest flushed samples are visible."""
        path = Path(path)
        if read_only:
            if not (path / "wal").is_dir():
                raise FileNotFoundError(f"no store at {path}")
            store = cls(path, config or StoreConfig(), read_only=True)
            store._load_blocks()
            store._replay_read_only()
            return store
        for sub in ("wal", RAW, *(t.name for t in (config or StoreConfig()).tiers)):
            (path / sub).mkdir(parents=True, exist_ok=True)
        lock = acquire_store_lock(path)
        try:
            store = cls(path, config or StoreConfig())
            store._lock_file = lock
            store._load_blocks()
            store._replay()
        except BaseException:
            lock.close()
            raise
        return store

    # -- opening ---------------------------------------------------------------------------
    def _load_blocks(self) -> None:
        for tier, readers in self._blocks.items():
            if not self.read_only:
                for leftover in (self.path / tier).glob("*.tmp"):
                    leftover.unlink()
            for file in sorted((self.path / tier).glob("*.blk")):
                try:
                    readers.append(BlockReader(file, self._index.intern))
                except FileNotFoundError:  # compacted away by the writer meanwhile
                    continue
                except BlockError as exc:
                    log.error("skipping unreadable block: %s", exc)
            readers.sort(key=lambda b: b.start_ms)
        raw = self._blocks[RAW]
        if raw:
            self._head.min_ts = max(b.end_ms for b in raw)

    def _replay(self) -> None:
        wal_dir = self.path / "wal"
        seq, current = latest_wal(wal_dir)
        if current is not None:
            try:
                self._apply_wal(current)
            except (ValueError, KeyError, IndexError) as exc:
                log.error("WAL %s: unreadable record, ignoring the rest of it: %s", current, exc)
        self._replaying = False
        self._wal_seq = seq + 1
        write_snapshot(wal_dir, self._wal_seq, self._head.snapshot())
        if current is not None:
            current.unlink()
        self._wal = WalWriter(wal_path(wal_dir, self._wal_seq))

    def _replay_read_only(self) -> None:
        """Apply the writer's current log without touching it. The writer may rotate it
        away meanwhile (then read the new one) or be appending to it (a torn last record is
        simply where its flushed data ends)."""
        for _ in range(3):
            logs = sorted((self.path / "wal").glob("*.wal"))
            if not logs:
                break
            try:
                self._apply_wal(logs[-1])
            except FileNotFoundError:
                continue
            except (ValueError, KeyError, IndexError) as exc:
                log.debug("WAL %s: stopping at an unfinished record: %s", logs[-1], exc)
            break
        self._replaying = False

    def _apply_wal(self, wal: Path) -> None:
        head = self._head
        gid_map: dict[int, int] = {}
        targets = {}
        layouts: dict[int, np.ndarray] = {}
        for record in replay_wal(wal):
            kind, ident = record[0], int(record[1])  # type: ignore[call-overload]
            if kind == "series":
                gid_map[ident] = self._index.intern(record[2])  # type: ignore[arg-type]
            elif kind == "target":
                targets[ident] = head.target(record[2])  # type: ignore[arg-type]
            elif kind == "layout":
                gids = np.array(
                    [gid_map[g] for g in record[2].tolist()],  # type: ignore[attr-defined]
                    np.int64,
                )
                state, segment = targets[ident], targets[ident].segment
                width = 0 if segment is None else segment.gids.size
                if (
                    segment is not None
                    and gids.size > width
                    and (gids[:width] == segment.gids).all()
                ):
                    head.widen_segment(state, gids[width:])  # series new to the chunk
                else:
                    head.close_segment(state)
                layouts[ident] = gids
            else:
                state, ts = targets[ident], int(record[2])  # type: ignore[call-overload]
                if ts < head.min_ts or ts <= state.last_ts:
                    continue
                segment = state.segment
                if segment is None or segment.chunk != ts // self.config.chunk_duration_ms:
                    head.open_segment(state, layouts[ident], ts)
                head.replay_row(state, ts, record[3])  # type: ignore[arg-type]

    def _wal_add(self, record: bytes) -> None:
        if not self._replaying and self._wal is not None:
            self._wal.add(record)

    def _is_counter(self, key: SeriesKey) -> bool:
        name = dict(key).get("__name__", "")
        meta = self._metadata.get(name)
        if meta is not None and meta[0] == MetricType.COUNTER:
            return True
        return name.endswith(_COUNTER_SUFFIXES)

    # -- writing ---------------------------------------------------------------------------
    def append(self, batch: SampleBatch) -> None:
        """Target labels win over sample labels of the same name."""
        self._check_writable()
        with self._lock:
            if batch.metadata:
                self._note_metadata(batch.metadata)
            self._head.append(batch)

    def mark_stale(self, target_labels: Labels, ts_ms: int) -> None:
        self._check_writable()
        with self._lock:
            self._head.mark_stale(target_labels, ts_ms)

    def register_metadata(self, entries: dict[str, tuple[MetricType, str]]) -> None:
        self._check_writable()
        with self._lock:
            self._note_metadata(entries)

    def _note_metadata(self, entries: dict[str, tuple[MetricType, str]]) -> None:
        new = {k: v for k, v in entries.items() if self._metadata.get(k) != v}
        if new:
            self._metadata.update(new)
            self._events.save_metadata(new)

    def metadata(self) -> dict[str, tuple[MetricType, str]]:
        with self._lock:
            return dict(self._metadata)

    def add_events(self, events: Iterable[Event]) -> None:
        self._check_writable()
        with self._lock:
            self._events.add(events)

    def events(
        self,
        kind_prefix: str = "",
        target_labels: Labels | None = None,
        start_ms: int = 0,
        end_ms: int | None = None,
        limit: int = 1000,
    ) -> list[Event]:
        with self._lock:
            return self._events.query(kind_prefix, target_labels, start_ms, end_ms, limit)

    def flush(self) -> None:
        self._check_writable()
        # The WAL orders its own frames; only the event log needs the store's lock.
        assert self._wal is not None
        self._wal.flush()
        with self._lock:
            self._events.commit()

    def maintain(self, now: int | None = None) -> None:
        """Flush when due, compress sealed segments, cut finished block windows, compact,
        apply retention.

        The heavy work (compressing, merging, writing files, serialising the WAL snapshot)
        runs on immutable data without the store's lock; the lock is held only to pick the
        work up and to swap the results in, so appends are not held up by maintenance.
        One maintenance runs at a time.
        """
        self._check_writable()
        now = now_ms() if now is None else now
        with self._maintaining:
            if self._closed:
                return
            if now - self._last_flush >= self.config.flush_interval_ms:
                self.flush()
                self._last_flush = now
            grace = self.config.chunk_duration_ms
            with self._lock:
                done = [
                    b
                    for b in self._head.pending_blocks()
                    if b + self.config.block_duration_ms + grace <= now
                ]
                for block in done:
                    self._head.seal_block(block)
                sealed = list(self._head.sealed)
            if sealed:
                encoded = self._head.encode_sealed(sealed)
                with self._lock:
                    self._head.install_encoded(encoded)
            for block in done:
                self._cut(block)
            if done:
                self._rotate_wal()
                self._compact()
                with self._lock:
                    self._retain(now)

    def _cut(self, block: int) -> None:
        with self._lock:
            segments, rollups = self._head.block_contents(block)
        end = block + self.config.block_duration_ms
        written = [(RAW, self._write(RAW, block, end, merge_segments(segments)))]
        for tier, parts in rollups.items():
            written.append((tier, self._write(tier, block, end, merge_parts(parts))))
        with self._lock:
            for tier, reader in written:
                self._add_reader(tier, reader)
            self._head.drop_block(block)

    def _write(
        self, tier: str, start: int, end: int, segments: list[EncodedSegment]
    ) -> BlockReader | None:
        """Write a block file (no lock needed: it is not visible until `_add_reader`)."""
        if not segments:
            return None
        path = self.path / tier / block_name(start, end)
        write_block(path, tier, start, end, segments, self._index.keys.__getitem__)
        return BlockReader(path, self._gid_of)

    def _gid_of(self, key: SeriesKey) -> int:
        """A series id for a block being opened without the lock: our own blocks only hold
        series the index has, so this is a lookup; interning takes the lock."""
        gid = self._index.lookup(key)
        if gid is None:
            with self._lock:
                gid = self._index.intern(key)
        return gid

    def _add_reader(self, tier: str, reader: BlockReader | None) -> None:
        if reader is None:
            return
        readers = self._blocks[tier]
        readers.append(reader)
        readers.sort(key=lambda b: b.start_ms)

    def _rotate_wal(self) -> None:
        """Start a new log holding a snapshot of the head; the old log goes once the
        snapshot is on disk. Records appended meanwhile wait in the new log's buffer."""
        wal_dir = self.path / "wal"
        with self._lock:
            old = self._wal
            assert old is not None
            self._wal_seq += 1
            self._wal = WalWriter(wal_path(wal_dir, self._wal_seq), deferred=True)
            parts = self._head.snapshot_parts()
        old.close()
        write_snapshot(wal_dir, self._wal_seq, self._head.snapshot_records(parts))
        self._wal.open()
        old.path.unlink()

    def _compact(self) -> None:
        spans = {RAW: self.config.raw_compact_to_ms}
        spans.update({t.name: t.compact_to_ms for t in self.config.tiers})
        for tier, span in spans.items():
            with self._lock:
                groups: dict[int, list[BlockReader]] = {}
                for reader in self._blocks[tier]:
                    groups.setdefault(reader.start_ms - reader.start_ms % span, []).append(reader)
                head_start = self._head.min_ts
            for start, readers in groups.items():
                whole = start + span <= head_start
                if len(readers) < 2 or not whole:
                    continue
                # the readers stay readable (and are not dropped: only maintenance drops)
                parts: list[RollupPart] = []
                for reader in readers:
                    parts.extend(read_block_parts(reader))
                merged = self._write(tier, start, start + span, merge_parts(parts))
                with self._lock:
                    self._add_reader(tier, merged)
                    for reader in readers:
                        self._drop(tier, reader)

    def _drop(self, tier: str, reader: BlockReader) -> None:
        self._blocks[tier].remove(reader)
        reader.close()
        reader.path.unlink(missing_ok=True)

    def _retain(self, now: int) -> None:
        keep = {RAW: self.config.raw_retention_ms}
        keep.update({t.name: t.retention_ms for t in self.config.tiers})
        for tier, retention in keep.items():
            for reader in list(self._blocks[tier]):
                if reader.end_ms <= now - retention:
                    self._drop(tier, reader)
        everything = sorted(
            ((r.end_ms, tier, r) for tier, rs in self._blocks.items() for r in rs),
            key=lambda item: item[0],
        )
        total = sum(r.nbytes for _, _, r in everything)
        for _end, tier, reader in everything:
            if total <= self.config.max_bytes:
                break
            total -= reader.nbytes
            log.warning(
                "store over %d bytes: dropping block %s", self.config.max_bytes, reader.path
            )
            self._drop(tier, reader)
        self._events.delete_before(now - self.config.event_retention_ms)

    def _check_writable(self) -> None:
        if self.read_only:
            raise PermissionError(f"the store at {self.path} was opened read-only")

    def close(self) -> None:
        with self._maintaining, self._lock:
            if self._closed:
                return
            self._closed = True
            if self._wal is not None:
                self._wal.close()
            self._events.close()
            if self._lock_file is not None:
                self._lock_file.close()
            for readers in self._blocks.values():
                for reader in readers:
                    reader.close()

    # -- reading ---------------------------------------------------------------------------
    def _tier_order(self, start_ms: int) -> list[str]:
        """Tiers to read, coarsest first: the finest tier whose data reaches back to
        `start_ms`, then every finer one for what the coarser lacks. When no tier reaches
        that far (the query starts before all history), the finest tier that holds as much
        history as any: while raw data still covers everything, a query must not be
        answered from rollups."""
        names = [RAW, *(t.name for t in self.config.tiers)]
        oldest: list[int | None] = []
        for name in names:
            starts = [b.start_ms for b in self._blocks[name]]
            if name == RAW:
                head_oldest = self._head.oldest_ts()
                starts += [head_oldest] if head_oldest is not None else []
            oldest.append(min(starts) if starts else None)
        covering = [i for i, o in enumerate(oldest) if o is not None and o <= start_ms]
        if covering:
            chosen = covering[0]
        else:
            known = [(o, i) for i, o in enumerate(oldest) if o is not None]
            if not known:
                return [RAW]
            earliest = min(o for o, _ in known)
            # rollup blocks start on block boundaries, raw data where polling began
            slack = self.config.block_duration_ms
            chosen = min(i for o, i in known if o <= earliest + slack)
        return names[chosen::-1]

    def _read(
        self, gid: int, start_ms: int, end_ms: int, tiers: list[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        pieces: list[tuple[np.ndarray, np.ndarray]] = []
        lower = start_ms
        for tier in tiers:
            readers = self._blocks[tier]
            tier_end = max((b.end_ms for b in readers), default=lower)
            for reader in readers:
                if reader.end_ms > lower and reader.start_ms <= end_ms:
                    pieces.extend(reader.read(gid, lower, end_ms))
            if tier == RAW:
                pieces.extend(self._head.read(gid, lower, end_ms))
            lower = max(lower, tier_end)
        return _clip(pieces, start_ms, end_ms)

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        with self._lock:
            gids = sorted(self._index.match(matchers))
            tiers = self._tier_order(start_ms)
            out = []
            for gid in gids:
                ts, values = self._read(gid, start_ms, end_ms, tiers)
                if ts.size:
                    out.append(SeriesData(self._index.labels(gid), ts, values))
            return out

    def _live(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[int]:
        gids = self._index.match(matchers)
        live: set[int] = set()
        for readers in self._blocks.values():
            for reader in readers:
                if reader.end_ms > start_ms and reader.start_ms <= end_ms:
                    live.update(reader.series_ids.tolist())
        live.update(self._head.gid_target)
        return sorted(gids & live)

    def series(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        with self._lock:
            return [self._index.labels(g) for g in self._live(matchers, start_ms, end_ms)]

    def label_names(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[str]:
        with self._lock:
            names = {
                k for g in self._live(matchers, start_ms, end_ms) for k, _ in self._index.keys[g]
            }
            return sorted(names)

    def label_values(
        self, name: str, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[str]:
        with self._lock:
            keys = (dict(self._index.keys[g]) for g in self._live(matchers, start_ms, end_ms))
            return sorted({k[name] for k in keys if name in k})

    def stats(self) -> StoreStats:
        with self._lock:
            blocks = [r for rs in self._blocks.values() for r in rs]
            wal_bytes = sum(p.stat().st_size for p in (self.path / "wal").glob("*.wal"))
            on_disk = sum(r.nbytes for r in blocks) + wal_bytes + self._events.bytes_on_disk()
            raw = self._blocks[RAW]
            raw_samples = sum(r.samples for r in raw)
            samples = raw_samples + self._head.samples
            per_sample = sum(r.nbytes for r in raw) / raw_samples if raw_samples else 0.0
            return StoreStats(len(self._index), samples, on_disk, per_sample)


def _clip(
    pieces: list[tuple[np.ndarray, np.ndarray]], start_ms: int, end_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    if not pieces:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    ts = np.concatenate([p[0] for p in pieces])
    values = np.concatenate([p[1] for p in pieces])
    if ts.size > 1 and np.any(ts[1:] <= ts[:-1]):
        ts, first = np.unique(ts, return_index=True)
        values = values[first]
    lo = int(np.searchsorted(ts, start_ms, side="left"))
    hi = int(np.searchsorted(ts, end_ms, side="right"))
    return ts[lo:hi], values[lo:hi]
