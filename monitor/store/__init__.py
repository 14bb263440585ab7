"""Embedded time-series store: `EmbeddedStore.open(path, StoreConfig(...))`."""

from monitor.store.api import SeriesData, SeriesReader, Store, StoreStats
from monitor.store.config import RollupTier, StoreConfig
from monitor.store.embedded import EmbeddedStore, StoreLockedError

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
