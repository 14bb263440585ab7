"""PromQL over the store: `Engine(reader).instant(expr, at_ms)` / `.range(...)`.

The names are imported on first use (PEP 562): the config parser needs only
`monitor.query.limits` and its errors, and a CLI command that asks a running serve needs no
engine at all, so neither pays for numpy and the parser at startup.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.query.engine import Engine
    from monitor.query.errors import (
        BadDataError,
        ExecutionError,
        NotSupportedError,
        QueryError,
        QueryTimeoutError,
        TooManySamplesError,
    )
    from monitor.query.memory_reader import MemoryReader
    from monitor.query.result import QueryResult

__all__ = [
    "Engine",
    "QueryResult",
    "QueryError",
    "BadDataError",
    "NotSupportedError",
    "ExecutionError",
    "TooManySamplesError",
    "QueryTimeoutError",
    "MemoryReader",
]

_HOME = {
    "Engine": "monitor.query.engine",
    "QueryResult": "monitor.query.result",
    "MemoryReader": "monitor.query.memory_reader",
    **{
        name: "monitor.query.errors"
        for name in (
            "QueryError",
            "BadDataError",
            "NotSupportedError",
            "ExecutionError",
            "TooManySamplesError",
            "QueryTimeoutError",
        )
    },
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'monitor.query' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
