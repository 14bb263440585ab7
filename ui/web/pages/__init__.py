"""One module per page. Each has `PATH`, `TITLE`, `NAV` (the menu label, or "" for pages
reached by links only), `layout(ctx, view)` and `register(app, ctx)` for its callbacks."""

from __future__ import annotations

from types import ModuleType

from ui.web.pages import (
    alerts,
    cluster,
    doctor,
    evictions,
    explore,
    hotkeys,
    overview,
    sentinel,
    target,
)

__all__ = ["PAGES", "page_for"]

PAGES: tuple[ModuleType, ...] = (
    overview,
    target,
    cluster,
    sentinel,
    hotkeys,
    evictions,
    alerts,
    doctor,
    explore,
)


def page_for(pathname: str | None) -> ModuleType | None:
    path = (pathname or "/").rstrip("/") or "/"
    for page in PAGES:
        if path == page.PATH:
            return page
    return None
