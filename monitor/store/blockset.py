"""The store's on-disk blocks, per tier: opening them, pinning them for readers, dropping
them (compaction, retention, `max_bytes`) and setting damaged ones aside in `corrupt/`.

A block is at home in one tier (its directory) and may also *stand in* for coarser tiers
(its header's `stands_in`: their rollup of its window is its data, row for row): it is then
listed in those tiers too, for readers (`readers`, `pin`), but compacted, retained and
counted only at home.

The caller (the store) holds its lock around every method but `set_aside` of a file not yet
listed; readers read pinned blocks without it (`BlockReader.acquire`/`release`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from monitor.store.blockfile import BlockError, BlockReader
from monitor.store.series_index import SeriesKey

__all__ = ["BlockSet", "CORRUPT", "UnopenedBlock"]

log = logging.getLogger("monitor.store.embedded")
CORRUPT = "corrupt"


class BlockSet:
    def __init__(self, path: Path, tiers: list[str], read_only: bool) -> None:
        self.path = path
        self.read_only = read_only
        #: blocks at home in each tier
        self._readers: dict[str, list[BlockReader]] = {tier: [] for tier in tiers}
        #: blocks of finer tiers standing in for each tier
        self._standing: dict[str, list[BlockReader]] = {tier: [] for tier in tiers}
        #: damaged files already reported, so each is said once
        self._reported: set[Path] = set()

    @property
    def tiers(self) -> list[str]:
        return list(self._readers)

    def readers(self, tier: str) -> list[BlockReader]:
        """What a read of `tier` reads: its own blocks and those standing in for it, by
        start."""
        standing = self._standing[tier]
        if not standing:
            return self._readers[tier]
        return sorted(self._readers[tier] + standing, key=lambda b: b.start_ms)

    def home(self, tier: str) -> list[BlockReader]:
        """The tier's own blocks, by start."""
        return self._readers[tier]

    def __iter__(self) -> Iterator[tuple[str, BlockReader]]:
        """Every block once, with its home tier."""
        for tier, readers in self._readers.items():
            for reader in readers:
                yield tier, reader

    def load(
        self,
        intern: Callable[[SeriesKey], int],
        window: tuple[int, int] | None = None,
        metrics: frozenset[str] | None = None,
    ) -> None:
        """Open every block; leftovers of unfinished writes go (a writer only), damaged
        blocks are set aside. A scoped read-only open (`monitor.store.scope`) passes the
        `window` its reads fall in and the `metrics` they select (None: any): blocks outside
        the window are only listed (`UnopenedBlock`), their index never loaded."""
        for tier, readers in self._readers.items():
            if not self.read_only:
                for leftover in (self.path / tier).glob("*.tmp"):
                    leftover.unlink()
            for file in sorted((self.path / tier).glob("*.blk")):
                span = _window_of(file) if window is not None else None
                if window is not None and span is not None and not _overlaps(span, window):
                    readers.append(UnopenedBlock(file, tier, *span))
                    continue
                try:
                    readers.append(BlockReader(file, intern, metrics))
                except BlockError as exc:
                    if file.exists():  # else compacted away by the writer meanwhile
                        self.set_aside(tier, file, str(exc))
            readers.sort(key=lambda b: b.start_ms)
            for reader in readers:
                self._stand_in(reader)

    def _stand_in(self, reader: BlockReader) -> None:
        for tier in reader.stands_in:
            if tier in self._standing:  # else a tier no longer configured
                self._standing[tier].append(reader)

    def _unlist(self, reader: BlockReader) -> None:
        for tier in reader.stands_in:
            if reader in self._standing.get(tier, ()):
                self._standing[tier].remove(reader)

    def windows(self, tier: str, span: int) -> dict[int, list[BlockReader]]:
        """The tier's blocks that fit inside a window of `span` (aligned to it), by window
        start; a block longer than the window or crossing its end (written under another
        configuration) is in none."""
        groups: dict[int, list[BlockReader]] = {}
        for reader in self._readers[tier]:
            start = reader.start_ms - reader.start_ms % span
            if reader.end_ms <= start + span:
                groups.setdefault(start, []).append(reader)
        return groups

    def add(self, tier: str, reader: BlockReader | None) -> None:
        if reader is None:
            return
        readers = self._readers[tier]
        # a retried write replaces a block of the same window that is still listed
        for old in [r for r in readers if r.path == reader.path]:
            readers.remove(old)
            self._unlist(old)
            old.retire()
        readers.append(reader)
        readers.sort(key=lambda b: b.start_ms)
        self._stand_in(reader)

    def drop(self, tier: str, reader: BlockReader) -> None:
        if reader in self._readers[tier]:
            self._readers[tier].remove(reader)
        self._unlist(reader)
        reader.retire()
        reader.path.unlink(missing_ok=True)

    def pin(self, start_ms: int, end_ms: int) -> dict[str, list[BlockReader]]:
        """The blocks overlapping the range, each acquired: release them when done."""
        return {
            tier: [
                r
                for r in self.readers(tier)
                if r.end_ms > start_ms and r.start_ms <= end_ms and r.acquire()
            ]
            for tier in self._readers
        }

    def quarantine(self, tier: str, reader: BlockReader, reason: str) -> None:
        """A listed block that failed its checksum leaves the store (once). `tier` is the
        tier it was read for; it leaves every tier."""
        home = next((t for t, readers in self._readers.items() if reader in readers), None)
        if home is None:
            return
        self._readers[home].remove(reader)
        self._unlist(reader)
        reader.retire()
        self.set_aside(home, reader.path, reason)

    def set_aside(self, tier: str, path: Path, reason: str) -> None:
        """Move a damaged block to `corrupt/<tier>/` (a writer) or just stop reading it (a
        read-only store, which changes nothing on disk), with one log line."""
        if path in self._reported:
            return
        self._reported.add(path)
        if self.read_only:
            log.error("store %s: skipping damaged block (%s)", self.path, reason)
            return
        aside = self.path / CORRUPT / tier
        try:
            aside.mkdir(parents=True, exist_ok=True)
            os.replace(path, aside / path.name)
        except OSError as exc:
            log.error("store %s: damaged block (%s); cannot move it: %s", self.path, reason, exc)
            return
        log.error(
            "store %s: damaged block moved to %s (%s); the store carries on without it",
            self.path,
            aside / path.name,
            reason,
        )

    def retain(
        self, now: int, retention: dict[str, int], max_bytes: int, spared: frozenset[Path]
    ) -> None:
        """Drop blocks past their tier's retention (but those `spared`: their data is not yet
        handed down), then the oldest while over `max_bytes` (set-aside blocks count, and
        go once their tier's retention passes)."""
        for tier, keep_ms in retention.items():
            for reader in list(self._readers[tier]):
                if reader.end_ms <= now - keep_ms and reader.path not in spared:
                    self.drop(tier, reader)
        everything = sorted(((r.end_ms, tier, r) for tier, r in self), key=lambda item: item[0])
        total = sum(r.nbytes for _, _, r in everything) + self._set_aside_bytes(retention, now)
        for _end, tier, reader in everything:
            if total <= max_bytes:
                break
            total -= reader.nbytes
            log.warning("store over %d bytes: dropping block %s", max_bytes, reader.path)
            self.drop(tier, reader)

    def _set_aside_bytes(self, retention: dict[str, int], now: int) -> int:
        """Bytes of the blocks in `corrupt/`, deleting those their tier would have dropped."""
        total = 0
        for tier, keep_ms in retention.items():
            for file in (self.path / CORRUPT / tier).glob("*.blk"):
                try:
                    end_ms = int(file.stem.rsplit("-", 1)[1])
                except (IndexError, ValueError):
                    end_ms = now
                if end_ms <= now - keep_ms:
                    file.unlink(missing_ok=True)
                else:
                    total += file_size(file)
        return total

    def close(self) -> None:
        for _, reader in self:
            reader.retire()


class UnopenedBlock(BlockReader):
    """A block outside the window of a scoped read-only open: its window (from its file
    name, which `block_name` writes from the same numbers as its header) still counts when
    the store chooses the tiers a read starts from; its index is never loaded, and no read
    pins it (none of the scope's reads overlaps it). A damaged one is found by the next
    whole open."""

    def __init__(self, path: Path, tier: str, start_ms: int, end_ms: int) -> None:
        # nothing of the file is read: BlockReader.__init__ would load its index
        self.path = path
        self.tier = tier
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.nbytes = file_size(path)
        self.samples = 0
        self.segments = []
        self.series_ids = np.empty(0, np.int64)
        # Whether it stands in for a rollup tier is in its header, which is not read. The
        # tier a read starts from does not depend on it: a stand-in is a raw block, so the
        # raw tier reaches back at least as far, and raw is tried first.
        self.stands_in: tuple[str, ...] = ()

    def acquire(self) -> bool:
        return False

    def release(self) -> None:
        pass

    def retire(self) -> None:
        pass


def _window_of(file: Path) -> tuple[int, int] | None:
    """(start, end) from a block's name (`block_name`); None for a name it did not write."""
    start, _, end = file.stem.partition("-")
    if not (start.isdigit() and end.isdigit()):
        return None
    return int(start), int(end)


def _overlaps(span: tuple[int, int], window: tuple[int, int]) -> bool:
    """Whether a block of `span` can hold samples a read of `window` returns (the test
    `pin` makes)."""
    return span[1] > window[0] and span[0] <= window[1]


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # rotated or compacted away meanwhile
        return 0
