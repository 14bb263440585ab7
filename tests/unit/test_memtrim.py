"""Freed heap memory goes back to the system when the runtime trims."""

from __future__ import annotations

import pytest

from monitor import memtrim


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not memtrim.available(), reason="not glibc")
def test_trim_hands_freed_heap_memory_back() -> None:
    # 1 KiB buffers come from malloc's heap (not pymalloc, not separate mappings), the way
    # the store's freed pieces do; the older half freed leaves a ~100 MiB hole below live
    # memory, which malloc keeps for itself until trimmed
    held = [bytes(1024) + bytes([i % 256]) for i in range(200_000)]
    del held[:100_000]
    before = _rss_kib()
    memtrim.trim()
    after = _rss_kib()
    assert before - after > 50_000, (before, after)
    assert len(held) == 100_000
