"""One target in depth: charts over a chosen window plus the tables an on-call engineer
reaches for (INFO, commandstats, latency events, slowlog, keyspace, replication, slabs,
hot and big keys).

Tables come from one instant query of every series of the target (`{instance="…"}`), so
they read the same from the embedded store and from an attached server; charts are range
queries, one per chart. Hot and big keys come from the live detector report when the source
has one (`HotKeySource`: a local runtime, real key names after the configured masks), else
from the bounded top-K series (`#rank` unless `export_key_names` is on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from collectors.hotkeys.report import HotKeyReport
from collectors.redis_slowlog import ORIGIN_CACHEWATCH
from monitor.model import Event
from monitor.readmodel import definitions as d
from monitor.readmodel import queries as q
from monitor.readmodel.info_sections import info_sections
from monitor.readmodel.latency import QUANTILES, latency_by_command, latency_histogram
from monitor.readmodel.queries import selector
from monitor.readmodel.source import DataSource, InstantSample, TargetState
from monitor.readmodel.windows import Window, chart_rate_window_s

__all__ = [
    "Line",
    "Chart",
    "CommandStat",
    "LatencyEvent",
    "SlowlogRow",
    "KeyspaceRow",
    "ReplicaRow",
    "Replication",
    "SlabRow",
    "KeyRow",
    "HotKeySource",
    "HotKeyView",
    "PatternRow",
    "hot_key_view",
    "TargetDetail",
    "target_detail",
    "slowlog_rows",
]

_TOP_COMMANDS = 6


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    ts_ms: tuple[int, ...]
    values: tuple[float, ...]

    @property
    def last(self) -> float | None:
        for value in reversed(self.values):
            if not math.isnan(value):
                return value
        return None


@dataclass(frozen=True, slots=True)
class Chart:
    key: str  # stable id: "ops", "hit_ratio", "memory", "evictions", "network", ...
    title: str
    unit: str  # "ops/s", "ratio", "bytes", "keys/s", "bytes/s", "clients", "ms"
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class CommandStat:
    command: str
    calls: float
    ops_per_s: float | None
    usec_per_call: float | None
    failed: float
    rejected: float


@dataclass(frozen=True, slots=True)
class LatencyEvent:
    event: str
    last_at_s: float
    duration_ms: float


@dataclass(frozen=True, slots=True)
class SlowlogRow:
    id: int
    at_ms: int
    duration_us: int
    command: str
    client: str


@dataclass(frozen=True, slots=True)
class KeyspaceRow:
    db: str
    keys: float
    expiring: float
    avg_ttl_s: float | None


@dataclass(frozen=True, slots=True)
class ReplicaRow:
    address: str
    state: str
    offset: float
    lag_s: float | None


@dataclass(frozen=True, slots=True)
class Replication:
    role: str
    master: str  # host:port of the primary, for a replica
    link_up: bool | None
    last_io_s: float | None
    replicas: tuple[ReplicaRow, ...]


@dataclass(frozen=True, slots=True)
class SlabRow:
    slab: str
    chunk_size: float | None
    pages: float | None
    chunks_used: float | None
    items: float | None
    evicted_total: float | None
    evictions_per_s: float | None
    age_s: float | None


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A hot key (`value` in ops/s, NaN where the method reports only a `share`) or a big key
    (`value` in bytes, `type` its data type). Columns a source cannot tell stay None."""

    rank: int
    key: str  # "#rank" when key names are not exported
    value: float
    method: str
    error: float | None = None  # the true rate lies within value ± error
    reads_per_s: float | None = None
    writes_per_s: float | None = None
    share: float | None = None
    type: str = ""


@dataclass(frozen=True, slots=True)
class PatternRow:
    """A key pattern (`api:v2:user:{id}:profile`) and its share of the key accesses seen."""

    pattern: str
    share: float | None  # 0..1; None where only a rate is known (the series)
    ops_per_s: float | None
    error: float | None
    method: str


@dataclass(frozen=True, slots=True)
class HotKeyView:
    """What the Keys tab shows: hot keys, big keys, key patterns, and what they rest on."""

    hot: tuple[KeyRow, ...] = ()
    big: tuple[KeyRow, ...] = ()
    patterns: tuple[PatternRow, ...] = ()
    #: why a method was skipped, what its ranking cannot tell
    notes: tuple[str, ...] = ()
    #: what the estimate rests on and what it cost (`SampleInfo.describe`), one per node
    sampled: tuple[str, ...] = ()


@runtime_checkable
class HotKeySource(Protocol):
    """A source that also holds the live hot-key reports (a local runtime's detectors)."""

    def hot_key_report(self, instance: str) -> HotKeyReport | None:
        """The latest report of `instance`, keys already masked for display; None when no
        detector reports on it (the series are read instead)."""
        ...


@dataclass(frozen=True, slots=True)
class TargetDetail:
    state: TargetState
    window: Window
    charts: tuple[Chart, ...]
    info: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    commandstats: tuple[CommandStat, ...] = ()
    latency_events: tuple[LatencyEvent, ...] = ()
    slowlog: tuple[SlowlogRow, ...] = ()
    #: entries of cachewatch's own commands left out of `slowlog`
    slowlog_hidden: int = 0
    keyspace: tuple[KeyspaceRow, ...] = ()
    replication: Replication | None = None
    slabs: tuple[SlabRow, ...] = ()
    hot_keys: tuple[KeyRow, ...] = ()
    big_keys: tuple[KeyRow, ...] = ()
    hot_patterns: tuple[PatternRow, ...] = ()
    #: what the hot keys rest on and what they cost (one line per node)
    hot_key_sampled: tuple[str, ...] = ()
    #: why a hot-key method was skipped, and what its ranking cannot tell (e.g. keys at the
    #: LFU counter ceiling); only where the detector runs in this process
    hot_key_notes: tuple[str, ...] = ()


def _chart_specs(
    kind: str, sel: str, rate: str
) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """(key, title, unit, [(line name or "{label}", expr)]) for one target's PromQL charts;
    the latency charts come from `latency.py` instead (`_latency_charts`)."""

    def r(metric: str) -> str:
        return f"rate({metric}{{{sel}}}[{rate}])"

    ops = (
        "ops",
        "ops/s by command (application; cachewatch apart)",
        "ops/s",
        [
            (
                "{command}" if kind == "memcached" else "{cmd}",
                _top(q.target_ops_by_command(kind, sel, rate)),
            ),
            ("cachewatch", q.target_observer_ops(sel, rate)),
        ],
    )
    hit_ratio = (
        "hit_ratio",
        "hit ratio",
        "ratio",
        [("hit ratio", q.target_hit_ratio(kind, sel, rate))],
    )
    if kind == "memcached":
        return [
            ops,
            hit_ratio,
            (
                "memory",
                "memory vs limit",
                "bytes",
                [
                    ("slabs", d.render(d.MEMCACHED_MEMORY_USED, "instance", sel, rate)),
                    ("items", f"memcached_current_bytes{{{sel}}}"),
                    ("limit", f"memcached_limit_bytes{{{sel}}}"),
                ],
            ),
            (
                "evictions",
                "evictions & reclaims",
                "items/s",
                [
                    ("evicted", r("memcached_items_evicted_total")),
                    ("reclaimed", r("memcached_items_reclaimed_total")),
                ],
            ),
            (
                "network",
                "network",
                "bytes/s",
                [
                    ("in", r("memcached_read_bytes_total")),
                    ("out", r("memcached_written_bytes_total")),
                ],
            ),
            (
                "clients",
                "connections",
                "clients",
                [("current", f"memcached_current_connections{{{sel}}}")],
            ),
        ]
    return [
        ops,
        hit_ratio,
        (
            "memory",
            "memory vs maxmemory",
            "bytes",
            [
                ("used", f"redis_memory_used_bytes{{{sel}}}"),
                ("rss", f"redis_memory_used_rss_bytes{{{sel}}}"),
                ("maxmemory", f"redis_memory_max_bytes{{{sel}}} > 0"),
            ],
        ),
        (
            "evictions",
            "evictions & expirations",
            "keys/s",
            [
                ("evicted", r("redis_evicted_keys_total")),
                ("expired", r("redis_expired_keys_total")),
            ],
        ),
        (
            "network",
            "network",
            "bytes/s",
            [("in", r("redis_net_input_bytes_total")), ("out", r("redis_net_output_bytes_total"))],
        ),
        (
            "clients",
            "clients",
            "clients",
            [
                ("connected", f"redis_connected_clients{{{sel}}}"),
                ("blocked", f"redis_blocked_clients{{{sel}}}"),
            ],
        ),
    ]


def _top(expr: str) -> str:
    return f"topk({_TOP_COMMANDS}, {expr})"


def _latency_charts(
    source: DataSource, sel: str, start: int, end: int, step: int, interval_s: float
) -> list[Chart]:
    """p50/p99/p99.9 of the application's commands and p99 by command, from the exact merge
    of the histograms (`latency.py`), in ms."""
    window_ms = round(chart_rate_window_s(step, interval_s) * 1000)
    overall = latency_histogram(source, sel, start, end, step, window_ms)
    lines = tuple(
        Line(name, overall.ts_ms, tuple(float(v) / 1000 for v in overall.quantile(q_)))
        for name, q_ in QUANTILES
    )
    per_command = [
        Line(cmd, h.ts_ms, tuple(float(v) / 1000 for v in h.quantile(0.99)))
        for cmd, h in latency_by_command(source, sel, start, end, step, window_ms).items()
    ]
    per_command.sort(key=lambda line: -(line.last or 0.0))
    return [
        Chart("latency", "latency p50 / p99 / p99.9 (application commands)", "ms", lines),
        Chart("latency_cmd", "latency p99 by command", "ms", tuple(per_command[:_TOP_COMMANDS])),
    ]


def _charts(
    source: DataSource, state: TargetState, window: Window, now_ms: int
) -> tuple[Chart, ...]:
    step = window.step_ms
    end = now_ms - now_ms % step
    start = end - window.span_ms
    sel = selector(state.instance)
    charts = []
    for key, title, unit, specs in _chart_specs(
        state.kind, sel, window.rate_range(state.interval_s)
    ):
        lines: list[Line] = []
        for name, expr in specs:
            for series in source.range(expr, start, end, step):
                label = name
                if name.startswith("{"):
                    label = series.labels.get(name.strip("{}"), "?")
                lines.append(Line(label, series.ts_ms, series.values))
        charts.append(Chart(key, title, unit, tuple(lines)))
    if state.kind == "redis":
        charts.extend(_latency_charts(source, sel, start, end, step, state.interval_s))
    return tuple(charts)


def _index(samples: list[InstantSample]) -> dict[str, list[InstantSample]]:
    out: dict[str, list[InstantSample]] = {}
    for sample in samples:
        out.setdefault(sample.labels.get("__name__", ""), []).append(sample)
    return out


def _one(index: dict[str, list[InstantSample]], name: str) -> float | None:
    found = index.get(name)
    return found[0].value if found else None


def _per(index: dict[str, list[InstantSample]], name: str, label: str) -> dict[str, float]:
    return {s.labels.get(label, ""): s.value for s in index.get(name, [])}


def _commandstats(
    index: dict[str, list[InstantSample]], rates: dict[str, float], top: int
) -> tuple[CommandStat, ...]:
    calls = _per(index, "redis_commands_total", "cmd")
    seconds = _per(index, "redis_commands_duration_seconds_total", "cmd")
    failed = _per(index, "redis_commands_failed_calls_total", "cmd")
    rejected = _per(index, "redis_commands_rejected_calls_total", "cmd")
    rows = [
        CommandStat(
            command=cmd,
            calls=count,
            ops_per_s=rates.get(cmd),
            usec_per_call=seconds[cmd] * 1e6 / count if count and cmd in seconds else None,
            failed=failed.get(cmd, 0.0),
            rejected=rejected.get(cmd, 0.0),
        )
        for cmd, count in calls.items()
    ]
    rows.sort(key=lambda row: (-(row.ops_per_s or 0.0), -row.calls, row.command))
    return tuple(rows[:top])


def _replication(index: dict[str, list[InstantSample]], state: TargetState) -> Replication | None:
    info = index.get("redis_instance_info")
    if not info:
        return None
    role = {"master": "primary", "slave": "replica"}.get(info[0].labels.get("role", ""), "")
    master = ""
    link = index.get("redis_master_link_up")
    if link:
        master = f"{link[0].labels.get('master_host', '')}:{link[0].labels.get('master_port', '')}"
    lags = {
        (s.labels.get("slave_ip", ""), s.labels.get("slave_port", "")): s.value
        for s in index.get("redis_connected_slave_lag_seconds", [])
    }
    replicas = tuple(
        ReplicaRow(
            address=f"{s.labels.get('slave_ip', '')}:{s.labels.get('slave_port', '')}",
            state=s.labels.get("slave_state", ""),
            offset=s.value,
            lag_s=lags.get((s.labels.get("slave_ip", ""), s.labels.get("slave_port", ""))),
        )
        for s in sorted(
            index.get("redis_connected_slave_offset_bytes", []),
            key=lambda s: (s.labels.get("slave_ip", ""), s.labels.get("slave_port", "")),
        )
    )
    return Replication(
        role=role or state.labels.get("role", ""),
        master=master,
        link_up=None if not link else link[0].value >= 1,
        last_io_s=_one(index, "redis_master_last_io_seconds_ago"),
        replicas=replicas,
    )


def _slabs(
    index: dict[str, list[InstantSample]], evict_rates: dict[str, float]
) -> tuple[SlabRow, ...]:
    columns = {
        "chunk_size": _per(index, "memcached_slab_chunk_size_bytes", "slab"),
        "pages": _per(index, "memcached_slab_current_pages", "slab"),
        "chunks_used": _per(index, "memcached_slab_chunks_used", "slab"),
        "items": _per(index, "memcached_slab_current_items", "slab"),
        "evicted_total": _per(index, "memcached_slab_items_evicted_total", "slab"),
        "age_s": _per(index, "memcached_slab_items_age_seconds", "slab"),
    }
    slabs = sorted(set().union(*columns.values()), key=lambda s: int(s) if s.isdigit() else 1 << 30)
    return tuple(
        SlabRow(
            slab=slab,
            evictions_per_s=evict_rates.get(slab),
            **{name: values.get(slab) for name, values in columns.items()},  # type: ignore[arg-type]
        )
        for slab in slabs
    )


def _rank(sample: InstantSample) -> int:
    text = sample.labels.get("rank", "0")
    return int(text) if text.isdigit() else 0


def _keys(index: dict[str, list[InstantSample]], metric: str) -> tuple[KeyRow, ...]:
    errors = {_rank(s): s.value for s in index.get(f"{metric}_error", [])}
    rows = [
        KeyRow(
            rank,
            sample.labels.get("key", f"#{rank}"),
            sample.value,
            sample.labels.get("method", ""),
            error=errors.get(rank),
            type=sample.labels.get("type", ""),
        )
        for sample in index.get(metric, [])
        for rank in (_rank(sample),)
    ]
    return tuple(sorted(rows, key=lambda row: row.rank))


def hot_key_view(report: HotKeyReport, top: int = 20) -> HotKeyView:
    """A detector's report (live, or a sample taken now) as the Keys tab shows it."""
    hot = tuple(
        KeyRow(
            rank,
            entry.key,
            math.nan if entry.ops_per_sec is None else entry.ops_per_sec,
            entry.method.value,
            error=entry.error,
            reads_per_s=entry.reads_per_sec,
            writes_per_s=entry.writes_per_sec,
            share=entry.share,
        )
        for rank, entry in enumerate(report.hot[:top], 1)
    )
    big = tuple(
        KeyRow(rank, entry.key, float(entry.bytes), "", type=entry.type)
        for rank, entry in enumerate(report.big[:top], 1)
    )
    patterns = tuple(
        PatternRow(p.pattern, p.share, p.ops_per_sec, p.error, p.method.value)
        for p in report.patterns[:top]
    )
    sampled = tuple(sample.describe() for sample in report.samples)
    return HotKeyView(hot, big, patterns, report.notes, sampled)


def _series_patterns(index: dict[str, list[InstantSample]]) -> tuple[PatternRow, ...]:
    samples = index.get("cachewatch_hotkey_pattern_ops_per_second", [])
    total = sum(s.value for s in samples)
    rows = [
        PatternRow(
            s.labels.get("pattern", ""), s.value / total if total else None, s.value, None, ""
        )
        for s in samples
    ]
    return tuple(sorted(rows, key=lambda row: -(row.ops_per_s or 0.0)))


def _hot_key_view(
    source: DataSource, index: dict[str, list[InstantSample]], instance: str, top: int
) -> HotKeyView:
    report = source.hot_key_report(instance) if isinstance(source, HotKeySource) else None
    if report is not None:
        return hot_key_view(report, top)
    return HotKeyView(
        _keys(index, "cachewatch_hotkey_ops_per_second"),
        _keys(index, "cachewatch_bigkey_bytes"),
        _series_patterns(index),
    )


def slowlog_rows(events: list[Event]) -> tuple[tuple[SlowlogRow, ...], int]:
    """The application's slow commands (newest first) and how many entries of cachewatch's
    own commands were left out (its connections are named `cachewatch`)."""
    rows = []
    hidden = 0
    for event in events:
        data = event.data
        if data.get("origin") == ORIGIN_CACHEWATCH:
            hidden += 1
            continue
        client = str(data.get("client_addr", ""))
        if data.get("client_name"):
            client += f" ({data['client_name']})"
        rows.append(
            SlowlogRow(
                id=int(data.get("id", 0)),  # type: ignore[call-overload]
                at_ms=event.ts_ms,
                duration_us=int(data.get("duration_us", 0)),  # type: ignore[call-overload]
                command=str(data.get("command", "")),
                client=client,
            )
        )
    return tuple(rows), hidden


def target_detail(
    source: DataSource,
    instance: str,
    window: Window,
    now_ms: int | None = None,
    top_commands: int = 20,
    slowlog_limit: int = 50,
    with_charts: bool = True,
    top_keys: int = 20,
) -> TargetDetail | None:
    """Everything the detail screen shows about `instance`; None if it is not a target."""
    now = source.now_ms() if now_ms is None else now_ms
    state = next((s for s in source.statuses() if s.instance == instance), None)
    if state is None:
        return None
    sel = selector(instance)
    index = _index(source.instant(f"{{{sel}}}", now))
    if not state.version:  # attached: the version is only in the info-style series
        info = index.get("redis_instance_info") or index.get("memcached_version") or []
        version = (
            info[0].labels.get("redis_version") or info[0].labels.get("version") if info else ""
        )
        state = replace(state, version=version or "")
    charts = _charts(source, state, window, now) if with_charts else ()
    keys = _hot_key_view(source, index, instance, top_keys)
    if state.kind == "memcached":
        evict_rates = {
            s.labels.get("slab", ""): s.value
            for s in source.instant(f"rate(memcached_slab_items_evicted_total{{{sel}}}[1m])", now)
        }
        return TargetDetail(
            state=state,
            window=window,
            charts=charts,
            info=info_sections(index, frozenset(state.labels)),
            slabs=_slabs(index, evict_rates),
            hot_keys=keys.hot,
            hot_patterns=keys.patterns,
            hot_key_notes=keys.notes,
            hot_key_sampled=keys.sampled,
        )
    cmd_rates = {
        s.labels.get("cmd", ""): s.value
        for s in source.instant(f"rate(redis_commands_total{{{sel}}}[1m])", now)
    }
    ttl = _per(index, "redis_db_avg_ttl_seconds", "db")
    expiring = _per(index, "redis_db_keys_expiring", "db")
    keyspace = tuple(
        KeyspaceRow(db, keys, expiring.get(db, 0.0), ttl.get(db) or None)
        for db, keys in sorted(_per(index, "redis_db_keys", "db").items())
    )
    spikes = _per(index, "redis_latency_spike_duration_seconds", "event_name")
    latency_events = tuple(
        LatencyEvent(event, last, spikes.get(event, 0.0) * 1000)
        for event, last in sorted(
            _per(index, "redis_latency_spike_last", "event_name").items(), key=lambda kv: -kv[1]
        )
    )
    slowlog, slowlog_hidden = slowlog_rows(
        source.events("slowlog", instance, now - window.span_ms, slowlog_limit)
    )
    return TargetDetail(
        state=state,
        window=window,
        charts=charts,
        info=info_sections(index, frozenset(state.labels)),
        commandstats=_commandstats(index, cmd_rates, top_commands),
        latency_events=latency_events,
        slowlog=slowlog,
        slowlog_hidden=slowlog_hidden,
        keyspace=keyspace,
        replication=_replication(index, state),
        hot_keys=keys.hot,
        big_keys=keys.big,
        hot_patterns=keys.patterns,
        hot_key_notes=keys.notes,
        hot_key_sampled=keys.sampled,
    )
