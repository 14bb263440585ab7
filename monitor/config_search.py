"""Where a command finds its config file when `-c` is not given.

In order: `-c FILE`, then `$CACHEWATCH_CONFIG`, then the first of these that exists:
`$XDG_CONFIG_HOME/cachewatch/cachewatch.toml` (`~/.config/...` when XDG_CONFIG_HOME is
unset) and `/etc/cachewatch/cachewatch.toml`. The last two are only searched when no
target URL is given on the command line: `cachewatch tui redis://seed:7000` is an ad-hoc
look at one server, and must not pick up the host's targets and alert receivers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["CONFIG_ENV", "SYSTEM_CONFIG", "search_path", "find_config", "SEARCH_HELP"]

CONFIG_ENV = "CACHEWATCH_CONFIG"
SYSTEM_CONFIG = Path("/etc/cachewatch/cachewatch.toml")
SEARCH_HELP = (
    "config file: -c FILE, else $CACHEWATCH_CONFIG, else (when no URL is given) "
    "$XDG_CONFIG_HOME/cachewatch/cachewatch.toml, else /etc/cachewatch/cachewatch.toml"
)


def search_path(env: Mapping[str, str] | None = None) -> list[Path]:
    """The files searched when neither -c nor $CACHEWATCH_CONFIG names one."""
    env = os.environ if env is None else env
    xdg = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return [Path(xdg) / "cachewatch" / "cachewatch.toml", SYSTEM_CONFIG]


def find_config(
    explicit: str | None, ad_hoc: bool = False, env: Mapping[str, str] | None = None
) -> str | None:
    """The config file a command should load, or None for none (built-in defaults)."""
    env = os.environ if env is None else env
    if explicit:
        return explicit
    if env.get(CONFIG_ENV):
        return env[CONFIG_ENV]
    if ad_hoc:
        return None
    for path in search_path(env):
        if path.is_file():
            return str(path)
    return None
