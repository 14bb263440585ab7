"""Wire a running engine to the HTTP layer: what `serve` and `export` share.

`build_http_app(runtime, ...)` gives the WSGI app with `/metrics` (latest polls, from
memory), `/scrape?target=` (poll one target now), health endpoints and — when the runtime
has a store — the Prometheus query API and `/api/v1/cachewatch/events`. `serve` mounts the
web UI at `/` on top of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from monitor.exporter import SelfMetrics
from monitor.http.app import make_app
from monitor.http.rulesapi import RulesSource
from monitor.http.scrapepolicy import ScrapePolicy
from monitor.http.settings import parse_exporter_settings
from monitor.http.wsgi import Router, WSGIApp
from monitor.model import MetricType
from monitor.query.limits import parse_query_limits
from monitor.readmodel.local import LocalSource
from monitor.readmodel.source import HotKeySampling
from monitor.runtime import Runtime, static_metadata

if TYPE_CHECKING:
    from monitor.readmodel.upstream import UpstreamTargets

__all__ = ["build_http_app", "RuntimeMetadata"]


class RuntimeMetadata:
    """Type and help of every metric: the collectors' static catalogs, plus names that
    collectors described on the fly (unknown INFO fields), as the latest polls carry them."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._static = static_metadata(runtime.config)

    def __call__(self) -> Mapping[str, tuple[MetricType, str]]:
        dynamic = [b.metadata for b in self._runtime.latest_batches() if b.metadata]
        if not dynamic:
            return self._static
        merged = dict(self._static)
        for metadata in dynamic:
            for name, meta in metadata.items():
                merged.setdefault(name, meta)
        return merged


def build_http_app(
    runtime: Runtime,
    self_metrics: SelfMetrics | None = None,
    query_api: bool = True,
    root: WSGIApp | None = None,
    rules: RulesSource | None = None,
    hotkeys: HotKeySampling | None = None,
    upstream: UpstreamTargets | None = None,
) -> Router:
    """`self_metrics` defaults to the runtime's own poll observer when that is one; `rules`
    (the alert engine) serves `/api/v1/rules` and `/api/v1/alerts`; `hotkeys` (the running
    detectors) `/api/v1/cachewatch/hotkeys`. `/scrape` polls only
    what the runtime polls and what `[exporter] scrape_allow` allows; queries are bounded
    by `[query]`. Raises HttpSettingsError / QueryLimitsError for bad sections.

    `upstream`: this is a reader node (it polls nothing): `/api/v1/targets` lists the
    upstream's targets, ready means the upstream answers, and there is no `/scrape` (a
    reader connects to no cache server)."""
    if self_metrics is None and isinstance(runtime.observer, SelfMetrics):
        self_metrics = runtime.observer

    def latest_batches() -> list:
        # the store's size reaches `self_metrics` from the runtime, on a timer
        batches = runtime.latest_batches()
        if self_metrics is not None:
            self_metrics.set_targets(len(batches))
        return batches

    def ready() -> bool:
        if upstream is not None:
            return upstream.view().error is None
        # not ready while the store cannot write: what is collected is not made durable
        statuses = runtime.statuses()
        polled = bool(statuses) and all(s.up is not None for s in statuses)
        return polled and runtime.store_health().ok

    reader = runtime.store if query_api else None
    # a bare SeriesReader (tests, a read-only view) has no events to serve; with a store,
    # the in-process TUI's instance -> target lookup, so attached and local read alike
    has_events = reader is not None and hasattr(reader, "events")
    events = LocalSource(runtime).events if has_events else None
    return make_app(
        latest_batches=latest_batches,
        metadata=RuntimeMetadata(runtime),
        self_metrics=self_metrics,
        probe=runtime.probe if upstream is None else None,
        scrape_policy=ScrapePolicy(
            runtime.polled_targets, parse_exporter_settings(runtime.config.exporter).scrape_allow
        ),
        reader=reader,
        events=events,
        targets=runtime.statuses,
        upstream_targets=upstream.states if upstream is not None else None,
        rules=rules,
        hotkeys=hotkeys,
        ready=ready,
        root=root,
        limits=parse_query_limits(runtime.config.query),
    )
