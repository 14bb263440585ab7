"""CONFIG GET of the settings that explain the other metrics (slow tier).

One `CONFIG GET` per parameter in a pipeline: Redis before 7.0 takes a single pattern per
call, and the slow tier makes the extra commands irrelevant.

Parsing policy: a reply that is not a flat name/value array raises `ReplyFormatError`;
values that are not numbers are skipped one by one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from collectors.base import CollectContext, Tier, Unsupported
from collectors.redis_reply import ReplyFormatError, check_reply
from monitor.model import MetricType, SampleBatch
from monitor.targets import TargetKind

__all__ = ["ConfigCollector", "parse_config_get", "CONFIG_PARAMETERS"]

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
CONFIG_PARAMETERS = (*_NUMERIC, "maxmemory-policy")


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
