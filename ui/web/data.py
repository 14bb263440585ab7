"""What the dashboard reads, in one object: the shared read model (`monitor.readmodel`'s
`DataSource`) plus the few things only the web pages show — the latest raw batch of a target
(the INFO browser), the silence list (create/expire), and hot-key reports.

Callbacks read this and never talk to a server: every number was polled by the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from collectors.hotkeys.report import HotKeyReport
from monitor.model import Matcher, SampleBatch
from monitor.readmodel.source import DataSource, HotKeySampling

if TYPE_CHECKING:
    from monitor.readmodel.reader import ReaderSource

__all__ = ["WebData", "SilenceBook", "HotKeyReports", "HotKeySample"]


class SilenceBook(Protocol):
    """`alerts.silences.SilenceStore`'s surface the alerts page uses."""

    def add(
        self,
        matchers: Sequence[Matcher],
        duration_ms: int,
        comment: str,
        created_by: str = "",
        starts_at_ms: int | None = None,
    ) -> Any: ...

    def expire(self, silence_id: str) -> Any: ...

    def list_silences(
        self, include_expired: bool = False, at_ms: int | None = None
    ) -> list[Any]: ...


#: every target's (or cluster's) latest hot-key report
HotKeyReports = Callable[[], Sequence[HotKeyReport]]
#: a person's "hot keys now" for one target (blocking for its duration)
HotKeySample = Callable[[str, float | None], HotKeyReport]


@dataclass(frozen=True, slots=True)
class WebData:
    source: DataSource
    #: instance -> its last poll's samples, or None before the first poll
    latest_batch: Callable[[str], SampleBatch | None]
    #: poll interval in seconds, the finest step a chart may ask for
    interval_s: float = 10.0
    silences: SilenceBook | None = None
    hotkeys: HotKeyReports | None = None
    sample_hotkeys: HotKeySample | None = None
    #: the upstream's URL on a reader node (it polls nothing, so it has no raw polls)
    reader_of: str | None = None

    @classmethod
    def from_runtime(
        cls,
        runtime: Any,
        alerting: Any = None,
        hotkeys: HotKeySampling | None = None,
    ) -> WebData:
        from monitor.readmodel.local import LocalSource

        def latest_batch(instance: str) -> SampleBatch | None:
            for status in runtime.statuses():
                if status.target.instance == instance:
                    return status.last_batch  # type: ignore[no-any-return]
            return None

        intervals = [t.interval_s for t in runtime.config.targets] or [10.0]
        return cls(
            source=LocalSource(runtime, alerting, hotkeys),
            latest_batch=latest_batch,
            interval_s=min(intervals),
            silences=alerting.silences if alerting is not None else None,
            hotkeys=hotkeys.reports if hotkeys is not None else None,
            sample_hotkeys=hotkeys.sample if hotkeys is not None else None,
        )

    @classmethod
    def for_reader(cls, source: ReaderSource, alerting: Any = None) -> WebData:
        """A reader node's: targets from the upstream, no raw polls, and "sample hot keys
        now" answering that a reader cannot (it names the shard to ask)."""
        intervals = [t.interval_s for t in source.upstream.view().targets] or [10.0]
        return cls(
            source=source,
            latest_batch=lambda _instance: None,
            interval_s=min(intervals),
            silences=alerting.silences if alerting is not None else None,
            sample_hotkeys=source.sample_hot_keys,
            reader_of=source.upstream.describe,
        )
