"""What a query returns: Python-friendly access plus Prometheus's HTTP API `data` shape."""

from __future__ import annotations

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
        at = self.at_ms / 1000
        result: Any
        if self.result_type == "vector":
            result = [
                {"metric": labels, "value": [at, format_value(value)]}
                for labels, value in self.samples
            ]
        elif self.result_type == "matrix":
            result = [
                {
                    "metric": labels,
                    "values": [
                        [int(t) / 1000, format_value(float(v))]
                        for t, v in zip(ts, values, strict=True)
                    ],
                }
                for labels, ts, values in self.series
            ]
        elif self.result_type == "scalar":
            assert self.scalar is not None
            result = [at, format_value(self.scalar)]
        else:
            result = [at, self.string]
        return {"resultType": self.result_type, "result": result}
