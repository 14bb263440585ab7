"""The running engine: store + fleet + scheduler, in an asyncio loop.

`Runtime` is what every long-running command builds (`poll`, `serve`, `export`, `tui`,
`demo`). Headless commands run it in the main thread's loop; the UIs and the web server run
it in a background thread (`start_background`) and read the store and the fleet's statuses
from their own threads — both are safe for that.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from collectors.base import Collector
from collectors.registry import collectors_for, load_collector_classes
from monitor import gcpolicy, memtrim
from monitor.config import Config
from monitor.exporter.selfmetrics import SelfMetrics
from monitor.fleet import Fleet
from monitor.model import MetricType, SampleBatch, now_ms
from monitor.poller import POLLER_METRICS, PollObserver, TargetPoller, TargetStatus
from monitor.scheduler import PollScheduler
from monitor.store.api import HealthReporter, StoreHealth
from monitor.targets import Target, parse_target_url

if TYPE_CHECKING:
    from monitor.store.scope import ReadScope

__all__ = ["Runtime", "open_store", "collector_factory", "static_metadata", "poll_once"]

log = logging.getLogger("cachewatch.runtime")
#: how often the store's size is reported to the self metrics (`cachewatch_store_*`)
_STORE_STATS_EVERY_S = 15.0
#: how often freed memory is handed back to the system (monitor/memtrim.py)
_TRIM_EVERY_S = 60.0
T = TypeVar("T")


def collector_factory(config: Config) -> Callable[[Target], list[Collector]]:
    classes = load_collector_classes(config.disabled_collectors)
    if not classes:
        log.error("no collectors registered: is cachewatch installed (pip install -e .)?")

    def make(target: Target) -> list[Collector]:
        return [cls() for cls in collectors_for(target.kind, classes)]

    return make


def static_metadata(config: Config) -> dict[str, tuple[MetricType, str]]:
    """Type and help of every metric the registered collectors declare."""
    meta: dict[str, tuple[MetricType, str]] = dict(POLLER_METRICS)
    for cls in load_collector_classes(config.disabled_collectors):
        meta.update(getattr(cls, "metrics", {}))
    return meta


def open_store(config: Config, read_only: bool = False, scope: ReadScope | None = None) -> Any:
    """The embedded store at the configured path (created if missing); with
    `backend = "prometheus"`, one whose series reads go to that server instead. A read-only
    open with a `scope` loads only what the scope's reads need (`monitor.store.scope`)."""
    from monitor.store import EmbeddedStore, StoreConfig
    from monitor.store.scope import ScopedStore

    settings = config.store
    defaults = StoreConfig()
    retention = {"10s": settings.rollup_10s_retention_s, "1m": settings.rollup_1m_retention_s}
    store_config = replace(
        defaults,
        flush_interval_ms=round(settings.flush_interval_s * 1000),
        raw_retention_ms=round(settings.raw_retention_s * 1000),
        tiers=tuple(
            replace(
                tier, retention_ms=round(retention.get(tier.name, tier.retention_ms / 1000) * 1000)
            )
            for tier in defaults.tiers
        ),
        max_bytes=settings.max_bytes or defaults.max_bytes,
    )
    if read_only and scope is not None and settings.backend != "prometheus":
        return ScopedStore(
            EmbeddedStore.open(settings.path, store_config, read_only=True, scope=scope),
            scope,
            lambda: EmbeddedStore.open(settings.path, store_config, read_only=True),
        )
    if read_only:
        remote_only = settings.backend == "prometheus" and not (settings.path / "wal").is_dir()
        local = (
            None if remote_only else EmbeddedStore.open(settings.path, store_config, read_only=True)
        )
    else:
        settings.path.mkdir(parents=True, exist_ok=True)
        local = EmbeddedStore.open(settings.path, store_config)
    if settings.backend == "prometheus" and settings.url:
        from monitor.store.hybrid import HybridStore
        from monitor.store.remote import PrometheusReader

        return HybridStore(local, PrometheusReader(settings.url))
    return local


class Runtime:
    def __init__(
        self,
        config: Config,
        store: Any = None,
        observer: PollObserver | None = None,
        with_store: bool = True,
    ) -> None:
        self.config = config
        self.store = store
        self._with_store = with_store
        self._owns_store = False
        # cachewatch's own health metrics (`cachewatch_*`) unless the caller observes polls
        self.observer: PollObserver = observer if observer is not None else SelfMetrics()
        self.fleet: Fleet | None = None
        self.scheduler: PollScheduler | None = None
        self._make_collectors = collector_factory(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._on_started: list[Callable[[Runtime], Awaitable[None]]] = []
        self._on_stopping: list[Callable[[], Awaitable[None]]] = []
        self._contributors: list[Callable[[Target, SampleBatch], None]] = []

    # -- lifecycle inside a loop -------------------------------------------------------

    def on_started(self, hook: Callable[[Runtime], Awaitable[None]]) -> None:
        """Run `hook(runtime)` in the loop once polling has started (alerts, hot keys...)."""
        self._on_started.append(hook)

    def add_contributor(self, contribute: Callable[[Target, SampleBatch], None]) -> None:
        """Let `contribute(target, batch)` add samples to every successful poll (hot keys)."""
        self._contributors.append(contribute)
        if self.fleet is not None:
            self.fleet.contributors = self._contributors

    def on_stopping(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook()` in the loop before polling stops (to stop what `on_started` began)."""
        self._on_stopping.append(hook)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.store is None and self._with_store:
            self.store = open_store(self.config)
            self._owns_store = True
        if self.store is not None and hasattr(self.store, "register_metadata"):
            self.store.register_metadata(static_metadata(self.config))
        self.fleet = Fleet(
            list(self.config.targets),
            self._make_collectors,
            sink=self.store,
            observer=self.observer,
            slow_interval_s=self.config.global_.slow_interval_s,
            options=self.config.collectors,
            shard=self.config.shard,
        )
        self.fleet.contributors = self._contributors
        await self.fleet.start()
        self.scheduler = PollScheduler(
            self.fleet,
            self.config.global_.discovery_interval_s,
            mark_stale=self._mark_stale,
            on_skipped=getattr(self.observer, "observe_skipped_run", None),
            on_slot=getattr(self.observer, "observe_slot", None),
        )
        await self.scheduler.start()
        if self.store is not None and hasattr(self.store, "maintain"):
            self.scheduler.add_periodic("store", 1.0, self._maintain_store)
            self.scheduler.add_periodic("memory-trim", _TRIM_EVERY_S, self._trim_memory)
        if self.store is not None and hasattr(self.observer, "set_store_stats"):
            self.scheduler.add_periodic("store-stats", _STORE_STATS_EVERY_S, self._report_store)
        for hook in self._on_started:
            await hook(self)
        gcpolicy.settle()
        gcpolicy.watch_pauses()

    def _mark_stale(self, poller: TargetPoller) -> None:
        if self.store is not None:
            target = poller.target
            if target.store_source:  # only then: stores and sinks of two arguments still fit
                self.store.mark_stale(target.series_labels(), now_ms(), target.store_source)
            else:
                self.store.mark_stale(target.series_labels(), now_ms())

    async def _maintain_store(self) -> None:
        # Compaction and block writes are CPU work: keep them off the polling loop.
        await asyncio.to_thread(self.store.maintain, now_ms())
        if isinstance(self.observer, SelfMetrics):
            self.observer.set_store_write_errors(self.store_health().write_errors)

    async def _trim_memory(self) -> None:
        await asyncio.to_thread(memtrim.trim)

    def store_health(self) -> StoreHealth:
        """Whether the store's writes work (always, for a store that cannot tell)."""
        if isinstance(self.store, HealthReporter):
            return self.store.health()
        return StoreHealth()

    async def _report_store(self) -> None:
        # Stats stat() files under the store's lock: on a timer, not on every scrape.
        stats = await asyncio.to_thread(self.store.stats)
        self.observer.set_store_stats(stats.series, stats.bytes_on_disk)  # type: ignore[attr-defined]

    async def reload_targets(self, targets: list[Target]) -> tuple[int, int]:
        """Poll `targets` from now on (a config reload); unchanged targets keep polling
        without a gap. Returns (pollers added, pollers removed)."""
        assert self.fleet is not None and self.scheduler is not None, "start() first"
        change = await self.fleet.replace_seeds(targets)
        await self.scheduler.apply(change)
        return len(change.added), len(change.removed)

    async def stop(self) -> None:
        for hook in reversed(self._on_stopping):
            try:
                await hook()
            except Exception:
                log.exception("error while stopping")
        if self.scheduler is not None:
            await self.scheduler.stop()
            self.scheduler = None
        if self.store is not None and self._owns_store:  # a store passed in is the caller's
            self.store.close()

    async def run_until_stopped(self) -> None:
        self._stopping = asyncio.Event()
        await self.start()
        try:
            await self._stopping.wait()
        finally:
            await self.stop()

    def request_stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)

    # -- background-thread mode (UIs, web server) --------------------------------------

    def start_background(self, timeout_s: float = 30.0) -> None:
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            async def main() -> None:
                self._stopping = asyncio.Event()
                try:
                    await self.start()
                except BaseException as exc:
                    failure.append(exc)
                    started.set()
                    return
                started.set()
                try:
                    await self._stopping.wait()
                finally:
                    await self.stop()

            asyncio.run(main())

        self._thread = threading.Thread(target=run, name="cachewatch-engine", daemon=True)
        self._thread.start()
        if not started.wait(timeout_s):
            raise TimeoutError(f"engine did not start within {timeout_s:g}s")
        if failure:
            raise failure[0]

    def stop_background(self, timeout_s: float = 10.0) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float = 10.0) -> T:
        """Run a coroutine in the engine's loop from another thread and wait for it."""
        assert self._loop is not None, "engine not started"
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout_s)

    # -- readers -----------------------------------------------------------------------

    def statuses(self) -> list[TargetStatus]:
        return self.fleet.statuses() if self.fleet is not None else []

    def polled_targets(self) -> list[Target]:
        """Every target polled now: the configured ones and the discovered cluster nodes."""
        return [s.target for s in self.statuses()] + list(self.config.targets)

    def latest_batches(self) -> list[SampleBatch]:
        return [s.last_batch for s in self.statuses() if s.last_batch is not None]

    def probe(self, url: str | Target, timeout_s: float = 10.0) -> SampleBatch:
        """Poll a target given by URL (or a configured one) once, now (the exporter's
        `/scrape?target=`)."""
        if isinstance(url, Target):
            target = replace(url, timeout_s=min(timeout_s, 10.0), discover=False)
        else:
            target = parse_target_url(url, timeout_s=min(timeout_s, 10.0), discover=False)

        async def once() -> SampleBatch:
            poller = TargetPoller(
                target, self._make_collectors(target), options=self.config.collectors
            )
            try:
                return await poller.poll()
            finally:
                await poller.close()

        if self._loop is not None and self._thread is not None:
            return self.call(once(), timeout_s + 1)
        return asyncio.run(once())


async def poll_once(config: Config) -> list[TargetStatus]:
    """Discover and poll every target once, concurrently; no store (`poll --once`)."""
    fleet = Fleet(
        list(config.targets),
        collector_factory(config),
        options=config.collectors,
        slow_interval_s=config.global_.slow_interval_s,
        shard=config.shard,
    )
    await fleet.start()
    pollers = list(fleet.pollers.values())
    try:
        await asyncio.gather(*(p.poll() for p in pollers))
    finally:
        await asyncio.gather(*(p.close() for p in pollers), return_exceptions=True)
    return [p.status for p in pollers]
