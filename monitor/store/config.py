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
    #: blocks of this tier are compacted into files spanning this long
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
    - `raw_compact_to_ms` 2 h: raw blocks are merged into files spanning this long.
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
