"""Tuning knobs of the embedded store, with defaults that suit one process polling a few
hundred targets every second."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RollupTier", "StoreConfig"]

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class RollupTier:
    """A downsampled copy of the raw data: the last sample of every `resolution_ms` bucket
    (plus the sample before each counter reset), kept for `retention_ms`."""

    name: str
    resolution_ms: int
    retention_ms: int
    #: blocks of this tier are compacted into files spanning this long (by way of files as
    #: long as the raw tier's, see `StoreConfig.compact_levels`)
    compact_to_ms: int


def _default_tiers() -> tuple[RollupTier, ...]:
    return (
        RollupTier("10s", 10 * SECOND_MS, 14 * DAY_MS, 12 * HOUR_MS),
        RollupTier("1m", MINUTE_MS, 90 * DAY_MS, 2 * DAY_MS),
    )


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Defaults:

    - `flush_interval_ms` 1 s: how much a crash (`kill -9`) may lose at most.
    - `chunk_duration_ms` 2 min: a target's open segment ends only at these boundaries (or
      its block window's end); every rollup resolution must divide it.
    - `segment_rows` 120: a segment ends at the first chunk boundary where one more chunk
      at its target's pace would take it past this many rows, so a target polled every
      second gets 2-minute segments and one polled every 10 s one segment per block.
    - `block_duration_ms` 10 min: the head is written to an immutable block this often.
    - `raw_compact_to_ms` 2 h: raw blocks are merged into files spanning this long; so are
      a rollup tier's, before they are merged again into its `compact_to_ms` files.
    - `raw_retention_ms` 2 days at poll resolution, then `tiers` (10 s for 14 days, 1 min
      for 90 days).
    - `max_bytes` 10 GiB on disk: past it the oldest blocks are dropped, whatever their tier.
    - `event_retention_ms` 30 days.
    """

    flush_interval_ms: int = SECOND_MS
    chunk_duration_ms: int = 2 * MINUTE_MS
    segment_rows: int = 120
    block_duration_ms: int = 10 * MINUTE_MS
    raw_compact_to_ms: int = 2 * HOUR_MS
    raw_retention_ms: int = 2 * DAY_MS
    tiers: tuple[RollupTier, ...] = field(default_factory=_default_tiers)
    max_bytes: int = 10 * 1024**3
    event_retention_ms: int = 30 * DAY_MS

    def compact_levels(self, tier: RollupTier | None = None) -> tuple[int, ...]:
        """The file spans blocks of a tier (raw: None) are merged into, shortest first, each
        as soon as a window of it is over.

        A rollup tier's 10-minute block holds a few rows per series (60 at 10 s, 10 at
        1 min), so each column's fixed cost (headers, checksum, index entry: some 40
        bytes) outweighs its data; left in such blocks until a whole 12-hour or 2-day file
        was due, the rollups took more room than the raw data (docs/PERFORMANCE.md
        section 3). So a rollup tier goes through every shorter span of the store (the raw
        tier's, the other tiers') that divides its own: 10 s by 2 h to 12 h, 1 min by 2 h
        and 12 h to 2 days."""
        if tier is None:
            return (self.raw_compact_to_ms,)
        spans = {self.raw_compact_to_ms, *(t.compact_to_ms for t in self.tiers)}
        levels = [tier.compact_to_ms]
        for span in sorted(spans, reverse=True):
            if span < levels[0] and levels[0] % span == 0:
                levels.insert(0, span)
        return tuple(levels)

    def __post_init__(self) -> None:
        if self.block_duration_ms % self.chunk_duration_ms:
            raise ValueError("block_duration_ms must be a multiple of chunk_duration_ms")
        if self.raw_compact_to_ms % self.block_duration_ms:
            raise ValueError("raw_compact_to_ms must be a multiple of block_duration_ms")
        for tier in self.tiers:
            if self.chunk_duration_ms % tier.resolution_ms:
                raise ValueError(f"tier {tier.name}: resolution must divide chunk_duration_ms")
            if tier.compact_to_ms % self.block_duration_ms:
                raise ValueError(
                    f"tier {tier.name}: compact_to_ms must be a multiple of block_duration_ms"
                )
