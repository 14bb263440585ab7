"""Optional parts: the core installs without the UI stack, and a command that needs a
missing extra says which one to install, in one line, with exit code 3."""

from __future__ import annotations

import importlib.util

__all__ = ["EXTRAS", "MissingExtraError", "missing_modules", "require_extra"]

#: extra -> the modules it brings that cachewatch imports (pyproject.toml's extras)
EXTRAS: dict[str, tuple[str, ...]] = {
    "tui": ("textual", "rich"),
    "web": ("dash", "plotly", "flask"),
    # the demo also shows both UIs: its extra pulls tui and web in
    "demo": ("textual", "rich", "dash", "plotly", "flask", "redis", "pymemcache"),
}


class MissingExtraError(RuntimeError):
    """A command needs modules of an extra that is not installed."""


def missing_modules(extra: str) -> list[str]:
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def require_extra(extra: str, command: str) -> None:
    missing = missing_modules(extra)
    if missing:
        raise MissingExtraError(
            f"`cachewatch {command}` needs the {extra} extra ({', '.join(missing)} not "
            f"installed): pip install 'cachewatch[{extra}]'"
        )
