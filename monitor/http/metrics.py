"""`/metrics` (every target's latest batch) and `/scrape?target=` (redis_exporter's
multi-target probe: poll one target now and expose just that).

`/metrics` only reads batches the scheduler already holds, so a scrape never waits on a slow
target; `/scrape` waits for its one target, bounded by the scraper's own timeout.
"""

from __future__ import annotations

import gzip
import logging
import math
from collections.abc import Callable, Iterable, Mapping

from monitor.exporter import Exposition, Format, SelfMetrics, negotiate
from monitor.http.params import BadRequest
from monitor.http.scrapepolicy import ScrapePolicy, ScrapeRefused
from monitor.http.wsgi import Request, Response
from monitor.model import MetricType, SampleBatch, now_ms
from monitor.targets import Target, TargetError, parse_target_url

__all__ = ["MetricsEndpoint", "ScrapeEndpoint", "Probe", "LatestBatches", "MetadataSource"]

log = logging.getLogger("cachewatch.http")

#: poll a target now: its URL, or (a configured target, with its secrets) the Target itself
Probe = Callable[[str | Target, float], SampleBatch]
LatestBatches = Callable[[], Iterable[SampleBatch]]
MetadataSource = Callable[[], Mapping[str, tuple[MetricType, str]]]

_DEFAULT_PROBE_TIMEOUT_S = 10.0
#: left for rendering and the network out of the scraper's timeout
_PROBE_TIMEOUT_MARGIN_S = 0.5


def _encoded(body: bytes, fmt: Format, request: Request) -> Response:
    response = Response(200, body, fmt.content_type, [("Vary", "Accept, Accept-Encoding")])
    if "gzip" in (request.header("Accept-Encoding") or "").lower():
        # level 1: a 3.5 MB document compresses ~10x in a few ms; higher levels cost
        # tens of ms for little gain
        response.body = gzip.compress(body, compresslevel=1)
        response.headers.append(("Content-Encoding", "gzip"))
    return response


class MetricsEndpoint:
    def __init__(
        self,
        latest_batches: LatestBatches,
        metadata: MetadataSource,
        self_metrics: SelfMetrics | None = None,
    ) -> None:
        self._latest_batches = latest_batches
        self._metadata = metadata
        self._self_metrics = self_metrics
        self._exposition = Exposition()

    def __call__(self, request: Request) -> Response:
        fmt = negotiate(request.header("Accept"))
        batches = list(self._latest_batches())
        if self._self_metrics is not None:
            batches.append(self._self_metrics.snapshot())
        return _encoded(self._exposition.render(batches, self._metadata(), fmt), fmt, request)


class ScrapeEndpoint:
    """Without a `policy` any target may be polled (for embedding in tests and tools);
    `serve` and `export` always pass one (`scrapepolicy.py`)."""

    def __init__(
        self, probe: Probe, metadata: MetadataSource, policy: ScrapePolicy | None = None
    ) -> None:
        self._probe = probe
        self._metadata = metadata
        self._policy = policy

    def __call__(self, request: Request) -> Response:
        url = request.params.required("target")
        if "://" not in url:
            url = f"redis://{url}"  # redis_exporter accepts a bare host:port
        try:
            target = parse_target_url(url)
        except TargetError as exc:
            raise BadRequest(f'invalid parameter "target": {exc}') from None
        if target.sentinel is not None:
            raise BadRequest(
                'invalid parameter "target": /scrape polls one server; probe a Sentinel '
                "as redis://host:26379"
            )
        probed_as: str | Target = url
        if self._policy is not None:
            try:
                probed_as = self._policy.resolve(target) or url
            except ScrapeRefused as exc:
                raise BadRequest(f'invalid parameter "target": {exc}') from None
        timeout_s = _probe_timeout(request.header("X-Prometheus-Scrape-Timeout-Seconds"))
        try:
            batch = self._probe(probed_as, timeout_s)
        except Exception as exc:
            # the URL may carry a password: log the target's safe form and the error's type
            log.warning("probe of %s failed: %s", target.url, type(exc).__name__)
            batch = SampleBatch(ts_ms=now_ms(), target_labels=())
            batch.add(f"{target.kind.value}_up", 0)
        # A probe's series get their `instance` from Prometheus's relabelling of `target`,
        # as with redis_exporter, so the batch's own is dropped.
        probed = SampleBatch(
            ts_ms=batch.ts_ms,
            target_labels=tuple(pair for pair in batch.target_labels if pair[0] != "instance"),
            names=batch.names,
            labels=batch.labels,
            values=batch.values,
            metadata=batch.metadata,
        )
        fmt = negotiate(request.header("Accept"))
        body = Exposition().render([probed], self._metadata(), fmt)
        return _encoded(body, fmt, request)


def _probe_timeout(header: str | None) -> float:
    try:
        scraper_timeout = float(header) if header else _DEFAULT_PROBE_TIMEOUT_S
    except ValueError:
        scraper_timeout = _DEFAULT_PROBE_TIMEOUT_S
    if not math.isfinite(scraper_timeout):
        # NaN would time the probe out at once, inf would let a silent target hang it
        scraper_timeout = _DEFAULT_PROBE_TIMEOUT_S
    return max(scraper_timeout - _PROBE_TIMEOUT_MARGIN_S, 0.5)
