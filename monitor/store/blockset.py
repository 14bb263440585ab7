"""The store's on-disk blocks, per tier: opening them, pinning them for readers, dropping
them (compaction, retention, `max_bytes`) and setting damaged ones aside in `corrupt/`.

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
        self._readers: dict[str, list[BlockReader]] = {tier: [] for tier in tiers}
        #: damaged files already reported, so each is said once
        self._reported: set[Path] = set()

    @property
    def tiers(self) -> list[str]:
        return list(self._readers)

    def readers(self, tier: str) -> list[BlockReader]:
        return self._readers[tier]

    def __iter__(self) -> Iterator[tuple[str, BlockReader]]:
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

    def add(self, tier: str, reader: BlockReader | None) -> None:
        if reader is None:
            return
        readers = self._readers[tier]
        # a retried write replaces a block of the same window that is still listed
        for old in [r for r in readers if r.path == reader.path]:
            readers.remove(old)
            old.retire()
        readers.append(reader)
        readers.sort(key=lambda b: b.start_ms)

    def drop(self, tier: str, reader: BlockReader) -> None:
        if reader in self._readers[tier]:
            self._readers[tier].remove(reader)
        reader.retire()
        reader.path.unlink(missing_ok=True)

    def pin(self, start_ms: int, end_ms: int) -> dict[str, list[BlockReader]]:
        """The blocks overlapping the range, each acquired: release them when done."""
        return {
            tier: [
                r for r in readers if r.end_ms > start_ms and r.start_ms <= end_ms and r.acquire()
            ]
            for tier, readers in self._readers.items()
        }

    def quarantine(self, tier: str, reader: BlockReader, reason: str) -> None:
        """A listed block that failed its checksum leaves the store (once)."""
        if reader not in self._readers[tier]:
            return
        self._readers[tier].remove(reader)
        reader.retire()
        self.set_aside(tier, reader.path, reason)

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

    def retain(self, now: int, retention: dict[str, int], max_bytes: int) -> None:
        """Drop blocks past their tier's retention, then the oldest while over `max_bytes`
        (set-aside blocks count, and go once their tier's retention passes)."""
        for tier, keep_ms in retention.items():
            for reader in list(self._readers[tier]):
                if reader.end_ms <= now - keep_ms:
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
