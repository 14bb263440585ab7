"""INFO ALL → samples, in one pass over the lines.

Why `INFO ALL` and not `INFO EVERYTHING`: EVERYTHING adds module-generated sections whose
fields have no stable meaning or type; ALL is what redis_exporter reads, so the two agree.

Parsing policy: INFO is line-oriented text, so a garbled line is skipped on its own and the
rest of the reply still counts; only a reply that is not a bulk string raises
`ReplyFormatError`. Plain `field:value` lines go through the precompiled table in
`redis_info_names.py`; numeric fields neither table knows become `cachewatch_redis_<field>`
gauges (described in the batch), so newer servers' fields are not lost. A Sentinel's
per-master lines go to `redis_sentinel.parse_master_line`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from collectors.base import CollectContext, Tier
from collectors.linememo import LineMemo
from collectors.redis_info_names import (
    FIELD_PLANS,
    IGNORED_FIELDS,
    generic_metric_name,
    plain_catalog,
)
from collectors.redis_reply import ReplyFormatError, run_command
from collectors.redis_sentinel import SENTINEL_INFO_METRICS, parse_master_line
from monitor.model import Labels, MetricType, SampleBatch
from monitor.targets import TargetKind

__all__ = [
    "COMMANDSTATS_SCRATCH",
    "InfoCollector",
    "InfoMemo",
    "InfoSummary",
    "Replica",
    "parse_info",
    "parse_commandstats",
]

G = MetricType.GAUGE
C = MetricType.COUNTER

_STRUCTURED_CATALOG: dict[str, tuple[MetricType, str]] = {
    "redis_commands_total": (C, "Total number of calls per command"),
    "redis_commands_duration_seconds_total": (C, "Total time spent per command"),
    "redis_commands_rejected_calls_total": (C, "Rejected calls per command"),
    "redis_commands_failed_calls_total": (C, "Failed calls per command"),
    "redis_errors_total": (C, "Error replies per error prefix"),
    "redis_latency_percentiles_usec": (G, "Latency percentiles per command (latencystats)"),
    "redis_latency_percentiles_usec_sum": (C, "Total usec per command (latencystats summary)"),
    "redis_latency_percentiles_usec_count": (C, "Calls per command (latencystats summary)"),
    "redis_db_keys": (G, "Total number of keys by DB"),
    "redis_db_keys_expiring": (G, "Total number of expiring keys by DB"),
    "redis_db_avg_ttl_seconds": (G, "Avg TTL in seconds"),
    "redis_db_keys_cached": (G, "Cached keys by DB"),
    "redis_db_keys_with_expiring_items": (G, "Keys with expiring sub-items by DB"),
    "redis_connected_slave_offset_bytes": (G, "Offset of connected slave"),
    "redis_connected_slave_lag_seconds": (G, "Lag of connected slave"),
    "redis_master_link_up": (G, "Master link status on Redis slave"),
    "redis_master_last_io_seconds_ago": (G, "Master last io seconds ago"),
    "redis_master_sync_in_progress": (G, "Master sync in progress"),
    "redis_slave_repl_offset": (G, "Slave replication offset"),
    "redis_slave_info": (MetricType.INFO, "Information about the Redis slave"),
    "redis_instance_info": (MetricType.INFO, "Information about the Redis instance"),
    "redis_start_time_seconds": (G, "Start time of the Redis instance since unix epoch"),
}

#: `CollectContext.scratch` key of this poll's commandstats (cmd -> (calls, usec))
COMMANDSTATS_SCRATCH = "redis_info.commandstats"
_STATUS_VALUES = {"ok": 1.0, "true": 1.0, "up": 1.0, "err": 0.0, "fail": 0.0, "false": 0.0}
_NUMERIC_START = frozenset("-+.0123456789")
_REPLICA_FIELD = re.compile(r"slave\d+\Z")
_MASTER_DIRECT = {
    "master_last_io_seconds_ago": "redis_master_last_io_seconds_ago",
    "master_sync_in_progress": "redis_master_sync_in_progress",
    "slave_repl_offset": "redis_slave_repl_offset",
}
#: INFO fields that label `redis_instance_info` (as redis_exporter) or feed the probe
_IDENTITY_FIELDS = frozenset(
    {
        "role",
        "redis_version",
        "redis_build_id",
        "redis_mode",
        "server_mode",
        "os",
        "maxmemory_policy",
        "tcp_port",
        "run_id",
        "process_id",
        "master_replid",
        "valkey_version",
        "valkey_release_stage",
        "availability_zone",
        "server_name",
        "slave_read_only",
        "uptime_in_seconds",
        "server_time_usec",
        "cluster_enabled",
    }
)
_INSTANCE_LABELS = (
    "role",
    "redis_version",
    "redis_build_id",
    "redis_mode",
    "os",
    "maxmemory_policy",
    "tcp_port",
    "run_id",
    "process_id",
    "master_replid",
)
_OPTIONAL_INSTANCE_LABELS = ("valkey_version", "valkey_release_stage", "availability_zone")
_KEYSPACE_FIELDS = (
    (("keys",), "redis_db_keys", 1.0),
    (("expires",), "redis_db_keys_expiring", 1.0),
    (("avg_ttl",), "redis_db_avg_ttl_seconds", 1e-3),
    (("cached_keys",), "redis_db_keys_cached", 1.0),
    (("subexpiry", "keys_with_volatile_items"), "redis_db_keys_with_expiring_items", 1.0),
)
#: unknown fields whose value was not a number: skipped without parsing again (bounded, so
#: garbled replies cannot grow it without limit)
_TEXT_FIELDS: set[str] = set()
#: sections whose lines carry labels (and cost the most to parse): memoised per line
_LABELLED_SECTIONS = frozenset({"commandstats", "latencystats", "errorstats", "keyspace"})
_TEXT_FIELDS_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Replica:
    ip: str
    port: str
    state: str
    offset: float
    lag: float | None


@dataclass(slots=True)
class InfoSummary:
    """What INFO said beyond samples: identity, role and the replication tree."""

    identity: dict[str, str] = field(default_factory=dict)
    replicas: list[Replica] = field(default_factory=list)
    master_host: str = ""
    master_port: str = ""
    #: INFO commandstats: cmd -> (calls, usec)
    commandstats: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def role(self) -> str:
        return self.identity.get("role", "")

    @property
    def server(self) -> str:
        return "valkey" if self.identity.get("server_name") == "valkey" else "redis"

    @property
    def version(self) -> str:
        return self.identity.get("valkey_version") or self.identity.get("redis_version", "")


def _kv_pairs(value: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in value.split(","):
        key, sep, val = part.partition("=")
        if sep:
            pairs[key] = val
    return pairs


def _number(value: str) -> float | None:
    if not value or value[0] not in _NUMERIC_START:
        return _STATUS_VALUES.get(value)
    try:
        return float(value)
    except ValueError:
        return None


def parse_commandstats(text: str) -> dict[str, tuple[float, float]]:
    """`cmdstat_<cmd>:calls=..,usec=..` lines → cmd → (calls, usec); other lines ignored."""
    stats: dict[str, tuple[float, float]] = {}
    for line in text.splitlines():
        if not line.startswith("cmdstat_"):
            continue
        name, _, value = line.partition(":")
        pairs = _kv_pairs(value)
        calls = _number(pairs.get("calls", ""))
        usec = _number(pairs.get("usec", ""))
        if calls is not None and usec is not None:
            stats[name[8:]] = (calls, usec)
    return stats


class InfoMemo:
    """One target's memory of its last INFO replies, so unchanged lines are not parsed again.

    Whole sections first: a section whose text equals its text in the last reply (on a
    quiet server most of them: Clients, Memory, Persistence, Keyspace...) replays what it
    produced, samples and what it told the summary, without looking at its lines.

    Plain `field:value` lines: on a server polled every second most of them repeat byte for
    byte (configuration, persistence, most of Stats), so a line seen before maps straight to
    its (metric, value), or to "skip"; parsing one costs a partition, three set lookups and
    a float(), a memo hit one dict lookup. Kept per section (a line means the same thing
    only within its section) and cleared when it outgrows `PLAIN_LIMIT` lines (changing
    counters add a line a poll), so it stays the size of a few replies whatever the server
    sends. Labelled lines (commandstats, latencystats, errorstats, keyspace) produce several
    samples each and go through a `LineMemo`.
    """

    __slots__ = ("blocks", "labelled", "plain", "texts")

    PLAIN_LIMIT: ClassVar[int] = 2048

    def __init__(self) -> None:
        self.labelled = LineMemo()
        self.plain: dict[str, dict[str, tuple[str, float] | None]] = {}
        #: the last text of each section in `_BLOCK_SECTIONS`
        self.texts: dict[str, str] = {}
        #: what a section produced, once its text was the same in two replies in a row (a
        #: section that changes every second, like Stats, is never copied for nothing)
        self.blocks: dict[str, _Block] = {}

    def section(self, name: str) -> dict[str, tuple[str, float] | None]:
        lines = self.plain.get(name)
        if lines is None or len(lines) > self.PLAIN_LIMIT:
            lines = self.plain[name] = {}
        return lines


@dataclass(frozen=True, slots=True)
class _Block:
    """One section's text and everything parsing it did."""

    text: str
    names: list[str]
    labels: list[Labels]
    values: list[float]
    identity: dict[str, str]
    commandstats: dict[str, tuple[float, float]]
    described: list[tuple[str, MetricType, str]]


#: sections replayed whole when unchanged: what they produce is samples, identity fields
#: and (commandstats) per-command totals, all captured in a `_Block`. Not Server (it
#: changes every second), Replication (replicas, the master's address), Sentinel, or
#: Latencystats (its samples carry the commandstats totals)
_BLOCK_SECTIONS = frozenset(
    {
        "clients",
        "memory",
        "persistence",
        "stats",
        "cpu",
        "modules",
        "commandstats",
        "errorstats",
        "cluster",
        "keyspace",
    }
)

#: sections whose lines may not be memoised as plain lines (they hold labelled or
#: structured lines that do more than produce one sample)
_NO_PLAIN_MEMO = _LABELLED_SECTIONS | {"replication", "sentinel"}
_NO_MEMO: dict[str, tuple[str, float] | None] = {}
#: what a plain-line memo lookup returns for a line it does not hold
_MISS = ("", 0.0)


def parse_info(data: Any, out: SampleBatch, memo: InfoMemo | None = None) -> InfoSummary:
    """Add the samples of an `INFO ALL` reply to `out`; return identity and replicas.

    With `memo` (one per target), lines equal to an earlier reply's are not parsed again
    (see `InfoMemo`): the samples are the same, in the same order."""
    if not isinstance(data, bytes | str):
        raise ReplyFormatError(f"INFO: expected a bulk string, got {type(data).__name__}")
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    summary = InfoSummary()
    identity = summary.identity
    names = out.names
    labels_list = out.labels
    values = out.values
    plans = FIELD_PLANS
    cmd_totals = summary.commandstats
    labelled = memo.labelled if memo is not None else None
    #: latencystats lines whose command had no commandstats line before them
    deferred: list[tuple[str, str, float]] = []
    section = ""
    seen = _NO_MEMO

    def add(name: str, value: float, labels: Labels = ()) -> None:
        names.append(name)
        labels_list.append(labels)
        values.append(value)

    for block in _blocks(text):
        record = False
        if memo is not None:
            name = _section_name(block)
            if name in _BLOCK_SECTIONS:
                assert name is not None
                cached = memo.blocks.get(name)
                if cached is not None and cached.text == block:
                    names.extend(cached.names)
                    labels_list.extend(cached.labels)
                    values.extend(cached.values)
                    identity.update(cached.identity)
                    cmd_totals.update(cached.commandstats)
                    for described in cached.described:
                        out.describe(*described)
                    continue
                record = memo.texts.get(name) == block
                memo.texts[name] = block
                if record:
                    start = len(names)
                    identity_before = set(identity)
                    described_before = set(out.metadata)
        for line in block.splitlines():
            # a memo hit: (metric, value), or None for a line that yields nothing
            hit = seen.get(line, _MISS)
            if hit is not _MISS:
                if hit is not None:
                    names.append(hit[0])
                    labels_list.append(())
                    values.append(hit[1])
                continue
            if not line:
                continue
            if line[0] == "#":
                section = line[1:].strip().lower()
                seen = (
                    _NO_MEMO if memo is None or section in _NO_PLAIN_MEMO else memo.section(section)
                )
                continue
            key, sep, value = line.partition(":")
            if not sep:
                continue
            if key in _IDENTITY_FIELDS:
                identity[key] = value
            if section in _LABELLED_SECTIONS:
                _labelled_line(section, line, key, value, out, add, labelled, cmd_totals, deferred)
                continue
            if section == "replication" and _replication_line(key, value, summary, add):
                continue
            if section == "sentinel" and parse_master_line(key, value, add):
                continue
            # identity lines are read on every reply, so they are never memoised
            remember = seen is not _NO_MEMO and key not in _IDENTITY_FIELDS
            plan = plans.get(key)
            if plan is not None:
                # the hot path (most lines): appends inlined, float() tried first
                try:
                    number = float(value)
                except ValueError:
                    status = _STATUS_VALUES.get(value)
                    if status is None:
                        if remember:
                            seen[line] = None
                        continue
                    number = status
                if plan.scale != 1:
                    number *= plan.scale
                names.append(plan.metric)
                labels_list.append(())
                values.append(number)
                if remember:
                    seen[line] = (plan.metric, number)
                continue
            if key in IGNORED_FIELDS or key in _TEXT_FIELDS or key in identity:
                if remember:
                    seen[line] = None
                continue
            unknown = _number(value) if value[:1] in _NUMERIC_START else None
            if unknown is None:
                if len(_TEXT_FIELDS) < _TEXT_FIELDS_LIMIT:
                    _TEXT_FIELDS.add(key)
                continue
            # not memoised: the batch must describe the generic metric on every reply
            generic = generic_metric_name(key)
            out.describe(generic, G, f"INFO field {key} (no redis_exporter equivalent)")
            add(generic, unknown)
        if record:
            assert memo is not None and name is not None
            memo.blocks[name] = _Block(
                block,
                names[start:],
                labels_list[start:],
                values[start:],
                {k: v for k, v in identity.items() if k not in identity_before},
                dict(cmd_totals) if name == "commandstats" else {},
                [(k, *out.metadata[k]) for k in out.metadata if k not in described_before],
            )

    _add_percentiles(deferred, cmd_totals, add)
    _add_identity(summary, add, out.ts_ms)
    if labelled is not None:
        labelled.roll()
    return summary


def _blocks(text: str) -> list[str]:
    """The reply cut before every `#` header line (the first piece may have no header)."""
    out = []
    start = 0
    while True:
        at = text.find("\n#", start)
        if at < 0:
            out.append(text[start:])
            return out
        out.append(text[start : at + 1])
        start = at + 1


def _section_name(block: str) -> str | None:
    if not block.startswith("#"):
        return None
    end = block.find("\n")
    return block[1 : end if end >= 0 else len(block)].strip().lower()


def _labelled_line(
    section: str,
    line: str,
    key: str,
    value: str,
    out: SampleBatch,
    add: Any,
    memo: LineMemo | None,
    cmd_totals: dict[str, tuple[float, float]],
    deferred: list[tuple[str, str, float]],
) -> None:
    """One line of commandstats, latencystats, errorstats or keyspace."""
    memo_key: Any = None
    if memo is not None:
        memo_key = (section, line)
        if section == "latencystats":
            # its samples include the command's commandstats totals (sum and count)
            memo_key = (section, line, cmd_totals.get(key[25:]))
        chunk = memo.replay(memo_key, out)
        if chunk is not None:
            if chunk[3] is not None:
                cmd_totals[chunk[3][0]] = chunk[3][1]
            return
    start = len(out.names)
    extra: Any = None
    if section == "commandstats":
        if key.startswith("cmdstat_"):
            _add_commandstat(key[8:], value, add, cmd_totals)
            totals = cmd_totals.get(key[8:])
            if totals is not None:
                extra = (key[8:], totals)
    elif section == "latencystats":
        if key.startswith("latency_percentiles_usec_"):
            cmd = key[25:]
            found = []
            for quantile, val in _kv_pairs(value).items():
                number = _number(val)
                if quantile[:1] == "p" and number is not None:
                    found.append((cmd, quantile[1:], number))
            if found and cmd not in cmd_totals:
                deferred.extend(found)  # no commandstats line before it: not memoised
                return
            _add_percentiles(found, cmd_totals, add)
    elif section == "errorstats":
        if key.startswith("errorstat_"):
            count = _number(_kv_pairs(value).get("count", ""))
            if count is not None:
                add("redis_errors_total", count, (("err", key[10:]),))
    elif key.startswith("db"):  # keyspace
        _add_keyspace(key, value, add)
    if memo is not None:
        memo.remember(memo_key, out, start, extra)


def _add_percentiles(
    found: list[tuple[str, str, float]], cmd_totals: dict[str, tuple[float, float]], add: Any
) -> None:
    """latencystats percentiles, then each command's sum and count (from commandstats)."""
    for cmd, quantile, number in found:
        add("redis_latency_percentiles_usec", number, (("cmd", cmd), ("quantile", quantile)))
    for cmd in dict.fromkeys(cmd for cmd, _, _ in found):
        totals = cmd_totals.get(cmd)
        if totals is not None:
            add("redis_latency_percentiles_usec_sum", totals[1], (("cmd", cmd),))
            add("redis_latency_percentiles_usec_count", totals[0], (("cmd", cmd),))


def _add_commandstat(
    cmd: str, value: str, add: Any, cmd_totals: dict[str, tuple[float, float]]
) -> None:
    pairs = _kv_pairs(value)
    calls = _number(pairs.get("calls", ""))
    usec = _number(pairs.get("usec", ""))
    if calls is None or usec is None:
        return
    labels = (("cmd", cmd),)
    cmd_totals[cmd] = (calls, usec)
    add("redis_commands_total", calls, labels)
    add("redis_commands_duration_seconds_total", usec / 1e6, labels)
    rejected = _number(pairs.get("rejected_calls", ""))
    failed = _number(pairs.get("failed_calls", ""))
    if rejected is not None and failed is not None:
        add("redis_commands_rejected_calls_total", rejected, labels)
        add("redis_commands_failed_calls_total", failed, labels)


def _add_keyspace(db: str, value: str, add: Any) -> None:
    pairs = _kv_pairs(value)
    found: list[tuple[str, float]] = []
    for keys, metric, scale in _KEYSPACE_FIELDS:
        raw = next((pairs[k] for k in keys if k in pairs), None)
        if raw is None:
            if metric in ("redis_db_keys", "redis_db_keys_expiring"):
                return  # keys and expires are required, as in redis_exporter
            continue
        number = _number(raw)
        if number is None:
            return
        found.append((metric, number * scale))
    labels = (("db", db),)
    for metric, number in found:
        add(metric, number, labels)


def _replication_line(key: str, value: str, summary: InfoSummary, add: Any) -> bool:
    """Handle the labelled replication fields; False leaves the line to the plain table."""
    if key == "master_host":
        summary.master_host = value
        return True
    if key == "master_port":
        summary.master_port = value
        return True
    master_labels = (("master_host", summary.master_host), ("master_port", summary.master_port))
    if key == "master_link_status":
        add("redis_master_link_up", 1.0 if value == "up" else 0.0, master_labels)
        return True
    direct = _MASTER_DIRECT.get(key)
    if direct is not None:
        number = _number(value)
        if number is not None:
            add(direct, number, master_labels)
        return True
    if key.startswith("slave") and _REPLICA_FIELD.match(key):
        pairs = _kv_pairs(value)
        offset = _number(pairs.get("offset", ""))
        if offset is None:
            return True
        lag = _number(pairs["lag"]) if "lag" in pairs else None
        replica = Replica(
            pairs.get("ip", ""), pairs.get("port", ""), pairs.get("state", ""), offset, lag
        )
        summary.replicas.append(replica)
        labels = (
            ("slave_ip", replica.ip),
            ("slave_port", replica.port),
            ("slave_state", replica.state),
        )
        add("redis_connected_slave_offset_bytes", offset, labels)
        if lag is not None:
            add("redis_connected_slave_lag_seconds", lag, labels)
        return True
    return False


def _add_identity(summary: InfoSummary, add: Any, ts_ms: int) -> None:
    identity = summary.identity
    if not identity:
        return
    uptime = _number(identity.get("uptime_in_seconds", ""))
    if uptime is not None:
        server_usec = _number(identity.get("server_time_usec", ""))
        now_s = server_usec // 1e6 if server_usec is not None else ts_ms // 1000
        add("redis_start_time_seconds", now_s - uptime)
    info = {name: identity.get(name, "") for name in _INSTANCE_LABELS}
    if not info["redis_mode"]:
        info["redis_mode"] = identity.get("server_mode", "")
    for name in _OPTIONAL_INSTANCE_LABELS:
        if identity.get(name):
            info[name] = identity[name]
    add("redis_instance_info", 1.0, tuple(sorted(info.items())))
    if identity.get("role") == "slave":
        add(
            "redis_slave_info",
            1.0,
            (
                ("master_host", summary.master_host),
                ("master_port", summary.master_port),
                ("read_only", identity.get("slave_read_only", "")),
            ),
        )


def _replica_fact(replicas: list[Replica]) -> str:
    return ",".join(f"{r.ip}:{r.port}/{r.state}" for r in replicas)


class InfoCollector:
    """Every INFO ALL section, with redis_exporter's names."""

    name: ClassVar[str] = "redis_info"
    kinds: ClassVar[frozenset[TargetKind]] = frozenset({TargetKind.REDIS})
    tier: ClassVar[Tier] = Tier.FAST
    metrics: ClassVar[dict[str, tuple[MetricType, str]]] = {
        **plain_catalog(),
        **_STRUCTURED_CATALOG,
        **SENTINEL_INFO_METRICS,
    }

    def __init__(self) -> None:
        self._memo = InfoMemo()  # one collector per target: the memo is this target's

    def prefetch(self, ctx: CollectContext) -> list[tuple[Any, ...]]:
        return [("INFO", "ALL")]

    async def collect(self, conn: Any, ctx: CollectContext, out: SampleBatch) -> None:
        reply = await run_command(conn, ctx, "INFO", "ALL")
        summary = parse_info(reply, out, self._memo)
        ctx.scratch[COMMANDSTATS_SCRATCH] = summary.commandstats
        facts = ctx.capabilities.facts
        facts["role"] = summary.role
        # The replication tree for UIs: "ip:port/state,..." on a primary, "host:port" upstream.
        facts["replicas"] = _replica_fact(summary.replicas)
        facts["master"] = (
            f"{summary.master_host}:{summary.master_port}" if summary.master_host else ""
        )
