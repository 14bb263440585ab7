"""What a query returns: Python-friendly access plus Prometheus's HTTP API `data` shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitor.query.values import format_value

__all__ = ["QueryResult"]


@dataclass(frozen=True, slots=True)
class QueryResult:
    """`result_type` is "vector", "matrix", "scalar" or "string".

    - vector: `samples` holds (labels, value) pairs, all at `at_ms`.
    - matrix: `series` holds (labels, timestamps in ms, values).
    - scalar / string: `scalar` / `string` at `at_ms`.
    """

    result_type: str
    at_ms: int = 0
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)
    series: list[tuple[dict[str, str], np.ndarray, np.ndarray]] = field(default_factory=list)
    scalar: float | None = None
    string: str | None = None

    def to_api(self) -> dict[str, Any]:
        """Exactly the `data` object of Prometheus's /api/v1/query(_range) answer."""
        return {"resultType": self.result_type, "result": self._result()}

    def _items(self) -> Iterator[dict[str, Any]]:
        """The elements of a vector's or a matrix's `result`, one at a time."""
        at = self.at_ms / 1000
        if self.result_type == "vector":
            for labels, value in self.samples:
                yield {"metric": labels, "value": [at, format_value(value)]}
        else:
            for labels, ts, values in self.series:
                yield {
                    "metric": labels,
                    "values": [
                        [int(t) / 1000, format_value(float(v))]
                        for t, v in zip(ts, values, strict=True)
                    ],
                }

    def iter_api_json(self, chunk_bytes: int = 1 << 16) -> Iterator[bytes]:
        """The whole success response (`{"status":"success","data":…}`) as JSON, in chunks
        of about `chunk_bytes`: a big matrix is encoded series by series as it is sent,
        never held as one document."""
        head = f'{{"status":"success","data":{{"resultType":"{self.result_type}","result":'
        if self.result_type not in ("vector", "matrix"):
            yield (head + _dumps(self._result()) + "}}").encode()
            return
        pending = [head, "["]
        size = len(head)
        for i, item in enumerate(self._items()):
            text = ("," if i else "") + _dumps(item)
            pending.append(text)
            size += len(text)
            if size >= chunk_bytes:
                yield "".join(pending).encode()
                pending, size = [], 0
        pending.append("]}}")
        yield "".join(pending).encode()

    def _result(self) -> Any:
        at = self.at_ms / 1000
        if self.result_type in ("vector", "matrix"):
            return list(self._items())
        if self.result_type == "scalar":
            assert self.scalar is not None
            return [at, format_value(self.scalar)]
        return [at, self.string]


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
