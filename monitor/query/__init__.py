"""PromQL over the store: `Engine(reader).instant(expr, at_ms)` / `.range(...)`."""

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
