"""cachewatch's own health metrics (`cachewatch_*`), updated by the scheduler.

The scheduler calls `observe_poll` after every poll and `set_store_stats` / `set_targets`
when it knows; the exporter renders `snapshot()` beside the targets' batches. Counters are
per target `instance`, so a scrape with `honor_labels: true` files them under the polled
server; the poll-duration histogram is process-wide to keep its cardinality fixed.
"""

from __future__ import annotations

import bisect
import threading

from monitor.exporter.formats import format_value
from monitor.model import MetricType, SampleBatch, now_ms

__all__ = ["SelfMetrics", "POLL_DURATION_BUCKETS_S"]

POLL_DURATION_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

_METADATA: dict[str, tuple[MetricType, str]] = {
    "cachewatch_polls_total": (MetricType.COUNTER, "Polls of a target, successful or not."),
    "cachewatch_poll_errors_total": (MetricType.COUNTER, "Polls of a target that failed."),
    "cachewatch_poll_seconds": (
        MetricType.HISTOGRAM,
        "Wall-clock duration of one poll of one target.",
    ),
    "cachewatch_store_size_bytes": (
        MetricType.GAUGE,
        "Bytes the embedded store uses on disk.",
    ),
    "cachewatch_store_series": (MetricType.GAUGE, "Series in the embedded store."),
    "cachewatch_store_write_errors_total": (
        MetricType.COUNTER,
        "Writes to the embedded store that failed (a full disk); the data is kept and retried.",
    ),
    "cachewatch_targets": (MetricType.GAUGE, "Targets this instance polls."),
    "cachewatch_scheduler_skipped_runs_total": (
        MetricType.COUNTER,
        "Scheduled runs skipped because the job's previous run was still going (a poll, "
        "hot-key step or store maintenance slower than its interval).",
    ),
    "cachewatch_scheduler_polls_due_total": (
        MetricType.COUNTER,
        "Polls due on the scheduler's grid (one per target and interval).",
    ),
    "cachewatch_scheduler_polls_late_total": (
        MetricType.COUNTER,
        "Polls due on the grid that did not start on their slot: started more than a tenth "
        "of the interval late, skipped (the previous poll still ran) or missed.",
    ),
}


class SelfMetrics:
    """Thread-safe counters and gauges about cachewatch itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._polls: dict[str, int] = {}
        self._errors: dict[str, int] = {}
        self._bucket_counts = [0] * len(POLL_DURATION_BUCKETS_S)
        self._duration_sum = 0.0
        self._duration_count = 0
        self._store_bytes = 0
        self._store_series = 0
        self._store_write_errors = 0
        self._targets = 0
        self._skipped_runs: dict[str, int] = {}
        self._polls_due = 0
        self._polls_late = 0

    def observe_slot(self, due: int, late: int) -> None:
        """A slot of the poll grid fired: `due` polls were due, `late` of them not on it."""
        with self._lock:
            self._polls_due += due
            self._polls_late += late

    def observe_skipped_run(self, job: str) -> None:
        with self._lock:
            self._skipped_runs[job] = self._skipped_runs.get(job, 0) + 1

    def observe_poll(self, target_instance: str, duration_s: float, ok: bool) -> None:
        with self._lock:
            self._polls[target_instance] = self._polls.get(target_instance, 0) + 1
            errors = self._errors.get(target_instance, 0)
            self._errors[target_instance] = errors if ok else errors + 1
            slot = bisect.bisect_left(POLL_DURATION_BUCKETS_S, duration_s)
            if slot < len(self._bucket_counts):
                self._bucket_counts[slot] += 1
            self._duration_sum += duration_s
            self._duration_count += 1

    def forget_target(self, target_instance: str) -> None:
        """Stop exporting a removed target's counters."""
        with self._lock:
            self._polls.pop(target_instance, None)
            self._errors.pop(target_instance, None)

    def set_store_stats(self, series: int, bytes_on_disk: int) -> None:
        with self._lock:
            self._store_series = series
            self._store_bytes = bytes_on_disk

    def set_store_write_errors(self, count: int) -> None:
        with self._lock:
            self._store_write_errors = count

    def set_targets(self, count: int) -> None:
        with self._lock:
            self._targets = count

    def snapshot(self) -> SampleBatch:
        """The current values as a batch without target labels, metadata included."""
        batch = SampleBatch(ts_ms=now_ms(), target_labels=(), metadata=dict(_METADATA))
        with self._lock:
            for instance in sorted(self._polls):
                labels = (("instance", instance),)
                batch.add("cachewatch_polls_total", self._polls[instance], labels)
                batch.add("cachewatch_poll_errors_total", self._errors[instance], labels)
            cumulative = 0
            for bound, count in zip(POLL_DURATION_BUCKETS_S, self._bucket_counts, strict=True):
                cumulative += count
                le = (("le", format_value(bound)),)
                batch.add("cachewatch_poll_seconds_bucket", cumulative, le)
            batch.add("cachewatch_poll_seconds_bucket", self._duration_count, (("le", "+Inf"),))
            batch.add("cachewatch_poll_seconds_sum", self._duration_sum)
            batch.add("cachewatch_poll_seconds_count", self._duration_count)
            batch.add("cachewatch_store_size_bytes", self._store_bytes)
            batch.add("cachewatch_store_series", self._store_series)
            batch.add("cachewatch_store_write_errors_total", self._store_write_errors)
            batch.add("cachewatch_targets", self._targets)
            batch.add("cachewatch_scheduler_polls_due_total", self._polls_due)
            batch.add("cachewatch_scheduler_polls_late_total", self._polls_late)
            for job in sorted(self._skipped_runs):
                batch.add(
                    "cachewatch_scheduler_skipped_runs_total",
                    self._skipped_runs[job],
                    (("task", job),),
                )
        return batch
