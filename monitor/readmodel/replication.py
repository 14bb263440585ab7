"""Replication lag, as the primary sees each replica: bytes behind and seconds since its last
acknowledgement.

A replica's own INFO cannot say how far behind it is: it knows its offset, not the
primary's. `master_last_io_seconds_ago` is not lag either: it counts up to the primary's
ping period (10 s) on an idle, healthy link. So lag comes from the primary's INFO
replication lines: `master_repl_offset` minus the replica's acknowledged `offset` (bytes),
and the replica's `lag` (seconds since its last REPLCONF ACK, sent every second; the figure
RedisReplicaLagging alerts on). A replica row shows what its primary says about it; a
primary row shows its worst replica.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from monitor.readmodel import queries as q
from monitor.readmodel.source import DataSource, InstantSample

__all__ = ["ReplicaLag", "replica_lags", "worst"]


@dataclass(frozen=True, slots=True)
class ReplicaLag:
    primary: str  # the primary's instance
    address: str  # the replica as the primary names it (`ip:port`)
    bytes: float | None
    seconds: float | None


def _address(sample: InstantSample) -> str:
    return f"{sample.labels.get('slave_ip', '')}:{sample.labels.get('slave_port', '')}"


def replica_lags(source: DataSource, now_ms: int) -> list[ReplicaLag]:
    """Every replica every primary target reports, with its lag."""
    primary_offset = {
        s.labels.get("instance", ""): s.value for s in source.instant(q.PRIMARY_OFFSET, now_ms)
    }
    ack_age = {
        (s.labels.get("instance", ""), _address(s)): s.value
        for s in source.instant(q.REPLICA_ACK_AGE, now_ms)
    }
    out = []
    for sample in source.instant(q.REPLICA_OFFSET, now_ms):
        primary = sample.labels.get("instance", "")
        address = _address(sample)
        behind = None
        if primary in primary_offset:
            behind = max(0.0, primary_offset[primary] - sample.value)
        out.append(ReplicaLag(primary, address, behind, ack_age.get((primary, address))))
    return out


def for_replica(
    lags: Sequence[ReplicaLag], instance: str, primary: str | None
) -> ReplicaLag | None:
    """What a replica target's primary says about it: matched by address, else (the primary
    names it by another host name or IP) by port among `primary`'s replicas."""
    exact = [lag for lag in lags if lag.address == instance]
    if exact:
        return exact[0]
    port = instance.rpartition(":")[2]
    by_port = [lag for lag in lags if lag.primary == primary and lag.address.endswith(f":{port}")]
    return by_port[0] if len(by_port) == 1 else None


def worst(lags: Iterable[ReplicaLag]) -> ReplicaLag | None:
    """The replica furthest behind (most bytes, then oldest acknowledgement)."""
    ranked = sorted(lags, key=lambda lag: (lag.bytes or 0.0, lag.seconds or 0.0), reverse=True)
    return ranked[0] if ranked else None


def primaries_of(link_samples: Sequence[InstantSample]) -> Mapping[str, str]:
    """replica instance → its primary's address, from `redis_master_link_up`'s labels."""
    return {
        s.labels.get("instance", ""): (
            f"{s.labels.get('master_host', '')}:{s.labels.get('master_port', '')}"
        )
        for s in link_samples
    }
