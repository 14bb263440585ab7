"""Prometheus's HTTP query API over cachewatch's store: `query`, `query_range`, `series`,
`labels`, `label/<name>/values`, `metadata` and `status/buildinfo`, with Prometheus's response
envelope and error types, so Grafana and `promtool` can use cachewatch as a data source.

Everything that reads series runs in one of the query pool's few slots (`querypool.py`), and
query results are streamed series by series (`QueryResult.iter_api_json`)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from monitor.http.params import BadRequest, Params, parse_duration_ms, parse_selector, parse_time_ms
from monitor.http.querypool import QueryPool
from monitor.http.wsgi import Request, Response, json_response
from monitor.model import Matcher, MetricType, now_ms
from monitor.query.limits import QueryLimits
from monitor.store.api import SeriesReader

__all__ = ["QueryEngine", "QueryResult", "PrometheusApi", "API_COMPATIBLE_VERSION"]

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

#: The Prometheus release whose HTTP API we mirror; Grafana reads `version` from buildinfo
#: to decide which API features it may use.
API_COMPATIBLE_VERSION = "2.42.0"
#: as in Prometheus: more points than this per series is refused
_MAX_POINTS = 11_000
#: series/labels without `start`/`end` look at all of time, as in Prometheus
_MIN_TIME_MS = 0


class QueryResult(Protocol):
    def to_api(self) -> dict[str, Any]:
        """The `data` member of a successful response: `resultType` and `result`."""
        ...

    def iter_api_json(self) -> Iterator[bytes]:
        """The whole success response as JSON, in chunks."""
        ...


class QueryEngine(Protocol):
    def instant(self, expr: str, at_ms: int) -> QueryResult: ...

    def range(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult: ...


def _success(data: object) -> Response:
    return json_response({"status": "success", "data": data})


def _streamed(result: QueryResult) -> Response:
    """One chunk (most answers) goes out whole, with its length; more are streamed."""
    chunks = iter(result.iter_api_json())
    first = next(chunks)
    second = next(chunks, None)
    if second is None:
        return Response(200, first, "application/json")
    return Response(200, itertools.chain((first, second), chunks), "application/json")


def _far_future_ms() -> int:
    return now_ms() + 86_400_000


class PrometheusApi:
    def __init__(
        self,
        reader: SeriesReader,
        engine: QueryEngine,
        metadata: Callable[[], dict[str, tuple[MetricType, str]]],
        version: str,
        limits: QueryLimits | None = None,
    ) -> None:
        self._reader = reader
        self._engine = engine
        self._metadata = metadata
        self._version = version
        self._limits = limits or QueryLimits()
        self._pool = QueryPool(self._limits)

    def _parse(self, selector: str) -> list[Matcher]:
        return parse_selector(selector, limits=self._limits)

    def query(self, request: Request) -> Response:
        params = request.params
        expr = params.required("query")
        at_ms = params.time_ms("time", now_ms())
        _validate_timeout(params)
        with self._pool.slot():
            return _streamed(self._engine.instant(expr, at_ms))

    def query_range(self, request: Request) -> Response:
        params = request.params
        expr = params.required("query")
        start_ms = parse_time_ms(params.required("start"), "start")
        end_ms = parse_time_ms(params.required("end"), "end")
        if end_ms < start_ms:
            raise BadRequest('invalid parameter "end": end timestamp must not be before start time')
        step_ms = parse_duration_ms(params.required("step"), "step")
        if step_ms <= 0:
            raise BadRequest(
                'invalid parameter "step": zero or negative query resolution step widths are '
                "not accepted. Try a positive integer"
            )
        if (end_ms - start_ms) / step_ms > _MAX_POINTS:
            raise BadRequest(
                "exceeded maximum resolution of 11,000 points per timeseries. "
                "Try decreasing the query resolution (?step=XX)"
            )
        _validate_timeout(params)
        with self._pool.slot():
            return _streamed(self._engine.range(expr, start_ms, end_ms, step_ms))

    def series(self, request: Request) -> Response:
        params = request.params
        selectors = [self._parse(s) for s in params.all("match[]")]
        if not selectors:
            raise BadRequest("no match[] parameter provided")
        start_ms, end_ms = _time_range(params)
        seen: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        with self._pool.slot():
            for matchers in selectors:
                for labels in self._reader.series(matchers, start_ms, end_ms):
                    seen.setdefault(tuple(sorted(labels.items())), labels)
        return _success([seen[key] for key in sorted(seen)])

    def labels(self, request: Request) -> Response:
        params = request.params
        start_ms, end_ms = _time_range(params)
        names: set[str] = set()
        with self._pool.slot():
            for matchers in self._optional_selectors(params):
                names.update(self._reader.label_names(matchers, start_ms, end_ms))
        return _success(sorted(names))

    def label_values(self, request: Request) -> Response:
        name = request.path_arg
        if not _LABEL_NAME.fullmatch(name):
            raise BadRequest(f'invalid label name: "{name}"')
        params = request.params
        start_ms, end_ms = _time_range(params)
        values: set[str] = set()
        with self._pool.slot():
            for matchers in self._optional_selectors(params):
                values.update(self._reader.label_values(name, matchers, start_ms, end_ms))
        return _success(sorted(values))

    def _optional_selectors(self, params: Params) -> list[list[Matcher]]:
        """The `match[]` selectors; none means every series (`[[]]`: no matchers)."""
        selectors = params.all("match[]")
        if not selectors:
            return [[]]
        return [self._parse(selector) for selector in selectors]

    def metadata(self, request: Request) -> Response:
        params = request.params
        wanted = params.get("metric")
        limit = _non_negative_int(params, "limit")
        data: dict[str, list[dict[str, str]]] = {}
        for name, (kind, help_text) in sorted(self._metadata().items()):
            if wanted and name != wanted:
                continue
            if limit and len(data) >= limit:
                break
            api_type = "gauge" if kind is MetricType.INFO else kind.value
            data[name] = [{"type": api_type, "help": help_text, "unit": ""}]
        return _success(data)

    def buildinfo(self, request: Request) -> Response:
        return _success(
            {
                "version": API_COMPATIBLE_VERSION,
                "revision": "",
                "branch": "",
                "buildUser": "",
                "buildDate": "",
                "goVersion": "",
                "application": f"cachewatch {self._version}",
            }
        )


def _time_range(params: Params) -> tuple[int, int]:
    start_ms = params.time_ms("start", _MIN_TIME_MS)
    end_ms = params.time_ms("end", _far_future_ms())
    if end_ms < start_ms:
        raise BadRequest('invalid parameter "end": end timestamp must not be before start time')
    return start_ms, end_ms


def _validate_timeout(params: Params) -> None:
    timeout = params.get("timeout")
    if timeout:
        parse_duration_ms(timeout, "timeout")


def _non_negative_int(params: Params, name: str) -> int:
    text = params.get(name)
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f'invalid parameter "{name}": {text!r} is not an integer') from None
    return max(value, 0)
