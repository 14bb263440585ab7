"""A one-shot detection over a target, a whole cluster or a Sentinel set's data nodes, for
`cachewatch hotkeys`."""

from __future__ import annotations

import asyncio
import time

from collectors.hotkeys.cluster import discover_nodes
from collectors.hotkeys.detector import HotKeyDetector, HotKeyOptions
from collectors.hotkeys.report import HotKeyReport, Method, merge_reports
from collectors.redis_conn import RedisConnection
from monitor.sentinel_discovery import read_sentinel_set, sentinel_data_targets
from monitor.targets import Target, TargetKind

__all__ = ["detect_hot_keys"]


async def detect_hot_keys(
    target: Target,
    duration_s: float,
    options: HotKeyOptions,
    *,
    include_replicas: bool | None = None,
    poll_s: float = 0.25,
) -> HotKeyReport:
    """Run a detector on the target (on every primary of a cluster seed or a Sentinel set,
    and on the replicas that serve reads: all of them with `include_replicas=True`, none
    with False, by default those whose keyspace has been read) for `duration_s`, stepping
    every `poll_s`, and merge the reports. Each node keeps to its own cost budget
    (`options.max_loss` of its throughput); a node with no method at all stops at once
    (its report says why)."""
    if target.sentinel is not None:
        topology = await read_sentinel_set(target, None, RedisConnection.open)
        if topology is None:
            raise ConnectionError(f"{target.url}: no Sentinel answered")
        nodes = sentinel_data_targets(target, topology)
    elif target.kind is TargetKind.REDIS and target.discover:
        nodes = await discover_nodes(target)
    else:
        nodes = [target]
    replicas = [n for n in nodes if dict(n.labels).get("role", "primary") != "primary"]
    if include_replicas is None:
        serving = await asyncio.gather(*(_serves_reads(n) for n in replicas))
        replicas = [n for n, reads in zip(replicas, serving, strict=True) if reads]
    elif not include_replicas:
        replicas = []
    nodes = [n for n in nodes if dict(n.labels).get("role", "primary") == "primary"] + replicas
    detectors = [HotKeyDetector(node, options) for node in nodes]
    try:
        await asyncio.gather(*(_drive(d, duration_s, poll_s) for d in detectors))
        reports = [d.report() for d in detectors]
    finally:
        await asyncio.gather(*(d.close() for d in detectors))
    if len(reports) == 1:
        return reports[0]
    return merge_reports(target.display_name, reports, options.top)


#: a replica whose keyspace saw this many lookups serves reads (replicated writes do none)
_READS = 1000


async def _serves_reads(node: Target) -> bool:
    try:
        conn = await RedisConnection.open(node)
    except (OSError, ConnectionError):
        return False
    try:
        reply = (await conn.pipeline([("INFO", "stats")]))[0]
    except (OSError, ConnectionError):
        return False
    finally:
        await conn.close()
    if not isinstance(reply, bytes):
        return False
    fields = dict(
        line.split(":", 1) for line in reply.decode("latin-1").splitlines() if ":" in line
    )
    lookups = sum(int(fields.get(k, "0") or 0) for k in ("keyspace_hits", "keyspace_misses"))
    return lookups >= _READS


async def _drive(detector: HotKeyDetector, duration_s: float, poll_s: float) -> None:
    end = time.monotonic() + duration_s
    while True:
        started = time.monotonic()
        try:
            await detector.step()
        except (OSError, ConnectionError, ValueError) as exc:
            # One unreachable or misbehaving node must not cost the other nodes' results.
            detector.notes.append(f"stopped: {exc}")
            return
        if detector.method is Method.NONE:
            return  # nothing can rank keys here: waiting out the duration would not help
        left = end - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, max(0.0, poll_s - (time.monotonic() - started))))
