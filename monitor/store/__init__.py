"""Embedded time-series store: `EmbeddedStore.open(path, StoreConfig(...))`.

The names are imported on first use (PEP 562), so a command that never opens a store (a
`cachewatch query` answered by a running serve) does not pay for numpy at startup.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.store.api import SeriesData, SeriesReader, Store, StoreStats
    from monitor.store.config import RollupTier, StoreConfig
    from monitor.store.embedded import EmbeddedStore
    from monitor.store.lock import StoreLockedError

__all__ = [
    "EmbeddedStore",
    "RollupTier",
    "SeriesData",
    "SeriesReader",
    "Store",
    "StoreConfig",
    "StoreStats",
    "StoreLockedError",
]

_HOME = {
    "EmbeddedStore": "monitor.store.embedded",
    "StoreLockedError": "monitor.store.lock",
    "RollupTier": "monitor.store.config",
    "StoreConfig": "monitor.store.config",
    **{name: "monitor.store.api" for name in ("SeriesData", "SeriesReader", "Store", "StoreStats")},
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'monitor.store' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
