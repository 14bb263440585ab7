"""Values that travel between the layers: labels, samples, batches, events.

Everything a collector produces is a `SampleBatch`: one timestamp, one target, and
parallel lists of metric names, label tuples and values. Keeping the batch columnar (not one
object per sample) is what lets a poll plus the store append stay well under a millisecond of
CPU: the store walks three lists instead of allocating hundreds of small objects.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

__all__ = [
    "Labels",
    "labels_of",
    "MetricType",
    "SampleBatch",
    "Event",
    "now_ms",
    "Matcher",
    "STALE_NAN_BITS",
]

#: Label pairs sorted by name; hashable so it can key a series.
Labels = tuple[tuple[str, str], ...]


def labels_of(mapping: dict[str, str]) -> Labels:
    """Turn a label mapping into the canonical sorted tuple form."""
    return tuple(sorted(mapping.items()))


def now_ms() -> int:
    return int(time.time() * 1000)


class MetricType(enum.StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    INFO = "info"  # value is always 1, facts live in the labels
    HISTOGRAM = "histogram"  # exposed as _bucket/_sum/_count samples


@dataclass(slots=True)
class SampleBatch:
    """Samples of one target taken at one instant.

    `names[i]`, `labels[i]`, `values[i]` describe sample i. `labels[i]` holds only the
    sample's own labels (e.g. `(("cmd", "get"),)`); the target's labels (`instance`, user
    labels, `role`, `shard`, ...) are in `target_labels` and are merged in by the store and
    the exporter, so collectors never copy them per sample.
    """

    ts_ms: int
    target_labels: Labels
    names: list[str] = field(default_factory=list)
    labels: list[Labels] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    #: metric name -> (type, help) for names this batch introduces
    metadata: dict[str, tuple[MetricType, str]] = field(default_factory=dict)
    #: what tells this target apart from another with the same labels (its kind: a redis
    #: and a memcached server on one address); "" when the labels alone say it
    source: str = ""

    def add(self, name: str, value: float, labels: Labels = ()) -> None:
        self.names.append(name)
        self.labels.append(labels)
        self.values.append(value)

    def describe(self, name: str, kind: MetricType, help_text: str) -> None:
        self.metadata.setdefault(name, (kind, help_text))

    def extend(self, other: SampleBatch) -> None:
        self.names.extend(other.names)
        self.labels.extend(other.labels)
        self.values.extend(other.values)
        for name, meta in other.metadata.items():
            self.metadata.setdefault(name, meta)

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened at an instant: a slowlog entry, a topology change, an alert.

    `kind` is a short dotted name (`slowlog`, `topology.failover`, `target.down`);
    `data` holds JSON-serialisable details.
    """

    ts_ms: int
    kind: str
    target_labels: Labels
    data: dict[str, object]


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher of a selector, as in PromQL: `op` is one of = != =~ !~.

    Regex matchers are fully anchored, as in Prometheus.
    """

    name: str
    op: str
    value: str


#: Prometheus's staleness marker: a NaN with this exact bit pattern means "series ended here".
STALE_NAN_BITS = 0x7FF0000000000002
