"""What every page module receives: the data, whether writes are allowed, the defaults."""

from __future__ import annotations

from dataclasses import dataclass

from ui.web.data import WebData

__all__ = ["PageContext", "DEFAULT_WIDTH_PX"]

#: a laptop's chart width until the browser tells us its own
DEFAULT_WIDTH_PX = 1200


@dataclass(frozen=True, slots=True)
class PageContext:
    data: WebData
    #: state-changing actions (silences) need an authenticated user
    can_write: bool = False
    default_theme: str = "dark"
