"""Prometheus's HTTP query API over cachewatch's store: `query`, `query_range`, `series`,
`labels`, `label/<name>/values`, `metadata` and `status/buildinfo`, with Prometheus's response
envelope and error types, so Grafana and `promtool` can use cachewatch as a data source."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from monitor.http.params import BadRequest, Params, parse_duration_ms, parse_selector, parse_time_ms
from monitor.http.wsgi import Request, Response, json_response
from monitor.model import Matcher, MetricType, now_ms
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


class QueryEngine(Protocol):
    def instant(self, expr: str, at_ms: int) -> QueryResult: ...

    def range(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult: ...


def _success(data: object) -> Response:
    return json_response({"status": "success", "data": data})


def _far_future_ms() -> int:
    return now_ms() + 86_400_000


class PrometheusApi:
    def __init__(
        self,
        reader: SeriesReader,
        engine: QueryEngine,
        metadata: Callable[[], dict[str, tuple[MetricType, str]]],
        version: str,
    ) -> None:
        self._reader = reader
        self._engine = engine
        self._metadata = metadata
        self._version = version

    def query(self, request: Request) -> Response:
        params = request.params
        expr = params.required("query")
        at_ms = params.time_ms("time", now_ms())
        _validate_timeout(params)
        return _success(self._engine.instant(expr, at_ms).to_api())

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
        return _success(self._engine.range(expr, start_ms, end_ms, step_ms).to_api())

    def series(self, request: Request) -> Response:
        params = request.params
        selectors = params.all("match[]")
        if not selectors:
            raise BadRequest("no match[] parameter provided")
        start_ms, end_ms = _time_range(params)
        seen: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        for selector in selectors:
            for labels in self._reader.series(parse_selector(selector), start_ms, end_ms):
                seen.setdefault(tuple(sorted(labels.items())), labels)
        return _success([seen[key] for key in sorted(seen)])

    def labels(self, request: Request) -> Response:
        params = request.params
        start_ms, end_ms = _time_range(params)
        names: set[str] = set()
        for matchers in _optional_selectors(params):
            names.update(self._reader.label_names(matchers, start_ms, end_ms))
        return _success(sorted(names))

    def label_values(self, request: Request) -> Response:
        name = request.path_arg
        if not _LABEL_NAME.fullmatch(name):
            raise BadRequest(f'invalid label name: "{name}"')
        params = request.params
        start_ms, end_ms = _time_range(params)
        values: set[str] = set()
        for matchers in _optional_selectors(params):
            values.update(self._reader.label_values(name, matchers, start_ms, end_ms))
        return _success(sorted(values))

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


def _optional_selectors(params: Params) -> list[list[Matcher]]:
    selectors = params.all("match[]")
    if not selectors:
        return [[]]
    return [parse_selector(selector) for selector in selectors]


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
