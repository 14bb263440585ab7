"""CONFIG GET of the settings that explain the other metrics (slow tier).

One `CONFIG GET` per parameter in a pipeline: Redis before 7.0 takes a single pattern per
call, and the slow tier makes the extra commands irrelevant.

Besides the numbers with names of their own, the settings the doctor reasons about
(`FACT_PARAMETERS`: persistence, defrag, bind, encodings' compact thresholds...) come as
redis_exporter's `--include-config-metrics` families: `redis_config_key_value{key,value} 1`
for every one, and `redis_config_value{key}` for those that are numbers. Only this fixed,
reviewed list is read: never a secret (`requirepass`, `masterauth`), and a bounded set of
series. `client-output-buffer-limit` is split per class and limit into
`cachewatch_redis_config_client_output_buffer_limit_bytes{class,limit}`.

Parsing policy: a reply that is not a flat name/value array raises `ReplyFormatError`;
values that are not numbers are skipped one by one.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, ClassVar

from collectors.base import CollectContext, Tier, Unsupported
from collectors.redis_reply import ReplyFormatError, check_reply
from monitor.model import MetricType, SampleBatch
from monitor.targets import TargetKind

__all__ = [
    "ConfigCollector",
    "parse_config_get",
    "parse_output_buffer_limits",
    "CONFIG_PARAMETERS",
    "FACT_PARAMETERS",
]

G = MetricType.GAUGE
#: parameter → (metric, scale, help)
_NUMERIC: dict[str, tuple[str, float, str]] = {
    "maxmemory": ("redis_config_maxmemory", 1, "maxmemory setting (bytes)"),
    "maxclients": ("redis_config_maxclients", 1, "maxclients setting"),
    "io-threads": ("redis_config_io_threads", 1, "io-threads setting"),
    "slowlog-log-slower-than": (
        "cachewatch_redis_config_slowlog_log_slower_than_usec",
        1,
        "slowlog-log-slower-than setting (usec; -1 disables)",
    ),
    "slowlog-max-len": ("cachewatch_redis_config_slowlog_max_len", 1, "slowlog-max-len setting"),
    "latency-monitor-threshold": (
        "cachewatch_redis_config_latency_monitor_threshold_seconds",
        1e-3,
        "latency-monitor-threshold setting (0 disables)",
    ),
}
#: settings the doctor's rules read (never a secret: `requirepass`/`masterauth` stay out)
FACT_PARAMETERS = (
    "save",
    "appendonly",
    "appendfsync",
    "activedefrag",
    "protected-mode",
    "bind",
    "port",
    "timeout",
    "replica-read-only",
    "repl-backlog-size",
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "set-max-intset-entries",
    "client-output-buffer-limit",
)
CONFIG_PARAMETERS = (*_NUMERIC, "maxmemory-policy", *FACT_PARAMETERS)
_FACTS = frozenset(FACT_PARAMETERS)
_BUFFER_CLASSES = {"slave": "replica", "replica": "replica", "normal": "normal", "pubsub": "pubsub"}
_UNITS = {"kb": 1e3, "k": 1e3, "mb": 1e6, "m": 1e6, "gb": 1e9, "g": 1e9}
_UNITS.update({"kib": 1024.0, "mib": 1024.0**2, "gib": 1024.0**3})


def _memory(text: str) -> float:
    """`268435456`, `256mb`, `64kib` → bytes (CONFIG GET answers in bytes; config files
    may not)."""
    match = re.fullmatch(r"(\d+)([a-z]*)", text.strip().lower())
    if match is None or (match.group(2) and match.group(2) not in _UNITS):
        raise ValueError(text)
    return float(match.group(1)) * _UNITS.get(match.group(2), 1.0)


def parse_output_buffer_limits(value: str, out: SampleBatch) -> None:
    """`normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60` → hard and
    soft limits per class (0: no limit). A malformed value adds nothing."""
    words = value.split()
    if len(words) % 4:
        return
    for i in range(0, len(words), 4):
        name, hard, soft = words[i : i + 3]
        klass = _BUFFER_CLASSES.get(name.lower())
        if klass is None:
            continue
        try:
            limits = (("hard", _memory(hard)), ("soft", _memory(soft)))
        except ValueError:
            continue
        for limit, number in limits:
            out.add(
                "cachewatch_redis_config_client_output_buffer_limit_bytes",
                number,
                (("class", klass), ("limit", limit)),
            )


def parse_config_get(reply: Any, out: SampleBatch) -> dict[str, str]:
    """A `CONFIG GET` reply (flat name, value, ... array) → samples; returns name → value."""
    if not isinstance(reply, list) or len(reply) % 2:
        raise ReplyFormatError("CONFIG GET: expected a flat array of name/value pairs")
    settings: dict[str, str] = {}
    for i in range(0, len(reply), 2):
        name, value = reply[i], reply[i + 1]
        if isinstance(name, bytes) and isinstance(value, bytes):
            settings[name.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    for name, value in settings.items():
        spec = _NUMERIC.get(name)
        if spec is None:
            continue
        try:
            number = float(value)
        except ValueError:
            continue
        out.add(spec[0], number * spec[1])
    for name in sorted(_FACTS & settings.keys()):
        value = settings[name]
        out.add("redis_config_key_value", 1.0, (("key", name), ("value", value)))
        with contextlib.suppress(ValueError):
            out.add("redis_config_value", float(value), (("key", name),))
    if "client-output-buffer-limit" in settings:
        parse_output_buffer_limits(settings["client-output-buffer-limit"], out)
    if "maxmemory-policy" in settings:
        out.add(
            "cachewatch_redis_config_info",
            1.0,
            (("maxmemory_policy", settings["maxmemory-policy"]),),
        )
    return settings


class ConfigCollector:
    """Memory, client and slowlog/latency-monitor limits from CONFIG GET."""

    name: ClassVar[str] = "redis_config"
    kinds: ClassVar[frozenset[TargetKind]] = frozenset({TargetKind.REDIS})
    tier: ClassVar[Tier] = Tier.SLOW
    metrics: ClassVar[dict[str, tuple[MetricType, str]]] = {
        **{metric: (G, help_text) for metric, _, help_text in _NUMERIC.values()},
        "cachewatch_redis_config_info": (MetricType.INFO, "Non-numeric CONFIG settings"),
        "redis_config_key_value": (G, "Config key and value"),
        "redis_config_value": (G, "Config key and value as metric"),
        "cachewatch_redis_config_client_output_buffer_limit_bytes": (
            G,
            "client-output-buffer-limit per client class (normal, replica, pubsub) and "
            "limit (hard, soft); 0 means none",
        ),
        "cachewatch_redis_unauthenticated_access": (
            G,
            "1 when cachewatch reads this server without AUTH: any client that reaches it can",
        ),
    }

    async def collect(self, conn: Any, ctx: CollectContext, out: SampleBatch) -> None:
        if ctx.capabilities.sentinel:
            return  # a Sentinel has no CONFIG (nor data): nothing to report, nothing wrong
        if not ctx.capabilities.allows("config get"):
            raise Unsupported("CONFIG GET: command missing or refused")
        replies = await conn.pipeline([("CONFIG", "GET", p) for p in CONFIG_PARAMETERS])
        merged: list[Any] = []
        for reply in replies:
            check_reply(reply, ctx, "CONFIG GET")
            if not isinstance(reply, list):
                raise ReplyFormatError(f"CONFIG GET: expected an array, got {reply!r:.40}")
            merged.extend(reply)
        parse_config_get(merged, out)
        # polls that work without AUTH prove the default user needs no password
        out.add("cachewatch_redis_unauthenticated_access", float(ctx.target.password is None))
