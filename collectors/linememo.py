"""Remember what an unchanged reply line produced, so the next poll skips re-parsing it.

Most labelled lines of a poll repeat the last poll's byte for byte on a quiet server:
commandstats of commands nobody ran since, keyspace lines of untouched databases, latency
histograms of idle commands. Parsing one means splitting `k=v` pairs, converting numbers and
building label tuples; a memo hit is one dict lookup and three list extends.

Only the lines seen in the current poll are kept for the next (`roll`), so the memo stays
the size of one reply, whatever the server does.
"""

from __future__ import annotations

from typing import Any

from monitor.model import Labels, SampleBatch

__all__ = ["LineMemo", "Chunk"]

#: the samples one line produced (names, labels, values) and what else the parser took from it
Chunk = tuple[list[str], list[Labels], list[float], Any]


class LineMemo:
    __slots__ = ("_new", "_old")

    def __init__(self) -> None:
        self._old: dict[Any, Chunk] = {}
        self._new: dict[Any, Chunk] = {}

    def replay(self, key: Any, out: SampleBatch) -> Chunk | None:
        """Add the samples `key` produced last time to `out` and return its chunk, or None
        when the line is new or changed."""
        chunk = self._old.get(key)
        if chunk is None:
            chunk = self._new.get(key)  # a line twice in one reply
            if chunk is None:
                return None
        self._new[key] = chunk
        out.names.extend(chunk[0])
        out.labels.extend(chunk[1])
        out.values.extend(chunk[2])
        return chunk

    def remember(self, key: Any, out: SampleBatch, start: int, extra: Any = None) -> None:
        """Record that `key` produced `out`'s samples from index `start` on."""
        self._new[key] = (out.names[start:], out.labels[start:], out.values[start:], extra)

    def roll(self) -> None:
        """The reply is done: what it had is what the next one is compared with."""
        self._old, self._new = self._new, {}
