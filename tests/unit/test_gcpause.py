"""The cyclic collector pauses for a read (or an open) and comes back after the last of
overlapping ones, on whatever thread; a collector someone else turned off stays off."""

from __future__ import annotations

import gc
import threading
from typing import Any

from monitor.gcpause import collector_paused
from monitor.query import Engine
from monitor.query.memory_reader import MemoryReader
from monitor.store.api import SeriesData


def test_overlapping_pauses_turn_the_collector_back_on_after_the_last() -> None:
    assert gc.isenabled()
    inside, release = threading.Event(), threading.Event()

    def other_read() -> None:
        with collector_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other_read)
    with collector_paused():
        thread.start()
        assert inside.wait(10)
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other read is still running
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_collector_turned_off_elsewhere_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


class _Watching(MemoryReader):
    """A reader that notes whether the collector ran while it was read."""

    def __init__(self) -> None:
        super().__init__()
        self.collector_on: list[bool] = []

    def select(self, *args: Any, **kwargs: Any) -> list[SeriesData]:
        self.collector_on.append(gc.isenabled())
        return super().select(*args, **kwargs)


def test_a_query_pauses_the_collector_only_while_it_runs() -> None:
    reader = _Watching()
    reader.add_series({"__name__": "up"}, [1_000], [1.0])
    assert Engine(reader).instant("up", 1_000).samples
    assert Engine(reader).range("up", 1_000, 2_000, 500).series
    assert reader.collector_on == [False, False]
    assert gc.isenabled()
