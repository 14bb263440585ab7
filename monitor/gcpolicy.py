"""The cyclic garbage collector's settings for a long-running cachewatch process.

A poll allocates a few thousand short-lived containers (a batch's name, label and value
lists, label tuples, reply lists) that reference counting frees a moment later. With
CPython's default threshold (a young-generation pass every 700 net allocations) several
passes ran during every poll, each traversing the live batch lists; in a `poll` process of
20 targets at 1 s the collector took ~9 % of the process's CPU (117 ms of 1.27 s over a
minute, timed with `gc.callbacks`). Every pass also re-examined what startup built once
and keeps for good (imports, the series index, the targets).

`settle()` is called once the process has started: it collects what startup left over,
moves every surviving object out of the collector's sight (`gc.freeze`: the objects stay
where they are and are still freed by reference counting), and raises the young
generation's threshold so that a pass comes after a poll's garbage is already gone.
Reference cycles are still collected, only later.

`watch_pauses()` logs a collection that stopped the process for longer than
`PAUSE_WARN_S` (a full collection walks every tracked object: at a thousand targets, with
hundreds of thousands of series in memory, one can hold up the polling loop), at most once
a minute.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

__all__ = ["settle", "watch_pauses", "YOUNG_THRESHOLD", "PAUSE_WARN_S"]

log = logging.getLogger("cachewatch.gc")

#: net allocations between young-generation passes (CPython's default is 700)
YOUNG_THRESHOLD = 20_000
#: a collection pausing the process longer than this is logged
PAUSE_WARN_S = 0.25
_LOG_EVERY_S = 60.0

_started: list[float] = [0.0]
_last_log: list[float] = [-_LOG_EVERY_S]


def settle() -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, gc.get_threshold()[0]), older, oldest)


def watch_pauses() -> None:
    if _on_collection not in gc.callbacks:
        gc.callbacks.append(_on_collection)


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    now = time.perf_counter()
    if phase == "start":
        _started[0] = now
        return
    pause = now - _started[0]
    if pause > PAUSE_WARN_S and now - _last_log[0] >= _LOG_EVERY_S:
        _last_log[0] = now
        log.warning(
            "a garbage collection of generation %d paused the process for %.2fs "
            "(%d objects collected; %d frozen at start, never walked)",
            info.get("generation", -1),
            pause,
            info.get("collected", 0),
            gc.get_freeze_count(),
        )
