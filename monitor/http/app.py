"""`make_app`: the one WSGI app `serve` and `export` run — exporter, probe, health and the
Prometheus query API — with room for the web UI mounted at `/`."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from monitor.exporter import SelfMetrics
from monitor.http.events import EventQuery, EventsEndpoint
from monitor.http.hotkeys import HotKeysEndpoint
from monitor.http.metrics import (
    LatestBatches,
    MetadataSource,
    MetricsEndpoint,
    Probe,
    ScrapeEndpoint,
)
from monitor.http.promapi import PrometheusApi, QueryEngine
from monitor.http.rulesapi import RulesApi, RulesSource
from monitor.http.scrapepolicy import ScrapePolicy
from monitor.http.targets import TargetsEndpoint
from monitor.http.wsgi import Response, Router, WSGIApp
from monitor.query import Engine
from monitor.query.limits import QueryLimits
from monitor.readmodel.source import HotKeySampling
from monitor.store.api import SeriesReader

if TYPE_CHECKING:
    from monitor.poller import TargetStatus
    from monitor.readmodel.source import TargetState

__all__ = ["make_app"]


def _version() -> str:
    try:
        return importlib.metadata.version("cachewatch")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _text(status: int, body: str) -> Response:
    return Response(status, body.encode(), "text/plain; charset=utf-8")


def make_app(
    *,
    latest_batches: LatestBatches,
    metadata: MetadataSource,
    self_metrics: SelfMetrics | None = None,
    probe: Probe | None = None,
    scrape_policy: ScrapePolicy | None = None,
    reader: SeriesReader | None = None,
    engine: QueryEngine | None = None,
    events: EventQuery | None = None,
    targets: Callable[[], Sequence[TargetStatus]] | None = None,
    upstream_targets: Callable[[], Sequence[TargetState]] | None = None,
    rules: RulesSource | None = None,
    hotkeys: HotKeySampling | None = None,
    ready: Callable[[], bool] = lambda: True,
    version: str | None = None,
    root: WSGIApp | None = None,
    limits: QueryLimits | None = None,
) -> Router:
    """The WSGI app.

    - `latest_batches()`: the last batch of every target, for `/metrics`;
    - `metadata()`: metric name -> (type, help) of everything collected;
    - `probe(url, timeout_s)`: poll one target now, for `/scrape` (route absent without it),
      limited to what `scrape_policy` allows (anything without one);
    - `reader` (+ `engine`, default `monitor.query.Engine(reader)`): the query API under
      `/api/v1/` (absent without a reader, e.g. for `export`);
    - `events(kind_prefix, instance, start_ms, limit)`: the store's events, newest first, for
      `/api/v1/cachewatch/events` (absent without it);
    - `targets()`: the poller's status of every target, for `/api/v1/targets` (absent
      without it);
    - `upstream_targets()`: instead, the targets a reader node lists from the upstream;
    - `rules`: the alert engine, for `/api/v1/rules` and `/api/v1/alerts` (absent without);
    - `hotkeys`: the running detectors, for `/api/v1/cachewatch/hotkeys` (reports; POST:
      sample now) (absent without);
    - `limits`: what one query may ask for (`[query]`), for the engine and the query pool;
    - `ready()`: what `/-/ready` reports (e.g. "the first round of polls finished");
    - `root`: a WSGI app for every other path (the web UI); also `app.mount_root(...)` later.
    """
    router = Router()
    router.route("/metrics", MetricsEndpoint(latest_batches, metadata, self_metrics))
    router.route("/-/healthy", lambda _request: _text(200, "cachewatch is Healthy.\n"))
    router.route(
        "/-/ready",
        lambda _request: (
            _text(200, "cachewatch is Ready.\n")
            if ready()
            else _text(503, "cachewatch is not ready.\n")
        ),
    )
    if probe is not None:
        router.route("/scrape", ScrapeEndpoint(probe, metadata, scrape_policy))
    if reader is not None:
        limits = limits or QueryLimits()
        if engine is None:
            engine = Engine(reader, limits=limits)
        api = PrometheusApi(reader, engine, lambda: dict(metadata()), version or _version(), limits)
        router.route("/api/v1/query", api.query)
        router.route("/api/v1/query_range", api.query_range)
        router.route("/api/v1/series", api.series)
        router.route("/api/v1/labels", api.labels)
        router.route_param("/api/v1/label/", "/values", api.label_values)
        router.route("/api/v1/metadata", api.metadata)
        router.route("/api/v1/status/buildinfo", api.buildinfo)
    if events is not None:
        router.route("/api/v1/cachewatch/events", EventsEndpoint(events))
    if upstream_targets is not None:
        router.route("/api/v1/targets", TargetsEndpoint.of_states(upstream_targets))
    elif targets is not None:
        router.route("/api/v1/targets", TargetsEndpoint.of_statuses(targets))
    if rules is not None:
        rules_api = RulesApi(rules)
        router.route("/api/v1/rules", rules_api.rules)
        router.route("/api/v1/alerts", rules_api.alerts)
    if hotkeys is not None:
        router.route("/api/v1/cachewatch/hotkeys", HotKeysEndpoint(hotkeys))
    if root is not None:
        router.mount_root(root)
    return router
