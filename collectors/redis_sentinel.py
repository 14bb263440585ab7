"""A Redis Sentinel's own view → `redis_sentinel_*`, named, labelled and typed as
redis_exporter exports them.

Two sources, as redis_exporter reads them:

- INFO's `# Sentinel` section: the plain fields are in `redis_info_names.py`; each
  `masterN:name=…,status=…,address=…,slaves=…,sentinels=…` line becomes
  `redis_sentinel_master_status` / `_slaves` / `_sentinels` here (`parse_master_line`, called
  by the INFO parser).
- `SENTINEL MASTERS`, then per master `SENTINEL SENTINELS`, `SENTINEL REPLICAS` and
  `SENTINEL CKQUORUM` (all read-only): how many peers and replicas this Sentinel sees as
  healthy, whether quorum is reachable, the master's settings and epoch
  (`SentinelCollector`). `cachewatch_redis_sentinel_master_failover_in_progress` is ours: the
  exporter does not export the master's flags.

The collector runs only where the connection's probe found a Sentinel (`redis_mode:sentinel`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from collectors.base import CollectContext, Tier
from collectors.redis_conn import ReplyError
from collectors.redis_reply import ReplyFormatError, check_reply, run_command
from monitor.model import Labels, MetricType, SampleBatch
from monitor.targets import TargetKind

__all__ = [
    "SentinelCollector",
    "SENTINEL_INFO_METRICS",
    "parse_master_line",
    "parse_sentinel_table",
    "down_flags",
    "add_sentinel_samples",
]

G = MetricType.GAUGE
_MASTER_LINE = re.compile(r"master\d+\Z")
#: flags that make a Sentinel peer, replica or master not OK in this Sentinel's view
_DOWN_FLAGS = frozenset({"s_down", "o_down"})

SENTINEL_INFO_METRICS: dict[str, tuple[MetricType, str]] = {
    "redis_sentinel_master_status": (G, "Master status on Sentinel"),
    "redis_sentinel_master_slaves": (G, "The number of slaves of the master"),
    "redis_sentinel_master_sentinels": (G, "The number of sentinels monitoring this master"),
}

#: SENTINEL MASTERS field -> (metric, scale), as newer redis_exporter releases export them
_MASTER_SETTINGS = (
    ("quorum", "redis_sentinel_master_setting_ckquorum", 1.0),
    ("failover-timeout", "redis_sentinel_master_setting_failover_timeout", 1.0),
    ("parallel-syncs", "redis_sentinel_master_setting_parallel_syncs", 1.0),
    ("down-after-milliseconds", "redis_sentinel_master_setting_down_after_milliseconds", 1.0),
    ("config-epoch", "redis_sentinel_master_config_epoch", 1.0),
    ("last-ok-ping-reply", "redis_sentinel_master_last_ok_ping_reply_seconds", 1e-3),
)


def parse_master_line(key: str, value: str, add: Callable[[str, float, Labels], None]) -> bool:
    """One INFO `masterN:` line of a Sentinel; False if `key` is not such a line."""
    if not key.startswith("master") or not _MASTER_LINE.match(key):
        return False
    fields: dict[str, str] = {}
    for part in value.split(","):
        name, sep, text = part.partition("=")
        if sep:
            fields[name] = text
    try:
        slaves, sentinels = float(fields["slaves"]), float(fields["sentinels"])
        name, status, address = fields["name"], fields["status"], fields["address"]
    except (KeyError, ValueError):
        return True  # a garbled line is skipped on its own, as every INFO line is
    master = (("master_address", address), ("master_name", name))
    add(
        "redis_sentinel_master_status",
        1.0 if status == "ok" else 0.0,
        (*master, ("master_status", status)),
    )
    add("redis_sentinel_master_slaves", slaves, master)
    add("redis_sentinel_master_sentinels", sentinels, master)
    return True


def _text(value: Any, what: str) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, int):
        return str(value)
    raise ReplyFormatError(f"{what}: expected a string, got {type(value).__name__}")


def parse_sentinel_table(reply: Any, what: str) -> list[dict[str, str]]:
    """A `SENTINEL MASTERS` / `REPLICAS` / `SENTINELS` reply: one field map per entry
    (RESP2 flat key/value lists, or RESP3 maps)."""
    if not isinstance(reply, list):
        raise ReplyFormatError(f"{what}: expected an array, got {type(reply).__name__}")
    rows = []
    for entry in reply:
        if isinstance(entry, dict):
            pairs = list(entry.items())
        elif isinstance(entry, list) and len(entry) % 2 == 0:
            pairs = list(zip(entry[::2], entry[1::2], strict=True))
        else:
            raise ReplyFormatError(f"{what}: expected flat key/value lists")
        rows.append({_text(k, what): _text(v, what) for k, v in pairs})
    return rows


def down_flags(row: dict[str, str]) -> bool:
    """Whether this Sentinel sees the peer, replica or master as down (s_down or o_down)."""
    return not _DOWN_FLAGS.isdisjoint(row.get("flags", "").split(","))


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def add_sentinel_samples(
    master: dict[str, str], peers: Any, replicas: Any, ckquorum: Any, out: SampleBatch
) -> None:
    """The samples of one master from `SENTINEL MASTERS`' row for it and the replies to
    `SENTINEL SENTINELS`, `REPLICAS` and `CKQUORUM` for it."""
    name = master.get("name", "")
    address = f"{master.get('ip', '')}:{master.get('port', '')}"
    labels = (("master_address", address), ("master_name", name))
    if isinstance(ckquorum, ReplyError):  # NOQUORUM comes back as an error reply
        ok, message = 0.0, str(ckquorum)
    else:
        ok, message = 1.0, _text(ckquorum, "SENTINEL CKQUORUM")
    out.add(
        "redis_sentinel_master_ckquorum_status", ok, (("master_name", name), ("message", message))
    )
    for field, metric, scale in _MASTER_SETTINGS:
        number = _number(master.get(field))
        if number is not None:
            out.add(metric, number * scale, labels)
    # the Sentinel counts itself, as redis_exporter does
    healthy_peers = [
        p for p in parse_sentinel_table(peers, "SENTINEL SENTINELS") if not down_flags(p)
    ]
    out.add("redis_sentinel_master_ok_sentinels", 1.0 + len(healthy_peers), labels)
    healthy = [r for r in parse_sentinel_table(replicas, "SENTINEL REPLICAS") if not down_flags(r)]
    out.add("redis_sentinel_master_ok_slaves", float(len(healthy)), labels)
    in_failover = "failover_in_progress" in master.get("flags", "").split(",")
    out.add("cachewatch_redis_sentinel_master_failover_in_progress", float(in_failover), labels)


class SentinelCollector:
    """What a Sentinel knows of each master it watches: peers, replicas, quorum, settings."""

    name: ClassVar[str] = "redis_sentinel"
    kinds: ClassVar[frozenset[TargetKind]] = frozenset({TargetKind.REDIS})
    tier: ClassVar[Tier] = Tier.FAST
    metrics: ClassVar[dict[str, tuple[MetricType, str]]] = {
        "redis_sentinel_master_ckquorum_status": (G, "Master ckquorum status"),
        "redis_sentinel_master_ok_sentinels": (
            G,
            "The number of okay sentinels monitoring this master",
        ),
        "redis_sentinel_master_ok_slaves": (G, "The number of okay slaves of the master"),
        "redis_sentinel_master_setting_ckquorum": (
            G,
            "Show the current ckquorum config for each master",
        ),
        "redis_sentinel_master_setting_failover_timeout": (
            G,
            "Show the current failover-timeout config for each master",
        ),
        "redis_sentinel_master_setting_parallel_syncs": (
            G,
            "Show the current parallel-syncs config for each master",
        ),
        "redis_sentinel_master_setting_down_after_milliseconds": (
            G,
            "Show the current down-after-milliseconds config for each master",
        ),
        "redis_sentinel_master_config_epoch": (G, "The config epoch of the master"),
        "redis_sentinel_master_last_ok_ping_reply_seconds": (
            G,
            "Seconds since the master last answered this Sentinel's PING",
        ),
        "cachewatch_redis_sentinel_master_failover_in_progress": (
            G,
            "1 while this Sentinel runs or follows a failover of the master",
        ),
    }

    def prefetch(self, ctx: CollectContext) -> list[tuple[Any, ...]]:
        return [("SENTINEL", "MASTERS")] if ctx.capabilities.sentinel else []

    async def collect(self, conn: Any, ctx: CollectContext, out: SampleBatch) -> None:
        caps = ctx.capabilities
        if not caps.sentinel:
            return  # a data node: nothing to report, and nothing wrong
        masters = parse_sentinel_table(
            await run_command(conn, ctx, "SENTINEL", "MASTERS"), "SENTINEL MASTERS"
        )
        if not masters:
            return
        # SENTINEL REPLICAS is the 5.0 name of SLAVES
        replicas = "REPLICAS" if not caps.version or caps.at_least(5) else "SLAVES"
        commands: list[tuple[Any, ...]] = []
        for master in masters:
            name = master.get("name", "")
            commands += [
                ("SENTINEL", "SENTINELS", name),
                ("SENTINEL", replicas, name),
                ("SENTINEL", "CKQUORUM", name),
            ]
        replies = await conn.pipeline(commands)
        for index, master in enumerate(masters):
            peers, replica_rows, ckquorum = replies[3 * index : 3 * index + 3]
            check_reply(peers, ctx, "SENTINEL SENTINELS")
            check_reply(replica_rows, ctx, f"SENTINEL {replicas}")
            if isinstance(ckquorum, ReplyError) and not str(ckquorum).startswith("NOQUORUM"):
                check_reply(ckquorum, ctx, "SENTINEL CKQUORUM")
            add_sentinel_samples(master, peers, replica_rows, ckquorum, out)
