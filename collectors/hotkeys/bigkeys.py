"""Big keys: the largest sampled keys per type, and Redis 8's `INFO keysizes` histograms."""

from __future__ import annotations

import heapq

from collectors.hotkeys.report import BigKeyEntry, KeySizeHistogram, display_key

__all__ = ["BiggestPerType", "parse_keysizes"]


class BiggestPerType:
    """The `per_type` largest keys seen for each `TYPE` (strings, hashes, ...)."""

    def __init__(self, per_type: int) -> None:
        self.per_type = per_type
        self._heaps: dict[str, list[tuple[int, bytes]]] = {}
        self._sizes: dict[str, dict[bytes, int]] = {}

    def offer(self, key: bytes, kind: str, size: int) -> None:
        sizes = self._sizes.setdefault(kind, {})
        heap = self._heaps.setdefault(kind, [])
        if key in sizes:
            # A re-sampled key: rebuild this type's small heap with the new size.
            sizes[key] = size
            heap[:] = [(s, k) for k, s in sizes.items()]
            heapq.heapify(heap)
            return
        if len(heap) < self.per_type:
            heapq.heappush(heap, (size, key))
            sizes[key] = size
        elif size > heap[0][0]:
            _, dropped = heapq.heapreplace(heap, (size, key))
            del sizes[dropped]
            sizes[key] = size

    def forget(self, key: bytes) -> None:
        for kind, sizes in self._sizes.items():
            if sizes.pop(key, None) is not None:
                self._heaps[kind] = [(s, k) for k, s in sizes.items()]
                heapq.heapify(self._heaps[kind])

    def entries(self, instance: str) -> list[BigKeyEntry]:
        found = [
            BigKeyEntry(display_key(key), kind, size, instance)
            for kind, sizes in self._sizes.items()
            for key, size in sizes.items()
        ]
        found.sort(key=lambda entry: entry.bytes, reverse=True)
        return found


_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}


def _bucket_value(text: str) -> int:
    text = text.strip()
    digits = text.rstrip("KMGTP")
    return int(digits) * _SUFFIX[text[len(digits) :]]


def parse_keysizes(info: bytes | str, instance: str) -> list[KeySizeHistogram]:
    """`INFO keysizes` (Redis 8+): lines like `db0_distrib_strings_sizes:2=1,4=3,1K=2`.
    Servers without the section answer with nothing, which gives an empty list."""
    text = info.decode("utf-8", "replace") if isinstance(info, bytes) else info
    histograms = []
    for line in text.splitlines():
        name, sep, value = line.strip().partition(":")
        if not sep or not name.startswith("db") or "_distrib_" not in name:
            continue
        db_text, _, kind = name[2:].partition("_distrib_")
        try:
            buckets = tuple(
                (_bucket_value(bound), int(count))
                for bound, _, count in (pair.partition("=") for pair in value.split(","))
                if bound
            )
            db = int(db_text)
        except (ValueError, KeyError):
            raise ValueError(
                f"INFO keysizes of {instance}: cannot parse {line.strip()!r}"
            ) from None
        histograms.append(KeySizeHistogram(instance, db, kind, buckets))
    return histograms
