"""`ReaderSource`: the read model of a reader node, which polls nothing.

`serve` and `tui` with `[store] backend = "prometheus"` and no targets of their own run as a
reader: the engine (queries, alert rules) reads the upstream Prometheus through the store,
and the target list comes from the upstream's `redis_up`/`memcached_up` series
(`upstream.py`). Everything that needs a live connection to a cache server — a hot-key
sample now, the server's own LATENCY/MEMORY DOCTOR, the INFO browser's last raw poll — is
refused with `ReaderCannot`, which names the shard to ask instead: a reader sends nothing to
any cache server.
"""

from __future__ import annotations

from typing import Any

from collectors.hotkeys.report import HotKeyReport
from monitor.discovery import ClusterTopology
from monitor.readmodel.local import LocalSource
from monitor.readmodel.remote import topologies_from_states
from monitor.readmodel.source import TargetState
from monitor.readmodel.upstream import UpstreamTargets

__all__ = ["ReaderCannot", "ReaderSource", "reader_cannot"]


class ReaderCannot(RuntimeError):
    """A reader node was asked for something only a connection to the server can give."""


def reader_cannot(what: str, instance: str, upstream: str) -> ReaderCannot:
    return ReaderCannot(
        f"{what} needs a connection to {instance}, and this is a reader node: it reads "
        f"{upstream} and talks to no cache server. Ask the cachewatch shard that polls "
        f"{instance} (the `cachewatch export --shard i/n` whose /metrics carries it)."
    )


class ReaderSource(LocalSource):
    """`LocalSource` over a runtime that polls nothing (queries and alerts come from its
    engine over the upstream), with the targets from `upstream`."""

    def __init__(self, runtime: Any, upstream: UpstreamTargets, alerting: Any = None) -> None:
        super().__init__(runtime, alerting=alerting, hotkeys=None)
        self.upstream = upstream

    def statuses(self) -> list[TargetState]:
        return self.upstream.states()

    def topologies(self) -> dict[str, ClusterTopology]:
        return topologies_from_states(self.statuses())

    def sample_hot_keys(self, instance: str, duration_s: float | None) -> HotKeyReport:
        raise reader_cannot("A hot-key sample", instance, self.upstream.describe)

    def server_doctor(self, instance: str) -> dict[str, str]:
        raise reader_cannot("The server's LATENCY/MEMORY DOCTOR", instance, self.upstream.describe)
