"""LATENCY LATEST and LATENCY HISTOGRAM → samples, as redis_exporter exports them.

Parsing policy: a reply of the wrong top-level shape raises `ReplyFormatError`; single
entries that do not fit (wrong arity, non-numeric fields) are skipped so one odd event or
command does not hide the others.
"""

from __future__ import annotations

import decimal
from typing import Any, ClassVar

from collectors.base import CollectContext, Tier, Unsupported
from collectors.linememo import LineMemo
from collectors.redis_info import COMMANDSTATS_SCRATCH, parse_commandstats
from collectors.redis_reply import ReplyFormatError, check_reply, run_command
from monitor.model import Labels, MetricType, SampleBatch
from monitor.targets import TargetKind

__all__ = [
    "LatencyLatestCollector",
    "LatencyHistogramCollector",
    "parse_latency_latest",
    "parse_latency_histogram",
    "go_float_label",
]

_LE_CACHE: dict[float, str] = {}


def go_float_label(value: float) -> str:
    """Format a bucket bound as Go's strconv 'g' (-1 precision) does, as in redis_exporter's
    `le` labels: `132`, `33816`, `1.048576e+06`."""
    cached = _LE_CACHE.get(value)
    if cached is not None:
        return cached
    if value != value:
        label = "NaN"
    elif value in (float("inf"), float("-inf")):
        label = "+Inf" if value > 0 else "-Inf"
    elif value == 0:
        label = "0"
    else:
        exact = decimal.Decimal(repr(abs(value))).normalize()
        _, digits, exponent = exact.as_tuple()
        assert isinstance(exponent, int)
        mantissa = "".join(map(str, digits))
        exp10 = len(mantissa) - 1 + exponent
        # Go switches to %e below 1e-4 and from 1e6 up when asked for the shortest form.
        if exp10 < -4 or exp10 >= 6:
            frac = mantissa[1:]
            label = f"{mantissa[0]}{'.' + frac if frac else ''}e{'-' if exp10 < 0 else '+'}"
            label += f"{abs(exp10):02d}"
        else:
            label = format(exact, "f")
        if value < 0:
            label = "-" + label
    if len(_LE_CACHE) < 4096:
        _LE_CACHE[value] = label
    return label


def parse_latency_latest(reply: Any, out: SampleBatch) -> int:
    """`LATENCY LATEST` → `redis_latency_spike_last` / `..._duration_seconds`; returns entries."""
    if not isinstance(reply, list):
        raise ReplyFormatError(f"LATENCY LATEST: expected an array, got {type(reply).__name__}")
    count = 0
    for entry in reply:
        if not isinstance(entry, list) or len(entry) < 3:
            continue
        event, last, latest_ms = entry[0], entry[1], entry[2]
        if not isinstance(event, bytes) or not isinstance(last, int):
            continue
        if not isinstance(latest_ms, int):
            continue
        labels = (("event_name", event.decode("utf-8", "replace")),)
        out.add("redis_latency_spike_last", float(last), labels)
        out.add("redis_latency_spike_duration_seconds", latest_ms / 1e3, labels)
        count += 1
    return count


def parse_latency_histogram(
    reply: Any,
    out: SampleBatch,
    usec_sums: dict[str, tuple[float, float]] | None = None,
    memo: LineMemo | None = None,
) -> int:
    """`LATENCY HISTOGRAM` → the `redis_commands_latencies_usec` histogram per `cmd`.

    Redis reports cumulative counts per power-of-two usec bucket, which is exactly a
    Prometheus histogram. `_sum` comes from INFO commandstats (`usec_sums`: cmd →
    (calls, usec)), as in redis_exporter; without it the sum is 0. Returns commands seen.
    With `memo` (one per target), a command whose histogram and sum are unchanged since the
    last reply is not converted again (collectors/linememo.py).
    """
    if not isinstance(reply, list) or len(reply) % 2:
        raise ReplyFormatError("LATENCY HISTOGRAM: expected a flat map of command → details")
    usec_sums = usec_sums or {}
    count = 0
    for i in range(0, len(reply), 2):
        name, details = reply[i], reply[i + 1]
        if not isinstance(name, bytes) or not isinstance(details, list) or len(details) % 2:
            continue
        key = _memo_key(name, details, usec_sums) if memo is not None else None
        if memo is not None and key is not None:
            if memo.replay(key, out) is not None:
                count += 1
                continue
            start = len(out.names)
            if _add_histogram(name, details, out, usec_sums):
                count += 1
            memo.remember(key, out, start)
        elif _add_histogram(name, details, out, usec_sums):
            count += 1
    if memo is not None:
        memo.roll()
    return count


def _memo_key(
    name: bytes, details: list[Any], usec_sums: dict[str, tuple[float, float]]
) -> tuple[Any, ...] | None:
    """The details as a hashable key (`calls`, n, `histogram_usec`, [flat ints]: one level of
    nesting, and tuple() runs at C speed), with the sum; None for a garbled entry."""
    key = (
        name,
        tuple(tuple(v) if isinstance(v, list) else v for v in details),
        usec_sums.get(name.decode("utf-8", "replace")),
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _add_histogram(
    name: bytes, details: list[Any], out: SampleBatch, usec_sums: dict[str, tuple[float, float]]
) -> bool:
    # keys that are not strings (a garbled reply) are skipped, not hashed
    fields = {
        k: v for k, v in zip(details[::2], details[1::2], strict=True) if isinstance(k, bytes)
    }
    calls = fields.get(b"calls")
    buckets = fields.get(b"histogram_usec")
    if not isinstance(calls, int) or not isinstance(buckets, list) or len(buckets) % 2:
        return False
    if not all(isinstance(x, int) for x in buckets):
        return False
    cmd = name.decode("utf-8", "replace")
    names, labels, values = out.names, out.labels, out.values
    for j in range(0, len(buckets), 2):
        names.append("redis_commands_latencies_usec_bucket")
        labels.append(_bucket_labels(cmd, buckets[j]))
        values.append(float(buckets[j + 1]))
    out.add("redis_commands_latencies_usec_bucket", float(calls), (("cmd", cmd), ("le", "+Inf")))
    out.add("redis_commands_latencies_usec_sum", usec_sums.get(cmd, (0.0, 0.0))[1], (("cmd", cmd),))
    out.add("redis_commands_latencies_usec_count", float(calls), (("cmd", cmd),))
    return True


#: (cmd, bucket bound) → the bucket's labels: the commands a server runs, and so this
#: table, are few; a histogram that changed is converted again every poll (our own INFO
#: and LATENCY calls change theirs), and formatting `le` was most of that
_BUCKET_LABELS: dict[tuple[str, int], Labels] = {}
_BUCKET_LABELS_LIMIT = 65536


def _bucket_labels(cmd: str, bound: int) -> Labels:
    labels = _BUCKET_LABELS.get((cmd, bound))
    if labels is None:
        if len(_BUCKET_LABELS) >= _BUCKET_LABELS_LIMIT:
            _BUCKET_LABELS.clear()
        labels = _BUCKET_LABELS[(cmd, bound)] = (("cmd", cmd), ("le", go_float_label(float(bound))))
    return labels


class LatencyLatestCollector:
    """Latency monitor spikes (needs `latency-monitor-threshold` > 0 to report anything)."""

    name: ClassVar[str] = "redis_latency_latest"
    kinds: ClassVar[frozenset[TargetKind]] = frozenset({TargetKind.REDIS})
    tier: ClassVar[Tier] = Tier.FAST
    metrics: ClassVar[dict[str, tuple[MetricType, str]]] = {
        "redis_latency_spike_last": (MetricType.GAUGE, "When the latency spike last occurred"),
        "redis_latency_spike_duration_seconds": (
            MetricType.GAUGE,
            "Length of the last latency spike in seconds",
        ),
    }

    def prefetch(self, ctx: CollectContext) -> list[tuple[Any, ...]]:
        return [("LATENCY", "LATEST")] if ctx.capabilities.allows("latency latest") else []

    async def collect(self, conn: Any, ctx: CollectContext, out: SampleBatch) -> None:
        if ctx.capabilities.sentinel:
            return  # a Sentinel has no latency monitor: nothing to report, nothing wrong
        if not ctx.capabilities.allows("latency latest"):
            raise Unsupported("LATENCY LATEST: command missing or refused")
        parse_latency_latest(await run_command(conn, ctx, "LATENCY", "LATEST"), out)


class LatencyHistogramCollector:
    """Per-command latency histograms (Redis/Valkey 7.0+), so `histogram_quantile` works."""

    name: ClassVar[str] = "redis_latency_histogram"
    kinds: ClassVar[frozenset[TargetKind]] = frozenset({TargetKind.REDIS})
    tier: ClassVar[Tier] = Tier.FAST
    metrics: ClassVar[dict[str, tuple[MetricType, str]]] = {
        "redis_commands_latencies_usec": (
            MetricType.HISTOGRAM,
            "A histogram of latencies per command",
        ),
    }

    def __init__(self) -> None:
        self._memo = LineMemo()  # one collector per target: the memo is this target's

    def prefetch(self, ctx: CollectContext) -> list[tuple[Any, ...]]:
        caps = ctx.capabilities
        if (caps.version and not caps.at_least(7)) or not caps.allows("latency histogram"):
            return []
        return [("LATENCY", "HISTOGRAM")]

    async def collect(self, conn: Any, ctx: CollectContext, out: SampleBatch) -> None:
        caps = ctx.capabilities
        if caps.sentinel:
            return  # a Sentinel has no latency histogram: nothing to report, nothing wrong
        if caps.version and not caps.at_least(7):
            raise Unsupported("LATENCY HISTOGRAM: needs Redis 7.0 or later")
        if not caps.allows("latency histogram"):
            raise Unsupported("LATENCY HISTOGRAM: command missing or refused")
        # `_sum` comes from commandstats: reuse the INFO collector's parse of this poll's
        # INFO ALL when it ran, else fetch them in the same round trip.
        sums = ctx.scratch.get(COMMANDSTATS_SCRATCH)
        if sums is not None:
            histogram = await run_command(conn, ctx, "LATENCY", "HISTOGRAM")
        else:
            histogram, commandstats = await conn.pipeline(
                [("LATENCY", "HISTOGRAM"), ("INFO", "commandstats")]
            )
            check_reply(histogram, ctx, "LATENCY HISTOGRAM")
            check_reply(commandstats, ctx, "INFO commandstats")
            sums = parse_commandstats(commandstats.decode("utf-8", "replace"))
        parse_latency_histogram(histogram, out, sums, self._memo)
