"""Merging segments: a target's consecutive segments with the same columns become one
bigger segment (fewer index entries, better compression) at block cut and compaction."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from monitor.store.blockfile import BlockReader, CorruptBlockError
from monitor.store.codec import CodecError
from monitor.store.segment import (
    EncodedSegment,
    decode_columns,
    encode_segment,
)

__all__ = ["merge_segments", "merge_parts", "read_block_parts"]

Part = tuple[np.ndarray, np.ndarray, np.ndarray]


def merge_segments(segments: list[EncodedSegment]) -> list[EncodedSegment]:
    return merge_parts(list(segments))


def merge_parts(parts: Sequence[Part | EncodedSegment]) -> list[EncodedSegment]:
    """Encoded segments, stacking those with the same columns in time order. A segment
    already encoded with nothing to stack is kept as it is; the rest are decoded (in bulk)
    and encoded again as one."""
    groups: dict[bytes, list[Part | EncodedSegment]] = {}
    for part in sorted(parts, key=_start):
        if isinstance(part, EncodedSegment) or part[1].size:
            groups.setdefault(_gids(part).tobytes(), []).append(part)
    out = []
    for group in groups.values():
        if len(group) == 1 and isinstance(group[0], EncodedSegment):
            out.append(group[0])
            continue
        matrices = [(p.gids, *p.matrix()) if isinstance(p, EncodedSegment) else p for p in group]
        gids = matrices[0][0]
        ts = np.concatenate([p[1] for p in matrices])
        matrix = np.concatenate([p[2] for p in matrices])
        out.append(encode_segment(gids, ts, matrix))
    return out


def _start(part: Part | EncodedSegment) -> int:
    if isinstance(part, EncodedSegment):
        return part.min_ts
    return int(part[1][0]) if part[1].size else 0


def _gids(part: Part | EncodedSegment) -> np.ndarray:
    return part.gids if isinstance(part, EncodedSegment) else part[0]


def read_block_parts(reader: BlockReader) -> list[Part]:
    """Every segment of a block, decoded; CorruptBlockError if any piece is damaged."""
    parts = []
    for gids, columns, ts in reader.iter_segments():
        try:
            matrix = decode_columns(ts.size, columns)
        except CodecError as exc:
            raise CorruptBlockError(f"{reader.path}: corrupt column: {exc}") from exc
        parts.append((gids, ts, matrix))
    return parts
