"""Query errors, shaped like Prometheus's HTTP API errors (`errorType` + `error`).

QueryError
├── BadDataError        the expression is malformed or uses something we don't support
│   └── NotSupportedError
├── ExecutionError      the expression is valid but evaluating it failed
│   └── TooManySamplesError
├── QueryTimeoutError
└── UnavailableError    refused before it started: every query slot busy
"""

from __future__ import annotations

__all__ = [
    "QueryError",
    "BadDataError",
    "NotSupportedError",
    "ExecutionError",
    "TooManySamplesError",
    "QueryTimeoutError",
    "UnavailableError",
]


class QueryError(Exception):
    error_type = "execution"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_api(self) -> dict[str, str]:
        """The body Prometheus answers a failed query with."""
        return {"status": "error", "errorType": self.error_type, "error": self.message}


class BadDataError(QueryError):
    error_type = "bad_data"


class NotSupportedError(BadDataError):
    def __init__(self, construct: str) -> None:
        super().__init__(f"not supported: {construct}")


class ExecutionError(QueryError):
    error_type = "execution"


class TooManySamplesError(ExecutionError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"query processing would load too many samples into memory (limit {limit})"
        )


class QueryTimeoutError(QueryError):
    error_type = "timeout"


class UnavailableError(QueryError):
    error_type = "unavailable"
