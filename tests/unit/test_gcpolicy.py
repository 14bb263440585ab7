"""The long-running process's collector settings, and its report of long pauses."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator

import pytest

from monitor import gcpolicy


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    callbacks = list(gc.callbacks)
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.callbacks[:] = callbacks


def test_settle_freezes_what_startup_built_and_raises_the_young_threshold(
    restored_gc: None,
) -> None:
    gc.set_threshold(700, 10, 10)
    kept = [[i] for i in range(1000)]  # survivors of "startup"
    gcpolicy.settle()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == (gcpolicy.YOUNG_THRESHOLD, 10, 10)


def test_a_long_collection_is_logged_once_not_on_every_collection(
    restored_gc: None, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gcpolicy, "PAUSE_WARN_S", 0.0)  # every collection counts as long
    monkeypatch.setattr(gcpolicy, "_last_log", [-1e9])
    gcpolicy.watch_pauses()
    gcpolicy.watch_pauses()  # twice: one callback, not two
    assert gc.callbacks.count(gcpolicy._on_collection) == 1
    with caplog.at_level(logging.WARNING, logger="cachewatch.gc"):
        gc.collect()
        gc.collect()
    lines = [r.getMessage() for r in caplog.records if r.name == "cachewatch.gc"]
    assert len(lines) == 1, lines
    assert "garbage collection of generation 2 paused the process" in lines[0]
