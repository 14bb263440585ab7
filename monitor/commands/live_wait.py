"""Polling live for a while before answering (`evictions` and `doctor` without history):
wait `duration_s`, saying how it goes every few seconds, and give up early when no target
has ever answered and every one has failed three polls in a row."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["wait_polling"]

_PROGRESS_EVERY_S = 5.0


def wait_polling(
    runtime: Any, what: str, duration_s: float, interval_s: float, note: Callable[[str], None]
) -> bool:
    """True after `duration_s`; False (with the reason noted) if nothing ever answered."""
    started = time.monotonic()
    next_progress = started + _PROGRESS_EVERY_S
    answered = False
    note(f"polling {what} every {interval_s:g}s for {duration_s:g}s")
    while (elapsed := time.monotonic() - started) < duration_s:
        statuses = runtime.statuses()
        answered = answered or any(s.up for s in statuses)
        if statuses and not answered and all(s.consecutive_failures >= 3 for s in statuses):
            errors = "; ".join(s.last_error or "down" for s in statuses)
            note(f"{what} is not answering: {errors}")
            return False
        if time.monotonic() >= next_progress:
            up = sum(1 for s in statuses if s.up)
            note(f"{elapsed:.0f}/{duration_s:g}s, {up}/{len(statuses)} targets up")
            next_progress += _PROGRESS_EVERY_S
        time.sleep(min(0.2, max(0.0, duration_s - elapsed)))
    return True
