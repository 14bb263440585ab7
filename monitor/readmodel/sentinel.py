"""The Sentinel view: each Sentinel-managed set as its masters, each a primary with its
replicas (as a cluster shard is shown), the Sentinels beside them with what each says, and
the set's failovers and membership changes.

Everything comes from target labels (`sentinel_set`, `sentinel_master`, `role`), fleet-wide
PromQL over the Sentinels' `redis_sentinel_*` series, and `topology.*` events, so it reads
the same from a `LocalSource` and a `RemoteSource` (`tui --attach`).

What each derived figure means, once for every screen:
- a master's **status** is the worst any of its Sentinels reports (`odown` > `sdown` > `ok`);
- **quorum ok** holds while every Sentinel's `SENTINEL CKQUORUM` for it succeeds;
- the Sentinels **agree** while they all name the same primary address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.readmodel import queries as q
from monitor.readmodel.source import DataSource, Health, InstantSample, TargetState

__all__ = [
    "SENTINEL_MASTER_STATUS",
    "SENTINEL_QUORUM",
    "SENTINEL_TILT",
    "SENTINEL_FAILOVER",
    "SENTINEL_OK_PEERS",
    "SentinelDataNode",
    "SentinelMasterGroup",
    "SentinelRow",
    "TopologyChangeRow",
    "SentinelSetSummary",
    "SentinelView",
    "sentinel_view",
    "sentinel_group_key",
    "CHANGES_SPAN_MS",
]

SENTINEL_MASTER_STATUS = "redis_sentinel_master_status"
SENTINEL_QUORUM = "min without (message) (redis_sentinel_master_ckquorum_status)"
SENTINEL_TILT = "redis_sentinel_tilt"
SENTINEL_FAILOVER = "cachewatch_redis_sentinel_master_failover_in_progress"
SENTINEL_OK_PEERS = "redis_sentinel_master_ok_sentinels"
#: how far back the changes list reaches
CHANGES_SPAN_MS = 86_400_000
_STATUS_RANK = {"ok": 0, "sdown": 1, "odown": 2}


@dataclass(frozen=True, slots=True)
class SentinelDataNode:
    instance: str
    role: str  # "primary" | "replica"
    poll_health: Health  # cachewatch's view: can we poll it
    link_up: bool | None  # a replica's link to its primary
    ops_per_s: float | None
    memory_used: float | None


@dataclass(frozen=True, slots=True)
class SentinelMasterGroup:
    name: str
    nodes: tuple[SentinelDataNode, ...]  # primary first
    #: every primary address the set's Sentinels name now (one when they agree)
    named_primaries: tuple[str, ...]
    status: str  # the worst any Sentinel reports: "ok" | "sdown" | "odown"; "" without data
    quorum_ok: bool | None
    failover_in_progress: bool

    @property
    def primary(self) -> str:
        return next((n.instance for n in self.nodes if n.role == "primary"), "")

    @property
    def agreed(self) -> bool:
        return len(self.named_primaries) <= 1

    @property
    def healthy(self) -> bool:
        return (
            bool(self.primary)
            and self.status == "ok"
            and self.quorum_ok is not False
            and self.agreed
            and not self.failover_in_progress
            and all(n.poll_health is not Health.DOWN and n.link_up is not False for n in self.nodes)
        )


@dataclass(frozen=True, slots=True)
class SentinelRow:
    instance: str
    poll_health: Health
    tilt: bool | None
    #: the fewest healthy Sentinels this one counts (itself included) over its masters
    ok_sentinels: float | None
    #: master name -> (the primary this Sentinel names, its status there)
    names: Mapping[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TopologyChangeRow:
    ts_ms: int
    kind: str  # "failover" | "role changed" | "node added" | "node removed"
    instance: str
    master: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class SentinelSetSummary:
    name: str
    masters: tuple[SentinelMasterGroup, ...]
    sentinels: tuple[SentinelRow, ...]
    changes: tuple[TopologyChangeRow, ...]  # newest first, the last `CHANGES_SPAN_MS`

    @property
    def sentinels_down(self) -> int:
        return sum(1 for s in self.sentinels if s.poll_health is Health.DOWN)

    @property
    def failovers(self) -> tuple[TopologyChangeRow, ...]:
        return tuple(c for c in self.changes if c.kind == "failover")


@dataclass(frozen=True, slots=True)
class SentinelView:
    sets: tuple[SentinelSetSummary, ...]


def sentinel_group_key(labels: Mapping[str, str]) -> tuple[str, str] | None:
    """(set, master) of a Sentinel-managed data node, (set, "") of a Sentinel, else None:
    what the overview groups such rows by, as it groups cluster nodes by cluster and shard."""
    name = labels.get("sentinel_set")
    if not name:
        return None
    return name, labels.get("sentinel_master", "")


def _by_instance(samples: list[InstantSample]) -> dict[str, float]:
    return {s.labels.get("instance", ""): s.value for s in samples}


def _per_master(samples: list[InstantSample]) -> dict[tuple[str, str], InstantSample]:
    """(Sentinel instance, master name) -> its sample."""
    return {(s.labels.get("instance", ""), s.labels.get("master_name", "")): s for s in samples}


def sentinel_view(source: DataSource, now_ms: int | None = None) -> SentinelView:
    now = source.now_ms() if now_ms is None else now_ms
    members: dict[str, list[TargetState]] = {}
    for state in source.statuses():
        key = sentinel_group_key(state.labels)
        if key is not None:
            members.setdefault(key[0], []).append(state)
    if not members:
        return SentinelView(())

    def fetch(expr: str) -> list[InstantSample]:
        return source.instant(expr, now)

    ops, memory = _by_instance(fetch(q.FLEET_OPS)), _by_instance(fetch(q.FLEET_MEMORY_USED))
    link = _by_instance(fetch(q.FLEET_LINK_UP))
    status = _per_master(fetch(SENTINEL_MASTER_STATUS))
    quorum = _per_master(fetch(SENTINEL_QUORUM))
    failover = _per_master(fetch(SENTINEL_FAILOVER))
    ok_peers = _per_master(fetch(SENTINEL_OK_PEERS))
    tilt = _by_instance(fetch(SENTINEL_TILT))
    events = source.events("topology.", None, now - CHANGES_SPAN_MS, 500)
    sets = []
    for name in sorted(members):
        states = members[name]
        sentinels = sorted(
            (s for s in states if s.labels.get("role") == "sentinel"), key=lambda s: s.instance
        )
        watchers = {s.instance for s in sentinels}
        masters: dict[str, list[TargetState]] = {}
        for state in states:
            master = state.labels.get("sentinel_master")
            if master:
                masters.setdefault(master, []).append(state)
        groups = []
        for master, nodes in sorted(masters.items()):
            seen = [(i, m) for i, m in status if i in watchers and m == master]
            views = [status[key] for key in seen]
            worst = max(
                (v.labels.get("master_status", "") for v in views),
                key=lambda value: _STATUS_RANK.get(value, 3),
                default="",
            )
            checks = [quorum[key].value for key in seen if key in quorum]
            groups.append(
                SentinelMasterGroup(
                    name=master,
                    nodes=tuple(
                        SentinelDataNode(
                            instance=n.instance,
                            role=n.labels.get("role", ""),
                            poll_health=n.health,
                            link_up=None if n.instance not in link else link[n.instance] >= 1,
                            ops_per_s=ops.get(n.instance),
                            memory_used=memory.get(n.instance),
                        )
                        for n in sorted(
                            nodes, key=lambda n: (n.labels.get("role") != "primary", n.instance)
                        )
                    ),
                    named_primaries=tuple(
                        sorted({v.labels.get("master_address", "") for v in views})
                    ),
                    status=worst,
                    quorum_ok=None if not checks else min(checks) >= 1,
                    failover_in_progress=any(failover[k].value >= 1 for k in seen if k in failover),
                )
            )
        rows = []
        for sentinel in sentinels:
            counts = [s.value for (i, _), s in ok_peers.items() if i == sentinel.instance]
            rows.append(
                SentinelRow(
                    instance=sentinel.instance,
                    poll_health=sentinel.health,
                    tilt=None if sentinel.instance not in tilt else tilt[sentinel.instance] >= 1,
                    ok_sentinels=min(counts) if counts else None,
                    names={
                        m: (v.labels.get("master_address", ""), v.labels.get("master_status", ""))
                        for (i, m), v in status.items()
                        if i == sentinel.instance and m in masters
                    },
                )
            )
        changes = tuple(
            TopologyChangeRow(
                ts_ms=e.ts_ms,
                kind=e.kind.removeprefix("topology.").replace("_", " "),
                instance=dict(e.target_labels).get("instance", ""),
                master=str(e.data.get("sentinel_master", "")),
                before=str(e.data.get("before", "")),
                after=str(e.data.get("after", "")),
            )
            for e in events
            if e.data.get("sentinel_set") == name
        )
        sets.append(SentinelSetSummary(name, tuple(groups), tuple(rows), changes))
    return SentinelView(tuple(sets))
