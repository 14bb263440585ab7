"""Redis Sentinel discovery: from one Sentinel address to the Sentinels, primaries and
replicas they manage.

`read_sentinel_view(conn, address, masters)` asks one Sentinel (`INFO server`, `SENTINEL
MASTERS`, then `SENTINEL REPLICAS` and `SENTINEL SENTINELS` per master: all read-only) and
returns a `SentinelTopology`; `read_sentinel_set(seed, known, connect)` asks every Sentinel
of a set at once and merges their answers. `merge_views(views)` combines what they said:
for each master the answer with the highest config epoch wins (a Sentinel that has not yet
heard of the latest failover has a lower one), and the Sentinels are the union, one per run
id (so a Sentinel named by host name in the URL and by IP by its peers is polled once).

`sentinel_targets(seed, topology)` turns it into one `Target` per node: every Sentinel
(`role="sentinel"`) and every primary and replica (`role`, `sentinel_master`), all labelled
`sentinel_set` (the seed's name or its address list). Data nodes log in with the seed's data
credentials, Sentinels with the Sentinels' own.

`sentinel_events(set_name, old, new, ts_ms)` names what changed as `topology.*` events:
`failover` (a master's primary moved), `node_added`, `node_removed`, `role_changed`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from collectors.redis_conn import ReplyError
from collectors.redis_sentinel import parse_sentinel_table
from monitor.model import Event
from monitor.targets import Target, host_port

__all__ = [
    "SentinelNode",
    "SentinelMaster",
    "SentinelTopology",
    "SentinelError",
    "set_name",
    "read_sentinel_view",
    "read_sentinel_set",
    "sentinel_data_targets",
    "view_from_replies",
    "merge_views",
    "sentinel_targets",
    "sentinel_events",
]


log = logging.getLogger("cachewatch.discovery")


class SentinelError(ValueError):
    """A Sentinel's answer that cannot be used; the message names the command."""


@dataclass(frozen=True, slots=True)
class SentinelNode:
    host: str
    port: int
    role: str  # "primary" | "replica" | "sentinel"
    master: str = ""  # the master name, for data nodes
    #: how the answering Sentinel flags it (`master`, `slave,s_down,disconnected`, ...)
    flags: str = ""
    run_id: str = ""

    @property
    def address(self) -> str:
        return host_port(self.host, self.port)


@dataclass(frozen=True, slots=True)
class SentinelMaster:
    name: str
    primary: SentinelNode
    replicas: tuple[SentinelNode, ...]
    config_epoch: int = 0

    @property
    def nodes(self) -> tuple[SentinelNode, ...]:
        return (self.primary, *self.replicas)


@dataclass(frozen=True, slots=True)
class SentinelTopology:
    masters: tuple[SentinelMaster, ...]
    sentinels: tuple[SentinelNode, ...]

    def master(self, name: str) -> SentinelMaster | None:
        return next((m for m in self.masters if m.name == name), None)

    def nodes(self) -> dict[str, SentinelNode]:
        """Address -> node, data nodes and Sentinels alike."""
        found = {node.address: node for node in self.sentinels}
        for master in self.masters:
            found.update((node.address, node) for node in master.nodes)
        return found


def set_name(seed: Target) -> str:
    """The `sentinel_set` label of everything a seed discovers."""
    assert seed.sentinel is not None
    return seed.name or seed.sentinel.address_list


def _node(row: dict[str, str], role: str, master: str, what: str) -> SentinelNode:
    port = row.get("port", "")
    if not row.get("ip") or not port.isdigit():
        raise SentinelError(f"{what}: an entry without ip/port")
    return SentinelNode(
        host=row["ip"],
        port=int(port),
        role=role,
        master=master,
        flags=row.get("flags", ""),
        run_id=row.get("runid", ""),
    )


def _run_id(info_server: Any) -> str:
    if not isinstance(info_server, bytes):
        return ""
    for line in info_server.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        if key == "run_id":
            return value.strip()
    return ""


def view_from_replies(
    address: tuple[str, int],
    info_server: Any,
    masters_reply: Any,
    per_master: dict[str, tuple[Any, Any]],
) -> SentinelTopology:
    """One Sentinel's view from its replies: `per_master` maps each master name to its
    `SENTINEL REPLICAS` and `SENTINEL SENTINELS` replies."""
    own = SentinelNode(address[0], address[1], "sentinel", run_id=_run_id(info_server))
    sentinels = [own]
    masters = []
    for row in parse_sentinel_table(masters_reply, "SENTINEL MASTERS"):
        name = row.get("name", "")
        if name not in per_master:
            continue
        replicas_reply, peers_reply = per_master[name]
        for reply, command in ((replicas_reply, "REPLICAS"), (peers_reply, "SENTINELS")):
            if isinstance(reply, ReplyError):
                raise SentinelError(f"SENTINEL {command} {name}: {reply}")
        replicas = tuple(
            sorted(
                (
                    _node(r, "replica", name, "SENTINEL REPLICAS")
                    for r in parse_sentinel_table(replicas_reply, "SENTINEL REPLICAS")
                ),
                key=lambda n: n.address,
            )
        )
        for peer in parse_sentinel_table(peers_reply, "SENTINEL SENTINELS"):
            sentinels.append(_node(peer, "sentinel", "", "SENTINEL SENTINELS"))
        epoch = row.get("config-epoch", "0")
        masters.append(
            SentinelMaster(
                name=name,
                primary=_node(row, "primary", name, "SENTINEL MASTERS"),
                replicas=replicas,
                config_epoch=int(epoch) if epoch.isdigit() else 0,
            )
        )
    return SentinelTopology(tuple(sorted(masters, key=lambda m: m.name)), _unique(sentinels))


def _unique(sentinels: list[SentinelNode]) -> tuple[SentinelNode, ...]:
    """One node per Sentinel: by run id (first spelling of its address wins), else address."""
    seen_ids: set[str] = set()
    seen_addresses: set[str] = set()
    kept = []
    for node in sentinels:
        if (node.run_id and node.run_id in seen_ids) or node.address in seen_addresses:
            continue
        if node.run_id:
            seen_ids.add(node.run_id)
        seen_addresses.add(node.address)
        kept.append(node)
    return tuple(kept)


async def read_sentinel_view(
    conn: Any, address: tuple[str, int], masters: tuple[str, ...] = ()
) -> SentinelTopology:
    """What the Sentinel behind `conn` (reached at `address`) knows of `masters` (of every
    master it watches when empty). Raises `SentinelError` on an unusable answer."""
    info_server, masters_reply = await conn.pipeline([("INFO", "server"), ("SENTINEL", "MASTERS")])
    if isinstance(masters_reply, ReplyError):
        raise SentinelError(f"SENTINEL MASTERS: {masters_reply}")
    try:
        names = [row.get("name", "") for row in parse_sentinel_table(masters_reply, "MASTERS")]
    except ValueError as exc:
        raise SentinelError(str(exc)) from None
    wanted = [name for name in names if not masters or name in masters]
    commands: list[tuple[Any, ...]] = []
    for name in wanted:
        commands += [("SENTINEL", "REPLICAS", name), ("SENTINEL", "SENTINELS", name)]
    replies = await conn.pipeline(commands) if commands else []
    per_master = {name: (replies[2 * i], replies[2 * i + 1]) for i, name in enumerate(wanted)}
    try:
        return view_from_replies(address, info_server, masters_reply, per_master)
    except ValueError as exc:  # ReplyFormatError or SentinelError
        raise SentinelError(str(exc)) from None


async def read_sentinel_set(
    seed: Target,
    known: SentinelTopology | None,
    connect: Callable[[Target], Awaitable[Any]],
) -> SentinelTopology | None:
    """Ask every Sentinel of the seed's set at once (the seed's and those `known` since) and
    merge their answers; None when none answers."""
    candidates = [
        t for t in sentinel_targets(seed, known) if dict(t.labels).get("role") == "sentinel"
    ]
    views = await asyncio.gather(*(_read_one(seed, t, connect) for t in candidates))
    answered = [view for view in views if view is not None]
    return merge_views(answered) if answered else None


async def _read_one(
    seed: Target, target: Target, connect: Callable[[Target], Awaitable[Any]]
) -> SentinelTopology | None:
    assert seed.sentinel is not None and target.host is not None and target.port is not None
    try:
        conn = await connect(target)
    except Exception as exc:
        log.debug("discovery: Sentinel %s unreachable: %s", target.url, exc)
        return None
    try:
        # bounded: a hung Sentinel accepts the connection and then never answers
        async with asyncio.timeout(target.timeout_s):
            return await read_sentinel_view(conn, (target.host, target.port), seed.sentinel.masters)
    except TimeoutError:
        log.debug("discovery: Sentinel %s did not answer in time", target.url)
        return None
    except Exception as exc:
        log.warning("discovery: Sentinel %s: cannot read its view: %s", target.url, exc)
        return None
    finally:
        await conn.close()


def merge_views(views: list[SentinelTopology]) -> SentinelTopology:
    """Each master as the Sentinel with the highest config epoch sees it (the first such
    view on a tie); every Sentinel any of them knows, once."""
    best: dict[str, SentinelMaster] = {}
    for view in views:
        for master in view.masters:
            known = best.get(master.name)
            if known is None or master.config_epoch > known.config_epoch:
                best[master.name] = master
    sentinels = [node for view in views for node in view.sentinels[:1]]  # who answered
    sentinels += [node for view in views for node in view.sentinels[1:]]  # their peers
    return SentinelTopology(tuple(best[name] for name in sorted(best)), _unique(sentinels))


def sentinel_targets(seed: Target, topology: SentinelTopology | None) -> list[Target]:
    """One target per Sentinel (those named by the seed always) and per data node."""
    assert seed.sentinel is not None
    name = set_name(seed)
    base = replace(seed, unix_path=None, discover=False, name="", sentinel=None)
    sentinels = [(host, port) for host, port in seed.sentinel.addresses]
    masters: tuple[SentinelMaster, ...] = ()
    if topology is not None:
        known = {host_port(host, port) for host, port in sentinels}
        sentinels += [(n.host, n.port) for n in topology.sentinels if n.address not in known]
        masters = topology.masters
    targets = [
        replace(base, host=host, port=port).with_labels(sentinel_set=name, role="sentinel")
        for host, port in sentinels
    ]
    data = replace(base, username=seed.sentinel.data_username, password=seed.sentinel.data_password)
    for master in masters:
        for node in master.nodes:
            targets.append(
                replace(data, host=node.host, port=node.port).with_labels(
                    sentinel_set=name, sentinel_master=master.name, role=node.role
                )
            )
    return targets


def sentinel_data_targets(seed: Target, topology: SentinelTopology) -> list[Target]:
    """The primaries and replicas only (what holds keys)."""
    return [t for t in sentinel_targets(seed, topology) if dict(t.labels).get("role") != "sentinel"]


def sentinel_events(
    name: str, old: SentinelTopology, new: SentinelTopology, ts_ms: int
) -> list[Event]:
    """The changes from `old` to `new` as `topology.*` events, failovers first."""
    events = []

    def event(kind: str, address: str, before: str, after: str, master: str) -> Event:
        data: dict[str, object] = {"before": before, "after": after, "sentinel_set": name}
        if master:
            data["sentinel_master"] = master
        return Event(ts_ms, f"topology.{kind}", (("instance", address),), data)

    for master in new.masters:
        previous = old.master(master.name)
        if previous is not None and previous.primary.address != master.primary.address:
            address = master.primary.address
            events.append(
                event("failover", address, previous.primary.address, address, master.name)
            )
    before, after = old.nodes(), new.nodes()
    for address in sorted(after.keys() - before.keys()):
        node = after[address]
        events.append(event("node_added", address, "", node.role, node.master))
    for address in sorted(before.keys() - after.keys()):
        node = before[address]
        events.append(event("node_removed", address, node.role, "", node.master))
    for address in sorted(before.keys() & after.keys()):
        was, now = before[address], after[address]
        if was.role != now.role:
            events.append(event("role_changed", address, was.role, now.role, now.master))
    return events
