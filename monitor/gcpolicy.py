"""The cyclic garbage collector's settings for a long-running cachewatch process.

A poll allocates a few thousand short-lived containers (a batch's name, label and value
lists, label tuples, reply lists) that reference counting frees a moment later. With
CPython's default threshold (a young-generation pass every 700 net allocations) several
passes ran during every poll and each traversed the live batch lists; at 20 targets a
second the collector was ~9 % of the process's CPU (`bench/poll_process_bench.py`). Every
pass also re-examined what startup built once and keeps for good (imports, the series
index, the targets).

`settle()` is called once the process has started: it collects what startup left over,
moves every surviving object out of the collector's sight (`gc.freeze`, which costs no
memory: the objects stay where they are and are still freed by reference counting), and
raises the young generation's threshold so that a pass comes after a poll's garbage is
already gone. Reference cycles are still collected, only later: memory held by garbage
cycles is bounded by the larger threshold.
"""

from __future__ import annotations

import gc

__all__ = ["settle", "YOUNG_THRESHOLD"]

#: net allocations between young-generation passes (CPython's default is 700)
YOUNG_THRESHOLD = 20_000


def settle() -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, gc.get_threshold()[0]), older, oldest)
