"""Merging segments: a target's consecutive segments with the same columns become one
bigger segment (fewer index entries, better compression) at block cut and compaction."""

from __future__ import annotations

import numpy as np

from monitor.store.blockfile import BlockReader, CorruptBlockError
from monitor.store.codec import CodecError
from monitor.store.segment import (
    EncodedSegment,
    decode_column_filled,
    encode_segment,
)

__all__ = ["merge_segments", "merge_parts", "read_block_parts"]

Part = tuple[np.ndarray, np.ndarray, np.ndarray]


def merge_segments(segments: list[EncodedSegment]) -> list[EncodedSegment]:
    groups: dict[bytes, list[EncodedSegment]] = {}
    for seg in sorted(segments, key=lambda s: s.min_ts):
        groups.setdefault(seg.gids.tobytes(), []).append(seg)
    out = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        out.extend(merge_parts([(seg.gids, *seg.matrix()) for seg in group]))
    return out


def merge_parts(parts: list[Part]) -> list[EncodedSegment]:
    """Encode (gids, ts, matrix) parts, stacking those with the same columns in time order."""
    groups: dict[bytes, list[Part]] = {}
    for part in sorted(parts, key=lambda p: int(p[1][0]) if p[1].size else 0):
        if part[1].size:
            groups.setdefault(part[0].tobytes(), []).append(part)
    out = []
    for group in groups.values():
        gids = group[0][0]
        ts = np.concatenate([p[1] for p in group])
        matrix = np.concatenate([p[2] for p in group])
        out.append(encode_segment(gids, ts, matrix))
    return out


def read_block_parts(reader: BlockReader) -> list[Part]:
    """Every segment of a block, decoded; CorruptBlockError if any piece is damaged."""
    parts = []
    for gids, columns, ts in reader.iter_segments():
        matrix = np.empty((ts.size, gids.size), np.float64)
        try:
            for i, data in enumerate(columns):
                matrix[:, i] = decode_column_filled(ts.size, data)
        except CodecError as exc:
            raise CorruptBlockError(f"{reader.path}: corrupt column: {exc}") from exc
        parts.append((gids, ts, matrix))
    return parts
