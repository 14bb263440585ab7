"""Rebuilding the head from a write-ahead log's records (at open, and for read-only opens).

Rows already covered by blocks (before `head.min_ts`) or not after their target's last row
are skipped; a layout record either widens the open segment (series new to the segment) or
closes it, exactly as the appends that logged them did (each new segment logs its layout).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np

from monitor.model import Labels
from monitor.store.head import Head, TargetState
from monitor.store.series_index import SeriesKey
from monitor.store.wal import WalRecord, decode_labels, scan_records

__all__ = ["ScopedHead", "replay_into", "replay_scoped"]


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
                head.widen_segment(state, gids[width:])  # series new to the segment
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


_NOT_KEPT = -1


class ScopedHead(Head):
    """The head of a scoped read-only open (`monitor.store.scope`): it holds only the series
    the scope's reads can select, but says when the whole log's oldest sample is, which the
    store's choice of tiers depends on."""

    whole_oldest: int | None = None

    def oldest_ts(self) -> int | None:
        own = super().oldest_ts()
        if own is None or self.whole_oldest is None:
            return self.whole_oldest if own is None else own
        return min(own, self.whole_oldest)


class _Target:
    """One target of the log during a scoped replay: the segment the whole replay would
    have open (its gids in the log's ids), and which of its columns the scope keeps."""

    __slots__ = ("block", "kept", "kept_cols", "key", "last_ts", "layout", "segment", "state")

    def __init__(self, key: Labels) -> None:
        self.key = key
        self.layout: np.ndarray | None = None
        self.segment: np.ndarray | None = None
        self.block = 0
        self.kept_cols = np.empty(0, np.intp)
        self.kept = np.empty(0, np.int64)
        self.state: TargetState | None = None
        self.last_ts = -(2**63)


def replay_scoped(
    head: ScopedHead,
    intern: Callable[[SeriesKey], int],
    frames: Iterable[bytes],
    keep: re.Pattern[bytes] | None,
) -> None:
    """`replay_into` for a scoped read-only open: the same head, restricted to the series
    whose record's label JSON `keep` finds something in (None: every series); the others'
    labels are never decoded, their values never copied. Segments open, widen and close
    exactly where the whole replay's would (each target's whole layout is followed), so
    every kept column holds what it would there. Same errors as `replay_into`.

    Rows are appended without working out which series each row has (`Head.replay_row`):
    only a writer's next appends need that, and it was most of a replay's time."""
    store_id = np.full(1024, _NOT_KEPT, np.int64)  # log id -> store id of a kept series
    defined: set[int] = set()
    by_tid: dict[int, _Target] = {}
    by_key: dict[Labels, _Target] = {}
    # the writer logs a layout at every segment it opens (which ends the replayed one), so
    # a segment ends here at a layout or at its block window's end, as `Head.segment_ends`
    block_ms = head.config.block_duration_ms
    oldest: int | None = None
    for data in frames:
        for kind, ident, ts, at, size in scan_records(data):
            if kind == b"R":
                target = by_tid[ident]
                if ts < head.min_ts or ts <= target.last_ts:
                    continue
                target.last_ts = ts
                oldest = ts if oldest is None else min(oldest, ts)
                if target.segment is None or target.block != ts // block_ms:
                    if target.layout is None:
                        raise KeyError(f"row of target {ident} before its layout")
                    target.segment, target.block = target.layout, ts // block_ms
                    if target.state is not None:
                        head.close_segment(target.state)
                if not target.kept.size:
                    continue
                state = target.state
                if state is None:
                    state = target.state = head.target(target.key)
                if state.segment is None:
                    state.segment = head.open_segment(state, target.kept, ts)
                row = np.frombuffer(data, "<f8", size, at)[target.kept_cols]
                state.segment.append(ts, row)
                state.last_ts = ts
                head.samples += row.size
            elif kind == b"L":
                target = by_tid[ident]
                gids = np.frombuffer(data, "<i8", size, at).astype(np.int64)
                if not defined.issuperset(gids.tolist()):
                    raise KeyError(f"layout of target {ident} names an unknown series")
                if gids.size and int(gids.max()) >= store_id.size:
                    store_id = _grown(store_id, int(gids.max()))
                cols = np.flatnonzero(store_id[gids] != _NOT_KEPT) if gids.size else gids
                kept = store_id[gids[cols]]
                segment = target.segment
                width = 0 if segment is None else segment.size
                if segment is not None and gids.size > width and (gids[:width] == segment).all():
                    target.segment = gids  # widened: series new to the segment
                    state = target.state
                    if state is not None and state.segment is not None:
                        extra = kept[state.segment.gids.size :]
                        if extra.size:
                            head.widen_segment(state, extra)
                else:
                    target.segment = None
                    if target.state is not None:
                        head.close_segment(target.state)
                target.layout, target.kept_cols, target.kept = gids, cols, kept
            elif kind == b"S":
                defined.add(ident)
                if keep is None or keep.search(data, at, at + size):
                    if ident >= store_id.size:
                        store_id = _grown(store_id, ident)
                    store_id[ident] = intern(decode_labels(data[at : at + size]))
            else:
                key = decode_labels(data[at : at + size])
                known_target = by_key.get(key)
                if known_target is None:
                    known_target = by_key[key] = _Target(key)
                by_tid[ident] = known_target
    head.whole_oldest = oldest


def _grown(ids: np.ndarray, index: int) -> np.ndarray:
    """`ids` with room for `index`."""
    grown = np.full(max(index + 1, 2 * ids.size), _NOT_KEPT, np.int64)
    grown[: ids.size] = ids
    return grown
