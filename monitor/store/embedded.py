"""`EmbeddedStore`: the head, the WAL, the blocks of every tier, events and metadata.

Directory layout (see docs/STORE.md): `wal/`, `raw/`, one directory per rollup tier,
`events.sqlite`, `corrupt/` for blocks that failed their checksums. Background work (flush,
block cut, compaction, retention) runs in `maintain(now_ms)`, which the scheduler calls about
once a second from the writer thread.

Collection never waits on a reader: the store's lock is held only to append, to swap
maintenance results in, and for a reader to take a *view* (the blocks it will read, pinned
open, and frozen views of the head's segments). Matching regexes, reading files and decoding
all happen outside it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TypeVar

import numpy as np

from monitor.gcpause import collector_paused
from monitor.model import Event, Labels, Matcher, MetricType, SampleBatch, now_ms
from monitor.store.api import (
    ReadBudget,
    SeriesData,
    StoreCorruptionError,
    StoreHealth,
    StoreStats,
)
from monitor.store.blockfile import (
    BlockReader,
    CorruptBlockError,
    block_name,
    write_block,
    write_copy,
)
from monitor.store.blockset import BlockSet, file_size
from monitor.store.config import StoreConfig
from monitor.store.events import EventLog
from monitor.store.gather import block_plan, gather
from monitor.store.head import Head, HeadView, Rollup
from monitor.store.health import WriteHealth
from monitor.store.lock import LockStatus, StoreLock, StoreLockedError
from monitor.store.merge import BlockPart, merge_parts, merge_segments, read_block_parts
from monitor.store.recovery import ScopedHead, replay_into, replay_scoped
from monitor.store.scope import ReadScope
from monitor.store.segment import ABSENT_BITS, EncodedSegment
from monitor.store.series_index import SeriesIndex, SeriesKey
from monitor.store.wal import (
    WalWriter,
    latest_wal,
    read_frames,
    replay_wal,
    wal_path,
    write_snapshot,
)

__all__ = ["EmbeddedStore", "StoreLockedError"]

log = logging.getLogger(__name__)
RAW = "raw"
_COUNTER_SUFFIXES = ("_total", "_bucket", "_count", "_sum")
T = TypeVar("T")
#: frames of the log decompressed ahead of a read-only replay, in a thread
_FRAMES_AHEAD = 2


@dataclass
class _ReadView:
    """What one read needs, taken under the lock, used without it."""

    tiers: list[str]
    blocks: dict[str, list[BlockReader]]
    head: HeadView = field(default_factory=lambda: HeadView({}))

    def release(self) -> None:
        for readers in self.blocks.values():
            for reader in readers:
                reader.release()


class EmbeddedStore:
    """Use `EmbeddedStore.open(path, config)`."""

    def __init__(self, path: Path, config: StoreConfig, read_only: bool = False) -> None:
        self.path = path
        self.config = config
        self.read_only = read_only
        self._store_lock: StoreLock | None = None
        self._lock = threading.RLock()
        self._maintaining = threading.Lock()
        self._index = SeriesIndex()
        self._blocks = BlockSet(path, [RAW, *(t.name for t in config.tiers)], read_only)
        self._events = EventLog(path / "events.sqlite", read_only=read_only)
        self._metadata = self._events.load_metadata()
        self._replaying = True
        self._wal: WalWriter | None = None
        self._head = Head(self._index, config, self._wal_add, self._is_counter)
        self._last_flush = 0
        self._closed = False
        self._health = WriteHealth(path)

    @classmethod
    def open(
        cls,
        path: Path,
        config: StoreConfig | None = None,
        read_only: bool = False,
        scope: ReadScope | None = None,
    ) -> EmbeddedStore:
        """Open for writing (one process at a time: a second writer gets `StoreLockedError`)
        or, with `read_only`, to read a store that another process may be writing: nothing
        on disk is changed and the writer's latest flushed samples are visible.

        A read-only open with a `scope` loads only what the scope's reads need and answers
        only those (`monitor.store.scope`; wrap it in a `ScopedStore`)."""
        path = Path(path)
        if scope is not None and not read_only:
            raise ValueError("only a read-only open can be scoped")
        with _collector_paused():
            return cls._open(path, config, read_only, scope)

    @classmethod
    def _open(
        cls, path: Path, config: StoreConfig | None, read_only: bool, scope: ReadScope | None
    ) -> EmbeddedStore:
        if read_only:
            if not (path / "wal").is_dir():
                raise FileNotFoundError(f"no store at {path}")
            store = cls(path, config or StoreConfig(), read_only=True)
            if scope is not None:
                store._head = ScopedHead(
                    store._index, store.config, store._wal_add, store._is_counter
                )
            store._load_blocks(scope)
            store._replay_read_only(scope)
            return store
        path.mkdir(parents=True, exist_ok=True)
        lock = StoreLock(path)
        try:
            for sub in ("wal", RAW, *(t.name for t in (config or StoreConfig()).tiers)):
                (path / sub).mkdir(exist_ok=True)
            store = cls(path, config or StoreConfig())
            store._store_lock = lock
            store._load_blocks()
            store._replay()
        except BaseException:
            lock.close()
            raise
        return store

    # -- opening ---------------------------------------------------------------------------
    def _load_blocks(self, scope: ReadScope | None = None) -> None:
        if scope is None:
            self._blocks.load(self._index.intern)
        else:
            window = (scope.start_ms, scope.end_ms)
            self._blocks.load(self._index.intern, window, scope.metric_names())
        raw = self._blocks.readers(RAW)
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

    def _replay_read_only(self, scope: ReadScope | None = None) -> None:
        """Apply the writer's current log without touching it. The writer may rotate it
        away meanwhile (then read the new one) or be appending to it (a torn last record is
        simply where its flushed data ends)."""
        keep = scope.record_filter() if scope is not None else None
        for _ in range(3):
            logs = sorted((self.path / "wal").glob("*.wal"))
            if not logs:
                break
            try:
                if isinstance(self._head, ScopedHead):
                    self._apply_wal_scoped(logs[-1], keep)
                else:
                    self._apply_wal(logs[-1], repair=False)
            except FileNotFoundError:
                continue
            except (ValueError, KeyError, IndexError) as exc:
                log.debug("WAL %s: stopping at an unfinished record: %s", logs[-1], exc)
            break
        self._replaying = False

    def _apply_wal(self, wal: Path, repair: bool = True) -> None:
        self._head.logging = False
        try:
            ahead = 0 if repair else _FRAMES_AHEAD
            replay_into(self._head, self._index.intern, replay_wal(wal, repair, ahead))
        finally:
            self._head.logging = True

    def _apply_wal_scoped(self, wal: Path, keep: re.Pattern[bytes] | None) -> None:
        assert isinstance(self._head, ScopedHead)
        self._head.logging = False
        try:
            frames = read_frames(wal, repair=False, ahead=_FRAMES_AHEAD)
            replay_scoped(self._head, self._index.intern, frames, keep)
        finally:
            self._head.logging = True

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
        if self._health.fenced:
            return
        with self._lock:
            if batch.metadata:
                self._note_metadata(batch.metadata)
            self._head.append(batch)

    def mark_stale(self, target_labels: Labels, ts_ms: int, source: str = "") -> None:
        self._check_writable()
        if self._health.fenced:
            return
        with self._lock:
            self._head.mark_stale(target_labels, ts_ms, source)

    def register_metadata(self, entries: dict[str, tuple[MetricType, str]]) -> None:
        self._check_writable()
        with self._lock:
            self._note_metadata(entries)

    def _note_metadata(self, entries: dict[str, tuple[MetricType, str]]) -> None:
        new = {k: v for k, v in entries.items() if self._metadata.get(k) != v}
        if new:
            self._metadata.update(new)
            if not self._health.fenced:
                self._events.save_metadata(new)

    def metadata(self) -> dict[str, tuple[MetricType, str]]:
        with self._lock:
            return dict(self._metadata)

    def add_events(self, events: Iterable[Event]) -> None:
        self._check_writable()
        if not self._health.fenced:
            self._events.add(events)

    def events(
        self,
        kind_prefix: str = "",
        target_labels: Labels | None = None,
        start_ms: int = 0,
        end_ms: int | None = None,
        limit: int = 1000,
    ) -> list[Event]:
        return self._events.query(kind_prefix, target_labels, start_ms, end_ms, limit)

    def flush(self) -> None:
        """Make everything appended durable (OSError when the disk refuses: nothing is
        dropped, the next flush writes it)."""
        self._check_writable()
        assert self._wal is not None
        # The WAL orders its own frames and the event log has its own lock: neither needs
        # the store's.
        self._wal.flush()
        self._events.commit()

    def health(self) -> StoreHealth:
        return self._health.snapshot()

    def maintain(self, now: int | None = None) -> None:
        """Flush when due, compress sealed segments, cut finished block windows, compact,
        apply retention.

        The heavy work (compressing, merging, writing files, serialising the WAL snapshot)
        runs on immutable data without the store's lock; the lock is held only to pick the
        work up and to swap the results in, so appends are not held up by maintenance.
        One maintenance runs at a time. A step that fails to write (a full disk) is counted
        and retried next time; the others still run (retention frees space).
        """
        self._check_writable()
        now = now_ms() if now is None else now
        with self._maintaining:
            if self._closed or self._health.fenced or not self._lock_still_ours():
                return
            failure: tuple[str, Exception] | None = None
            wrote = False
            if now - self._last_flush >= self.config.flush_interval_ms:
                wrote = True
                failure = self._attempt("writing the WAL", self.flush) or failure
                if failure is None:
                    self._last_flush = now
            done = self._seal_due(now)
            cut = 0
            for block in done:
                wrote = True
                problem = self._attempt("writing a block", self._cut, block)
                if problem is not None:
                    failure = failure or problem
                    break
                cut += 1
            if cut:
                failure = self._attempt("rotating the WAL", self._rotate_wal) or failure
                failure = self._attempt("compacting blocks", self._compact) or failure
            if done or failure is not None:
                failure = self._attempt("applying retention", self._retain, now) or failure
            if failure is None and wrote:  # only a write that worked says writes work
                self._health.succeeded()

    def _attempt(
        self, what: str, step: Callable[..., object], *args: object
    ) -> tuple[str, Exception] | None:
        try:
            step(*args)
        except (OSError, sqlite3.Error) as exc:  # sqlite says "database or disk is full"
            self._health.failed(what, exc)
            return what, exc
        return None

    def _lock_still_ours(self) -> bool:
        if self._store_lock is None:
            return True
        try:
            status = self._store_lock.check()
        except OSError as exc:
            self._health.failed("checking the store's LOCK", exc)
            return True
        if status == LockStatus.TAKEN:
            self._health.fence(
                f"its LOCK file was replaced by another process's (pid "
                f"{_lock_owner(self.path)}): two writers would destroy each other's data"
            )
            return False
        if status == LockStatus.RESTORED:
            log.warning("store %s: its LOCK file was deleted; recreated it", self.path)
        return True

    def _seal_due(self, now: int) -> list[int]:
        """Seal the block windows that are over and compress what is sealed."""
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
        return done

    def _cut(self, block: int) -> None:
        with self._lock:
            segments, rollups = self._head.block_contents(block)
        end = block + self.config.block_duration_ms
        raw_samples = sum(s.samples for s in segments)
        # A rollup that kept every raw sample (a poll interval as long as its resolution:
        # the default 10 s poll and the 10 s tier) is the raw block itself: the raw block
        # stands in for it instead of a second copy of the same rows (see `_hand_down`).
        same = [t for t, parts in rollups.items() if raw_samples and _samples(parts) == raw_samples]
        raw = self._write(RAW, block, end, merge_segments(segments), same)
        written = [(RAW, raw)]
        for tier, parts in rollups.items():
            if tier not in same:
                written.append((tier, self._write(tier, block, end, merge_parts(parts))))
        with self._lock:
            for tier, reader in written:
                self._blocks.add(tier, reader)
            self._head.drop_block(block)

    def _write(
        self,
        tier: str,
        start: int,
        end: int,
        segments: list[EncodedSegment],
        stands_in: Sequence[str] = (),
    ) -> BlockReader | None:
        """Write a block file (no lock needed: it is not visible until `BlockSet.add`)."""
        if not segments:
            return None
        path = self.path / tier / block_name(start, end)
        key_of = self._index.keys.__getitem__
        written = write_block(path, tier, start, end, segments, key_of, stands_in)
        return BlockReader(path, self._gid_of, written=written)

    def _copy(self, reader: BlockReader, heirs: Sequence[str]) -> tuple[str, BlockReader]:
        """A copy of a block that stands in for `heirs`, at home in the first of them and
        standing in for the others (their rollups of it are all its rows)."""
        home = heirs[0]
        path = self.path / home / block_name(reader.start_ms, reader.end_ms)
        write_copy(reader, path, home, heirs[1:])
        return home, BlockReader(path, self._gid_of)

    def _gid_of(self, key: SeriesKey) -> int:
        """A series id for a block being opened: our own blocks only hold series the index
        has, so this is a lookup."""
        return self._index.intern(key)

    def _rotate_wal(self) -> None:
        """Start a new log holding a snapshot of the head; the old log goes once the
        snapshot is on disk. Records appended meanwhile wait in the new log's buffer.
        If the snapshot cannot be written, the old log stays the log: what it had not
        written yet and what came since go back into it, in order."""
        wal_dir = self.path / "wal"
        with self._lock:
            old = self._wal
            assert old is not None
            self._wal_seq += 1
            new = self._wal = WalWriter(wal_path(wal_dir, self._wal_seq), deferred=True)
            parts = self._head.snapshot_parts()
        # the snapshot holds the whole head: what the old log could not write is in it
        with contextlib.suppress(OSError):
            old.close()
        logged: set[int] = set()
        try:
            write_snapshot(wal_dir, self._wal_seq, self._head.snapshot_records(parts, logged))
        except OSError:
            with self._lock:
                frames = old.take_back() + new.take_back()
                old.open()
                old.put_back(frames)
                self._wal = old
                self._wal_seq -= 1
            raise
        new.open()
        old.path.unlink()
        with self._lock:  # the new log defines these now: layouts need not log them again
            self._head.wal_gids |= logged

    def _compact(self) -> None:
        """Merge each tier's blocks level by level (`StoreConfig.compact_levels`): a rollup
        tier's 10-minute blocks into 2-hour files as soon as those 2 hours are over, those
        into its 12-hour or 2-day files when that window is."""
        levels = {RAW: self.config.compact_levels()}
        levels.update({t.name: self.config.compact_levels(t) for t in self.config.tiers})
        for tier, spans in levels.items():
            for span in spans:
                self._compact_level(tier, span)

    def _compact_level(self, tier: str, span: int) -> None:
        with self._lock:
            groups = self._blocks.windows(tier, span)
            head_start = self._head.min_ts
        for start, readers in groups.items():
            if len(readers) < 2 or start + span > head_start:
                continue
            # the readers stay readable (and are not dropped: only maintenance drops)
            parts: list[BlockPart] = []
            try:
                for reader in readers:
                    parts.extend(read_block_parts(reader))
            except CorruptBlockError as exc:
                # set aside; the group's other blocks are merged next time
                with self._lock:
                    self._blocks.quarantine(tier, reader, str(exc))
                continue
            # the merged file stands in where all its parts did; a part that stood in for
            # more hands those tiers a copy of itself first
            stands_in = [t for t in readers[0].stands_in if all(t in r.stands_in for r in readers)]
            lost = [
                (r, self._heirs(r, (t for t in r.stands_in if t not in stands_in))) for r in readers
            ]
            copies = [self._copy(r, heirs) for r, heirs in lost if heirs]
            merged = self._write(tier, start, start + span, merge_parts(parts), stands_in)
            with self._lock:
                for heir, copy in copies:
                    self._blocks.add(heir, copy)
                self._blocks.add(tier, merged)
                for reader in readers:
                    if merged is None or reader.path != merged.path:
                        self._blocks.drop(tier, reader)

    def _heirs(
        self, reader: BlockReader, tiers: Iterable[str], now: int | None = None
    ) -> list[str]:
        """Of the tiers `reader` stands in for, those configured (and, given `now`, still
        keeping its window)."""
        keep = {t.name: t.retention_ms for t in self.config.tiers}
        return [t for t in tiers if t in keep and (now is None or reader.end_ms > now - keep[t])]

    def _retain(self, now: int) -> None:
        keep = {RAW: self.config.raw_retention_ms}
        keep.update({t.name: t.retention_ms for t in self.config.tiers})
        spared, failure = self._hand_down(now, keep)
        with self._lock:
            self._blocks.retain(now, keep, self.config.max_bytes, spared)
        self._events.delete_before(now - self.config.event_retention_ms)
        if failure is not None:
            raise failure

    def _hand_down(self, now: int, keep: dict[str, int]) -> tuple[frozenset[Path], OSError | None]:
        """Before retention drops a block that stands in for coarser tiers, they get a copy
        (at home in the first, standing in for the rest). A block whose copy cannot be
        written is spared until it can (a full disk: `max_bytes` still applies)."""
        with self._lock:
            due = [
                (reader, heirs)
                for tier, keep_ms in keep.items()
                for reader in self._blocks.home(tier)
                if reader.end_ms <= now - keep_ms
                and (heirs := self._heirs(reader, reader.stands_in, now))
                and reader.acquire()  # a query may set it aside meanwhile
            ]
        spared: set[Path] = set()
        failure: OSError | None = None
        copies = []
        for reader, heirs in due:
            try:
                copies.append(self._copy(reader, heirs))
            except CorruptBlockError as exc:
                with self._lock:
                    self._blocks.quarantine(reader.tier, reader, str(exc))
            except OSError as exc:
                spared.add(reader.path)
                failure = failure or exc
            finally:
                reader.release()
        with self._lock:
            for heir, copy in copies:
                self._blocks.add(heir, copy)
        return frozenset(spared), failure

    def _check_writable(self) -> None:
        if self.read_only:
            raise PermissionError(f"the store at {self.path} was opened read-only")

    def close(self) -> None:
        with self._maintaining, self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._wal is not None:
                    self._wal.close()
                self._events.close()
            finally:
                if self._store_lock is not None:
                    self._store_lock.close()
                self._blocks.close()

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
            starts = [b.start_ms for b in self._blocks.readers(name)]
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

    def _view(self, gids: Iterable[int], start_ms: int, end_ms: int, head: bool) -> _ReadView:
        """Pin what a read of `gids` in the range needs (under the lock, briefly)."""
        with self._lock:
            view = _ReadView(self._tier_order(start_ms), self._blocks.pin(start_ms, end_ms))
            if head:
                view.head = self._head.freeze(gids, start_ms, end_ms)
        return view

    def select(
        self,
        matchers: Sequence[Matcher],
        start_ms: int,
        end_ms: int,
        budget: ReadBudget | None = None,
    ) -> list[SeriesData]:
        gids = sorted(self._index.match(matchers))
        view = self._view(gids, start_ms, end_ms, head=True)
        try:
            readers = block_plan(view.tiers, view.blocks, start_ms)
            found = gather(
                readers,
                view.head,
                np.array(gids, np.int64),
                start_ms,
                end_ms,
                budget,
                self._corrupt,
            )
            labels = self._index.labels
            return [SeriesData(labels(gids[i]), ts, values) for i, ts, values in found if ts.size]
        finally:
            view.release()

    def _corrupt(self, reader: BlockReader, exc: CorruptBlockError) -> NoReturn:
        with self._lock:
            self._blocks.quarantine(reader.tier, reader, str(exc))
        raise StoreCorruptionError(
            f"{exc}; the block was set aside, the query can be run again"
        ) from None

    def _live(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[int]:
        """Series with samples in the range; no matchers: every series."""
        gids = self._index.match(matchers) if matchers else self._index.all_ids()
        view = self._view((), start_ms, end_ms, head=False)
        with self._lock:
            live = set(self._head.gid_target)
        try:
            for readers in view.blocks.values():
                for reader in readers:
                    live.update(reader.series_ids.tolist())
        finally:
            view.release()
        return sorted(gids & live)

    def series(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        return [self._index.labels(g) for g in self._live(matchers, start_ms, end_ms)]

    def label_names(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[str]:
        keys = self._index.keys
        names = {k for g in self._live(matchers, start_ms, end_ms) for k, _ in keys[g]}
        return sorted(names)

    def label_values(
        self, name: str, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[str]:
        keys = self._index.keys
        found = (dict(keys[g]).get(name) for g in self._live(matchers, start_ms, end_ms))
        return sorted({v for v in found if v})

    def stats(self) -> StoreStats:
        with self._lock:
            blocks = [r for _, r in self._blocks]
            raw = list(self._blocks.readers(RAW))
            head_samples = self._head.samples
        wal_bytes = sum(file_size(p) for p in (self.path / "wal").glob("*.wal"))
        on_disk = sum(r.nbytes for r in blocks) + wal_bytes + self._events.bytes_on_disk()
        raw_samples = sum(r.samples for r in raw)
        per_sample = sum(r.nbytes for r in raw) / raw_samples if raw_samples else 0.0
        return StoreStats(len(self._index), raw_samples + head_samples, on_disk, per_sample)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Opening builds the series index (a tuple of label pairs per series, hundreds of
    thousands at 1,000 targets) and replays the log: Python's cyclic collector, triggered
    by those allocations, rescanned the growing index again and again and took nine tenths
    of the time (103 s of a `cachewatch query` at 1,000 targets; 11 s without). Nothing
    opening makes is cyclic garbage, so it is paused meanwhile."""
    with collector_paused():  # nests with the pauses of reads on other threads
        yield


def _samples(parts: list[Rollup]) -> int:
    return sum(
        part.samples
        if isinstance(part, EncodedSegment)
        else int((part[2].view(np.uint64) != ABSENT_BITS).sum())
        for part in parts
    )


def _lock_owner(path: Path) -> str:
    try:
        return (path / "LOCK").read_text(errors="replace").strip() or "?"
    except OSError:
        return "?"
