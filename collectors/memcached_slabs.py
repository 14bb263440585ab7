"""memcached `stats slabs`: per slab class memory layout and command counts, every poll.

Names, labels and types follow prometheus/memcached_exporter's slab collector
(`--enable.slab`), with the slab class number in the `slab` label.
"""

from __future__ import annotations

from collections.abc import Iterable

from collectors.base import Tier
from collectors.memcached_values import (
    Catalog,
    SlabRoutes,
    StatsGroupCollector,
    emit,
    emit_slab_fields,
    group_by_number,
    parse_number,
    sum_numbers,
)
from monitor.model import MetricType, SampleBatch

__all__ = ["MemcachedSlabsCollector", "add_slab_stats"]

C, G = MetricType.COUNTER, MetricType.GAUGE

#: per-slab field -> (metric, type, help)
_FIELDS: dict[str, tuple[str, MetricType, str]] = {
    "chunk_size": (
        "memcached_slab_chunk_size_bytes",
        G,
        "Number of bytes allocated to each chunk within this slab class.",
    ),
    "chunks_per_page": (
        "memcached_slab_chunks_per_page",
        G,
        "Number of chunks within a single page for this slab class.",
    ),
    "total_pages": (
        "memcached_slab_current_pages",
        G,
        "Number of pages allocated to this slab class.",
    ),
    "total_chunks": (
        "memcached_slab_current_chunks",
        G,
        "Number of chunks allocated to this slab class.",
    ),
    "used_chunks": ("memcached_slab_chunks_used", G, "Number of chunks allocated to an item."),
    "free_chunks": ("memcached_slab_chunks_free", G, "Number of chunks not yet allocated items."),
    "free_chunks_end": (
        "memcached_slab_chunks_free_end",
        G,
        "Number of free chunks at the end of the last allocated page.",
    ),
    # memcached < 1.6 reports this here; 1.6 moved it to `stats items`
    "mem_requested": (
        "memcached_slab_mem_requested_bytes",
        G,
        "Number of bytes of memory actual items take up within a slab.",
    ),
}
_COMMAND_FIELDS = {
    f"{op}_hits": (op, "hit") for op in ("get", "delete", "incr", "decr", "cas", "touch")
}
_COMMAND_FIELDS["cas_badval"] = ("cas", "badval")
_COMMANDS = "memcached_slab_commands_total"
_ACTIVE_SLABS = "cachewatch_memcached_active_slabs"

_ROUTES: SlabRoutes = {
    **{field: (metric, ()) for field, (metric, _, _) in _FIELDS.items()},
    **{
        field: (_COMMANDS, (("command", command), ("status", status)))
        for field, (command, status) in _COMMAND_FIELDS.items()
    },
}

CATALOG: Catalog = {
    _COMMANDS: (
        C,
        "Total number of all requests broken down by command (get, set, etc.) and status per slab.",
    ),
    _ACTIVE_SLABS: (G, "Slab classes with at least one page allocated."),
    "memcached_malloced_bytes": (G, "Number of bytes of memory allocated to slab pages."),
    **{name: (kind, help_text) for name, kind, help_text in _FIELDS.values()},
}


def add_slab_stats(pairs: Iterable[tuple[str, str]], out: SampleBatch) -> None:
    """Turn `stats slabs` pairs into per-slab samples. Non-numeric values are skipped; a
    slab's `set` count (its `cmd_set` minus CAS hits and bad values, as memcached_exporter
    computes it) is left out when one of those is missing or bad."""
    slabs, totals = group_by_number(pairs)
    for slab, fields in slabs.items():
        emit_slab_fields(out, CATALOG, _ROUTES, slab, fields)
        cmd_set = parse_number(fields.get("cmd_set", ""))
        cas = sum_numbers(fields, ("cas_hits", "cas_badval"))
        if cmd_set is not None and cas is not None:
            labels = (("command", "set"), ("slab", slab), ("status", "hit"))
            emit(out, CATALOG, _COMMANDS, cmd_set - cas, labels)
    active = parse_number(totals.get("active_slabs", ""))
    if active is not None:
        emit(out, CATALOG, _ACTIVE_SLABS, active)
    # memcached 1.6 reports total_malloced only among the `stats slabs` totals
    malloced = parse_number(totals.get("total_malloced", ""))
    if malloced is not None:
        emit(out, CATALOG, "memcached_malloced_bytes", malloced)


class MemcachedSlabsCollector(StatsGroupCollector):
    """`stats slabs`, every poll."""

    name = "memcached_slabs"
    tier = Tier.FAST
    metrics = CATALOG
    group = "slabs"
    parse = staticmethod(add_slab_stats)
