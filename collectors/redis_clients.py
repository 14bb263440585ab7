"""`CLIENT LIST`, summarised (slow tier): who is connected, never the raw list.

A server's client list says which applications hold its connections, which of them sit idle
(a leaking pool), which are blocked or subscribed, and whose output buffer grows (a slow
consumer about to be cut off, or eating the memory the data needs). The raw list holds every
client's address and name, so only a summary leaves this module, with bounded series:

- `cachewatch_clients_by_name{client_name}`, `cachewatch_clients_by_address{address}` (the
  source IP, no port), `cachewatch_clients_by_user{user}`: the `clients_top` (10) largest
  groups, the rest summed as `other`; no name or address outside the top ever appears;
- `cachewatch_clients_idle_by_name{client_name}`: clients idle for `clients_idle_after`
  (5 m) or longer, by name, top N + `other` the same way;
- `cachewatch_clients_listed`, `cachewatch_clients_idle`, `cachewatch_clients_blocked`,
  `cachewatch_clients_pubsub`: counts;
- `cachewatch_clients_output_buffer_bytes{class}` (the sum of `omem`) and
  `cachewatch_clients_output_buffer_max_bytes{class}` (the largest), per
  client-output-buffer-limit class: `normal`, `replica`, `pubsub`.

A client without a name is grouped as `(unnamed)`. cachewatch's own connections are
clients like any other (named `cachewatch`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from collectors.base import CollectContext, Tier, Unsupported
from collectors.redis_reply import check_reply, text
from monitor.durations import parse_duration
from monitor.model import MetricType, SampleBatch
from monitor.targets import TargetKind

__all__ = ["ClientsCollector", "ClientSummary", "parse_client_list", "summarise", "OTHER"]

G = MetricType.GAUGE
OTHER = "other"
UNNAMED = "(unnamed)"
CLASSES = ("normal", "replica", "pubsub")
DEFAULT_TOP = 10
DEFAULT_IDLE_AFTER_S = 300.0


def parse_client_list(reply: str) -> list[dict[str, str]]:
    """One dict of `field=value` per line; a line without `=` pairs is skipped."""
    clients = []
    for line in reply.splitlines():
        fields = dict(part.partition("=")[::2] for part in line.split(" ") if "=" in part)
        if fields:
            clients.append(fields)
    return clients


def _number(fields: Mapping[str, str], name: str) -> float:
    try:
        return float(fields.get(name, "0"))
    except ValueError:
        return 0.0


def _address(addr: str) -> str:
    """`127.0.0.1:50236` → `127.0.0.1`; `[::1]:6379`-style and unix sockets kept readable."""
    if addr.startswith("/") or ":" not in addr:
        return addr or "unix"
    host = addr.rpartition(":")[0]
    return host.strip("[]")


def _class(flags: str, fields: Mapping[str, str]) -> str:
    if "S" in flags or "M" in flags:
        return "replica"
    if "P" in flags or _number(fields, "sub") or _number(fields, "psub") or _number(fields, "ssub"):
        return "pubsub"
    return "normal"


@dataclass(slots=True)
class ClientSummary:
    listed: int = 0
    idle: int = 0
    blocked: int = 0
    pubsub: int = 0
    by_name: Counter[str] = field(default_factory=Counter)
    by_address: Counter[str] = field(default_factory=Counter)
    by_user: Counter[str] = field(default_factory=Counter)
    idle_by_name: Counter[str] = field(default_factory=Counter)
    buffer_bytes: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0.0))
    buffer_max_bytes: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0.0))


def summarise(clients: Iterable[Mapping[str, str]], idle_after_s: float) -> ClientSummary:
    summary = ClientSummary()
    for fields in clients:
        summary.listed += 1
        name = fields.get("name") or UNNAMED
        flags = fields.get("flags", "")
        summary.by_name[name] += 1
        summary.by_address[_address(fields.get("addr", ""))] += 1
        summary.by_user[fields.get("user") or "default"] += 1
        if _number(fields, "idle") >= idle_after_s:
            summary.idle += 1
            summary.idle_by_name[name] += 1
        if "b" in flags:
            summary.blocked += 1
        klass = _class(flags, fields)
        if klass == "pubsub":
            summary.pubsub += 1
        omem = _number(fields, "omem")
        summary.buffer_bytes[klass] += omem
        summary.buffer_max_bytes[klass] = max(summary.buffer_max_bytes[klass], omem)
    return summary


def top_with_other(counts: Counter[str], top: int) -> list[tuple[str, int]]:
    """The `top` largest groups (ties by name, for stable series), then the rest summed as
    `other` (a client literally named "other" is summed there too)."""
    ranked = sorted(
        ((name, count) for name, count in counts.items() if name != OTHER),
        key=lambda item: (-item[1], item[0]),
    )
    rest = sum(count for _, count in ranked[top:]) + counts.get(OTHER, 0)
    return ranked[:top] + ([(OTHER, rest)] if rest else [])


def add_samples(summary: ClientSummary, out: SampleBatch, top: int) -> None:
    groups = (
        ("cachewatch_clients_by_name", "client_name", summary.by_name),
        ("cachewatch_clients_by_address", "address", summary.by_address),
        ("cachewatch_clients_by_user", "user", summary.by_user),
        ("cachewatch_clients_idle_by_name", "client_name", summary.idle_by_name),
    )
    for metric, label, counts in groups:
        for value, count in top_with_other(counts, top):
            out.add(metric, float(count), ((label, value),))
    out.add("cachewatch_clients_listed", float(summary.listed))
    out.add("cachewatch_clients_idle", float(summary.idle))
    out.add("cachewatch_clients_blocked", float(summary.blocked))
    out.add("cachewatch_clients_pubsub", float(summary.pubsub))
    for klass in CLASSES:
        labels = (("class", klass),)
        out.add("cachewatch_clients_output_buffer_bytes", summary.buffer_bytes[klass], labels)
        out.add(
            "cachewatch_clients_output_buffer_max_bytes", summary.buffer_max_bytes[klass], labels
        )


class ClientsCollector:
    """The connected clients, summarised from `CLIENT LIST` once a slow interval."""

    name: ClassVar[str] = "redis_clients"
    kinds: ClassVar[frozenset[TargetKind]] = frozenset({TargetKind.REDIS})
    tier: ClassVar[Tier] = Tier.SLOW
    options: ClassVar[frozenset[str]] = frozenset({"clients_top", "clients_idle_after"})
    metrics: ClassVar[dict[str, tuple[MetricType, str]]] = {
        "cachewatch_clients_by_name": (G, "Connected clients by client name (top N + other)"),
        "cachewatch_clients_by_address": (
            G,
            "Connected clients by source address (top N + other)",
        ),
        "cachewatch_clients_by_user": (G, "Connected clients by ACL user (top N + other)"),
        "cachewatch_clients_idle_by_name": (
            G,
            "Clients idle for clients_idle_after or longer, by client name (top N + other)",
        ),
        "cachewatch_clients_listed": (G, "Clients in CLIENT LIST"),
        "cachewatch_clients_idle": (G, "Clients idle for clients_idle_after (5m) or longer"),
        "cachewatch_clients_blocked": (G, "Clients blocked in a blocking command"),
        "cachewatch_clients_pubsub": (G, "Clients subscribed to channels or patterns"),
        "cachewatch_clients_output_buffer_bytes": (
            G,
            "Output buffer memory of all clients of a client-output-buffer-limit class",
        ),
        "cachewatch_clients_output_buffer_max_bytes": (
            G,
            "The largest output buffer of one client of a client-output-buffer-limit class",
        ),
    }

    async def collect(self, conn: Any, ctx: CollectContext, out: SampleBatch) -> None:
        if ctx.capabilities.sentinel:
            return  # a Sentinel's clients are its peers and watchers: nothing to diagnose
        if not ctx.capabilities.allows("client list"):
            raise Unsupported("CLIENT LIST: command missing or refused")
        try:
            top, idle_after_s = options(ctx.options)
        except ValueError as exc:  # a bad [collectors] option: say so once, poll the rest
            raise Unsupported(f"[collectors] {exc}") from None
        (reply,) = await conn.pipeline([("CLIENT", "LIST")])
        check_reply(reply, ctx, "CLIENT LIST")
        clients = parse_client_list(text(reply, "CLIENT LIST"))
        add_samples(summarise(clients, idle_after_s), out, top)


def options(table: Mapping[str, Any]) -> tuple[int, float]:
    """`clients_top` and `clients_idle_after` (a duration) from `[collectors]`."""
    top = int(table.get("clients_top", DEFAULT_TOP))
    idle = table.get("clients_idle_after")
    idle_after_s = DEFAULT_IDLE_AFTER_S if idle is None else parse_duration(str(idle))
    if top < 1:
        raise ValueError(f"clients_top: {top} must be at least 1")
    return top, idle_after_s
