"""CLUSTER INFO → `redis_cluster_*` gauges, named as redis_exporter names them.

Every `cluster_*` field becomes `redis_<field>` (`ok` → 1, `fail` → 0); the two message
totals keep redis_exporter's renames. Garbled lines are skipped one by one; a reply that is
not a bulk string raises `ReplyFormatError`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from collectors.base import CollectContext, Tier, Unsupported
from collectors.redis_reply import ReplyFormatError, run_command
from monitor.model import MetricType, SampleBatch
from monitor.targets import TargetKind

__all__ = ["ClusterInfoCollector", "parse_cluster_info"]

G = MetricType.GAUGE
_RENAMES = {
    "cluster_stats_messages_sent": "redis_cluster_messages_sent_total",
    "cluster_stats_messages_received": "redis_cluster_messages_received_total",
}
_KNOWN = {
    "cluster_state": "1 if the cluster state is ok",
    "cluster_slots_assigned": "Slots assigned to nodes",
    "cluster_slots_ok": "Slots in state ok",
    "cluster_slots_pfail": "Slots in state pfail",
    "cluster_slots_fail": "Slots in state fail",
    "cluster_known_nodes": "Known nodes",
    "cluster_size": "Shards serving at least one slot",
    "cluster_current_epoch": "Current epoch",
    "cluster_my_epoch": "Config epoch of this node",
}
_STATUS = {"ok": 1.0, "fail": 0.0}


def _metric_name(field: str) -> str:
    renamed = _RENAMES.get(field)
    if renamed is not None:
        return renamed
    safe = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in field)
    return "redis_" + safe


def parse_cluster_info(reply: Any, out: SampleBatch) -> int:
    """Add one sample per numeric `cluster_*` field; returns how many."""
    if not isinstance(reply, bytes | str):
        raise ReplyFormatError(f"CLUSTER INFO: expected a bulk string, got {type(reply).__name__}")
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    count = 0
    for line in text.splitlines():
        field, sep, value = line.partition(":")
        if not sep or not field.startswith("cluster_"):
            continue
        number = _STATUS.get(value)
        if number is None:
            try:
                number = float(value)
            except ValueError:
                continue
        metric = _metric_name(field)
        if metric not in ClusterInfoCollector.metrics:
            out.describe(metric, G, f"CLUSTER INFO field {field}")
        out.add(metric, number)
        count += 1
    return count


class ClusterInfoCollector:
    """Cluster state and slot health, on nodes with cluster mode on."""

    name: ClassVar[str] = "redis_cluster_info"
    kinds: ClassVar[frozenset[TargetKind]] = frozenset({TargetKind.REDIS})
    tier: ClassVar[Tier] = Tier.FAST
    metrics: ClassVar[dict[str, tuple[MetricType, str]]] = {
        **{_metric_name(field): (G, help_text) for field, help_text in _KNOWN.items()},
        **{renamed: (G, f"CLUSTER INFO {field}") for field, renamed in _RENAMES.items()},
    }

    async def collect(self, conn: Any, ctx: CollectContext, out: SampleBatch) -> None:
        caps = ctx.capabilities
        if not caps.cluster_enabled:
            return  # a standalone server: nothing to report, and nothing wrong

        if not caps.allows("cluster info"):
            raise Unsupported("CLUSTER INFO: command missing or refused")
        parse_cluster_info(await run_command(conn, ctx, "CLUSTER", "INFO"), out)
