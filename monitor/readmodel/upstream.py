"""The target list of a reader node, read from the upstream Prometheus.

A reader (`serve`/`tui` with `[store] backend = "prometheus"` and no targets of its own)
polls nothing: the shards (`cachewatch export --shard i/n`) poll, Prometheus scrapes them,
and the reader learns which targets exist from the `redis_up` / `memcached_up` series
there. Each such series is one target: its labels are the target's (`instance`, user
labels such as `service`, `cluster`/`shard`/`role` for cluster nodes, plus what Prometheus
adds: `job`, external labels), its last sample says up or down, and that sample's time is
the last poll the reader can know of.

A series whose last sample is older than a few scrape intervals belongs to a target no
shard reports any more (its shard stopped, or it left the config): shown as unknown, with
why, until the engine's lookback (5 minutes) lets it go.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from monitor.model import Matcher, now_ms
from monitor.query.errors import QueryError
from monitor.readmodel.source import Health, TargetState
from monitor.store.api import ReadBudget, SeriesData

__all__ = [
    "UP_SERIES",
    "LOOKBACK_MS",
    "SampleSelector",
    "UpstreamTargets",
    "UpstreamUnavailable",
    "UpstreamView",
    "targets_from_series",
]

#: one series per target, as `export` exposes them (redis_exporter's and memcached_exporter's)
UP_SERIES = ("redis_up", "memcached_up")
#: how far back a target is still listed: the engine's lookback, so lists and charts agree
LOOKBACK_MS = 5 * 60 * 1000
#: the scrape interval assumed for a series with a single sample
_DEFAULT_INTERVAL_S = 10.0
#: a target is unknown after this many scrape intervals without a sample ...
_STALE_INTERVALS = 3
#: ... and never sooner than this (a loaded Prometheus scrapes late)
_STALE_FLOOR_MS = 10_000


def _interval_s(ts: np.ndarray) -> float:
    """The scrape interval, as the median spacing of the last samples."""
    if len(ts) < 2:
        return _DEFAULT_INTERVAL_S
    return float(np.median(np.diff(ts[-11:]))) / 1000


def _up_since_ms(ts: np.ndarray, values: np.ndarray) -> int:
    """The first sample of the trailing run of "up" samples (0 when the last is down)."""
    down = np.flatnonzero(values < 1)
    if len(down) == 0:
        return int(ts[0])
    last_down = int(down[-1])
    return 0 if last_down == len(ts) - 1 else int(ts[last_down + 1])


def _state(series: SeriesData, now: int) -> TargetState | None:
    labels = {k: v for k, v in series.labels.items() if k != "__name__"}
    instance = labels.get("instance", "")
    keep = ~np.isnan(series.values)
    ts, values = series.ts[keep], series.values[keep]
    if not instance or len(ts) == 0:
        return None
    interval_s = _interval_s(ts)
    last_ms, last = int(ts[-1]), float(values[-1])
    stale_after_ms = max(_STALE_INTERVALS * interval_s * 1000, _STALE_FLOOR_MS)
    age_ms = now - last_ms
    health, error = Health.UP, None
    if age_ms > stale_after_ms:
        health = Health.UNKNOWN
        error = (
            f"no sample upstream for {age_ms / 1000:.0f}s: is the shard that polls it "
            "running, and scraped?"
        )
    elif last < 1:
        health = Health.DOWN
        error = "down, as its shard reports: that shard's /api/v1/targets has the poll error"
    name = series.labels.get("__name__", "")
    return TargetState(
        instance=instance,
        kind="memcached" if name == "memcached_up" else "redis",
        labels=labels,
        health=health,
        last_poll_ms=last_ms,
        last_error=error,
        interval_s=interval_s if math.isfinite(interval_s) and interval_s > 0 else 10.0,
        up_since_ms=_up_since_ms(ts, values) if health is Health.UP else 0,
    )


def targets_from_series(series: Sequence[SeriesData], now: int) -> list[TargetState]:
    """One target per `instance`, sorted by it. Two series of one instance (it moved from
    one shard to another with different labels, or two replicas report it) give the one
    with the newer sample."""
    newest: dict[str, TargetState] = {}
    for one in series:
        state = _state(one, now)
        if state is None:
            continue
        known = newest.get(state.instance)
        if known is None or state.last_poll_ms > known.last_poll_ms:
            newest[state.instance] = state
    return [newest[instance] for instance in sorted(newest)]


class SampleSelector(Protocol):
    """The part of a `SeriesReader` the list needs (`PrometheusReader` in a reader)."""

    def select(
        self,
        matchers: Sequence[Matcher],
        start_ms: int,
        end_ms: int,
        budget: ReadBudget | None = None,
    ) -> list[SeriesData]: ...


@dataclass(frozen=True, slots=True)
class UpstreamView:
    """The last look at the upstream: its targets, when, and the error if the last look
    failed (the targets are then the last good ones)."""

    targets: tuple[TargetState, ...]
    taken_ms: int
    error: str | None = None


class UpstreamTargets:
    """The upstream's target list, read again once it is older than `refresh_s` (on demand:
    a reader nobody looks at sends nothing). Safe to call from any thread; one read at a
    time. `describe` names the upstream in messages (its URL without credentials)."""

    def __init__(
        self,
        reader: SampleSelector,
        describe: str,
        refresh_s: float = 5.0,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._reader = reader
        self.describe = describe
        self._refresh_ms = round(refresh_s * 1000)
        self._clock = clock
        self._lock = threading.Lock()
        self._view: UpstreamView | None = None

    def refresh(self) -> UpstreamView:
        """Read the list now. On failure keep the last good targets, with the error."""
        with self._lock:
            return self._read()

    def _read(self) -> UpstreamView:
        now = self._clock()
        matchers = [Matcher("__name__", "=~", "|".join(UP_SERIES))]
        try:
            series = self._reader.select(matchers, now - LOOKBACK_MS, now)
            view = UpstreamView(tuple(targets_from_series(series, now)), now)
        except QueryError as exc:
            last = self._view.targets if self._view is not None else ()
            view = UpstreamView(last, now, f"cannot list targets from {self.describe}: {exc}")
        self._view = view
        return view

    def view(self) -> UpstreamView:
        with self._lock:
            if self._view is None or self._clock() - self._view.taken_ms >= self._refresh_ms:
                return self._read()
            return self._view

    def states(self) -> list[TargetState]:
        """The targets, or `QueryError` when the upstream cannot be read (the views then
        say so, as for any query that fails)."""
        view = self.view()
        if view.error is not None:
            raise UpstreamUnavailable(view.error)
        return list(view.targets)


class UpstreamUnavailable(QueryError):
    """The upstream Prometheus could not list the targets."""

    error_type = "unavailable"
