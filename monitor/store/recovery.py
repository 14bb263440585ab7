"""Rebuilding the head from a write-ahead log's records (at open, and for read-only opens).

Rows already covered by blocks (before `head.min_ts`) or not after their target's last row
are skipped; a layout record either widens the open segment (series new to the segment) or
closes it, exactly as the appends that logged them did (each new segment logs its layout).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from monitor.store.head import Head, TargetState
from monitor.store.series_index import SeriesKey
from monitor.store.wal import WalRecord

__all__ = ["replay_into"]


def replay_into(
    head: Head, intern: Callable[[SeriesKey], int], records: Iterable[WalRecord]
) -> None:
    """Apply `records` to `head`; ValueError, KeyError or IndexError for a record that
    refers to what the log never defined (the rest of the log cannot be trusted)."""
    gid_map: dict[int, int] = {}
    targets: dict[int, TargetState] = {}
    layouts: dict[int, np.ndarray] = {}
    for record in records:
        kind, ident = record[0], int(record[1])  # type: ignore[call-overload]
        if kind == "series":
            gid_map[ident] = intern(record[2])  # type: ignore[arg-type]
        elif kind == "target":
            targets[ident] = head.target(record[2])  # type: ignore[arg-type]
        elif kind == "layout":
            gids = np.array(
                [gid_map[g] for g in record[2].tolist()],  # type: ignore[attr-defined]
                np.int64,
            )
            state, segment = targets[ident], targets[ident].segment
            width = 0 if segment is None else segment.gids.size
            if segment is not None and gids.size > width and (gids[:width] == segment.gids).all():
                head.widen_segment(state, gids[width:])  # series new to the chunk
            else:
                head.close_segment(state)
            layouts[ident] = gids
        else:
            state, ts = targets[ident], int(record[2])  # type: ignore[call-overload]
            if ts < head.min_ts or ts <= state.last_ts:
                continue
            segment = state.segment
            if segment is None or head.segment_ends(segment, ts):
                head.open_segment(state, layouts[ident], ts)
            head.replay_row(state, ts, record[3])  # type: ignore[arg-type]
