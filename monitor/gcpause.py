"""Pausing Python's cyclic collector while a big read allocates.

A PromQL evaluation over a 1,000-target store makes a few container objects per series
read (label dicts, tuples, lists), hundreds of thousands in all, nearly all freed by
reference counting before it returns. Each 700 allocations trigger a collection and, with
that many alive, a full one every few hundred thousand: at 500 targets eight full
collections a read-model snapshot, a quarter of its CPU, scanning objects about to be
freed anyway. Paused meanwhile, the next collection finds them gone. Opening a store
(its series index, the log replay) is paused the same way.

The collector is one per process and reads run on several threads, so pauses nest: the
first to pause disables it (if it was on), the last to finish turns it back on.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["collector_paused"]

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
