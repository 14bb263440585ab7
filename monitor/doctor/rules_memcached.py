"""Diagnosis rules for memcached, over memcached_exporter's names (and cachewatch's where it
has none). Rates and shares are `monitor/evictions/expressions.py`'s definitions."""

from __future__ import annotations

from monitor.doctor import thresholds as t
from monitor.doctor.model import Evidence, Rule, Severity, Unit
from monitor.doctor.rules_redis import W, by_instance
from monitor.evictions import expressions as x
from monitor.readmodel import definitions as d
from monitor.readmodel import levels

__all__ = ["MEMCACHED_RULES"]

EVICTIONS = by_instance(x.MEMCACHED_EVICTIONS_RATE)
UNFETCHED_SHARE = by_instance(x.MEMCACHED_UNFETCHED_EVICTION_SHARE)
HIT_RATIO = by_instance(d.MEMCACHED_HIT_RATIO)
SLAB_EVICTIONS = by_instance(x.MEMCACHED_SLAB_EVICTIONS_RATE)
#: memory held by chunks no item uses, per instance (what automove could give away)
FREE_SLAB_BYTES = (
    "sum by (instance) (memcached_slab_chunks_free{$sel} * memcached_slab_chunk_size_bytes{$sel})"
)

USABLE_CONNECTIONS = (
    "max by (instance) (memcached_max_connections{$sel}) - (max by (instance) "
    "(cachewatch_memcached_reserved_fds{$sel}) or max by (instance) "
    "(memcached_max_connections{$sel}) * 0)"
)


def number(name: str, metric: str, unit: Unit = Unit.NUMBER) -> Evidence:
    return Evidence(name, f"{metric}{{$sel}}", unit)


def increase(name: str, metric: str) -> Evidence:
    return Evidence(f"{name} (5m)", f"increase({metric}{{$sel}}[{W}])")


MEMCACHED_RULES: tuple[Rule, ...] = (
    Rule(
        id="memcached-slab-imbalance",
        kind="memcached",
        severity=Severity.WARNING,
        title="Slab class {slab} evicts {value} items/s while other classes hold free memory",
        condition=f"({SLAB_EVICTIONS}) > 0 and on (instance) ({FREE_SLAB_BYTES} > "
        f"{t.SLAB_FREE_BYTES}) and on (instance) "
        "(max by (instance) (cachewatch_memcached_slab_automove_mode{$sel}) == 0)",
        unit=Unit.PER_SECOND,
        keys=("slab",),
        evidence=(
            Evidence("evictions per slab class", SLAB_EVICTIONS, Unit.PER_SECOND),
            Evidence("free memory in slab classes", FREE_SLAB_BYTES, Unit.BYTES),
            Evidence(
                "free chunks per slab class",
                "memcached_slab_chunks_free{$sel} > 0",
            ),
            number("slab_automove", "cachewatch_memcached_slab_automove_mode"),
        ),
        why="Memory went to the slab classes of yesterday's value sizes: a class whose items "
        "changed size evicts live items while pages in other classes sit free (slab "
        "calcification). Nothing moves them back with automove off.",
        fix="Start memcached with `-o slab_reassign,slab_automove=1` (the 1.6 default; 2 "
        "for aggressive), or move a page by hand: `slabs reassign <from> <to>`.",
    ),
    Rule(
        id="memcached-evicted-unfetched",
        kind="memcached",
        severity=Severity.WARNING,
        title="{value} of evicted items were never read: wasted writes",
        condition=f"({UNFETCHED_SHARE}) > {t.UNFETCHED_SHARE} and on (instance) "
        f"(({EVICTIONS}) > {levels.EVICTIONS_WARN_PER_S})",
        unit=Unit.RATIO,
        evidence=(
            Evidence("never read, of the evicted", UNFETCHED_SHARE, Unit.RATIO),
            Evidence("evictions", EVICTIONS, Unit.PER_SECOND),
        ),
        why="Items are written and pushed out before anyone reads them: the writes cost "
        "memory and CPU and evict items that would have been read.",
        fix="Stop caching what is never read (find the keys: `cachewatch hotkeys --metadump`),"
        " or give the cache enough memory to keep them until they are read.",
    ),
    Rule(
        id="memcached-connection-limit-reached",
        kind="memcached",
        severity=Severity.CRITICAL,
        title="Connections were refused: the connection limit was reached",
        condition="max by (instance) ("
        f"increase(memcached_connections_listener_disabled_total{{$sel}}[{W}]) > 0 or "
        f"increase(memcached_connections_rejected_total{{$sel}}[{W}]) > 0)",
        evidence=(
            increase("rejected", "memcached_connections_rejected_total"),
            increase("listener disabled", "memcached_connections_listener_disabled_total"),
            number("connections", "memcached_current_connections"),
            number("limit (-c)", "memcached_max_connections"),
        ),
        why="Clients were refused (or waited while memcached stopped accepting): requests "
        "failed over to the backend.",
        fix="Find who holds the connections (`stats conns`), fix pool sizes, then raise -c.",
    ),
    Rule(
        id="memcached-connections-near-max",
        kind="memcached",
        severity=Severity.WARNING,
        title="{value} of the connections memcached accepts are in use",
        # memcached keeps `reserved_fds` of its -c for itself: clients get the rest
        condition="max by (instance) (memcached_current_connections{$sel}) / on (instance) "
        f"({USABLE_CONNECTIONS}) > {t.CLIENTS_NEAR_MAX}",
        unit=Unit.RATIO,
        evidence=(
            number("connections", "memcached_current_connections"),
            number("limit (-c)", "memcached_max_connections"),
            number("reserved for memcached itself", "cachewatch_memcached_reserved_fds"),
        ),
        why="At the limit memcached refuses new connections.",
        fix="Check client pools; raise -c (and the file descriptor limit) if the load is real.",
    ),
    Rule(
        id="memcached-items-too-large",
        kind="memcached",
        severity=Severity.WARNING,
        title="{value} items were refused as too large in the last 5 minutes",
        condition=f"sum by (instance) (increase(memcached_item_too_large_total{{$sel}}[{W}])) > 0",
        evidence=(
            increase("too large", "memcached_item_too_large_total"),
            number("item size limit (-I)", "cachewatch_memcached_item_size_max_bytes", Unit.BYTES),
        ),
        why="Every such set fails: the application recomputes the value on each request, "
        "and the backend takes that load.",
        fix="Compress or split the values, or raise the limit: `-I 2m` (bigger items waste "
        "more slab memory).",
    ),
    Rule(
        id="memcached-hash-table-expanded",
        kind="memcached",
        severity=Severity.INFO,
        title="The hash table grew in the last hour (now 2^{value} buckets)",
        condition="max by (instance) (cachewatch_memcached_hash_power_level{$sel}) and on "
        "(instance) (max by (instance) "
        "(delta(cachewatch_memcached_hash_power_level{$sel}[1h])) > 0 or max by (instance) "
        "(cachewatch_memcached_hash_expanding{$sel}) == 1)",
        evidence=(
            number("hash power", "cachewatch_memcached_hash_power_level"),
            number("expanding now", "cachewatch_memcached_hash_expanding", Unit.FLAG),
            number("items", "memcached_current_items"),
            number("hash table memory", "cachewatch_memcached_hash_bytes", Unit.BYTES),
        ),
        why="Expanding the hash table under load moves every item to a new table: lookups "
        "slow down while it runs, and it happens again at each doubling.",
        fix="Size it at start for the item count you expect: `-o hashpower=N` with 2^N about "
        "the item count (the current power is shown).",
    ),
    Rule(
        id="memcached-out-of-memory",
        kind="memcached",
        severity=Severity.CRITICAL,
        title="{value} stores failed for lack of memory in the last 5 minutes",
        condition=f"sum by (instance) (increase(memcached_item_no_memory_total{{$sel}}[{W}])) > 0",
        evidence=(
            increase("failed for memory", "memcached_item_no_memory_total"),
            number("evictions enabled", "cachewatch_memcached_evictions_enabled", Unit.FLAG),
            number("memory limit", "memcached_limit_bytes", Unit.BYTES),
        ),
        why="Sets fail with SERVER_ERROR out of memory: evictions are off (-M) or memcached "
        "found nothing to evict in the item's slab class.",
        fix="Drop -M for a cache (let it evict), or give it more memory (-m); with slab "
        "classes stuck, `-o slab_automove=1`.",
    ),
    Rule(
        id="memcached-evicting-hit-ratio-low",
        kind="memcached",
        severity=Severity.WARNING,
        title="Evicting {value} items/s while the hit ratio is below "
        f"{levels.HIT_RATIO_WARN:.0%}",
        condition=f"({EVICTIONS}) > {levels.EVICTIONS_WARN_PER_S} and on (instance) "
        f"(({HIT_RATIO}) < {levels.HIT_RATIO_WARN})",
        unit=Unit.PER_SECOND,
        evidence=(
            Evidence("evictions", EVICTIONS, Unit.PER_SECOND),
            Evidence("hit ratio", HIT_RATIO, Unit.RATIO),
            number("memory limit", "memcached_limit_bytes", Unit.BYTES),
        ),
        why="The working set does not fit: items are evicted before they are read again.",
        fix="More memory (-m) or more servers; shorter TTLs for what is rarely read.",
    ),
    Rule(
        id="memcached-connection-yields",
        kind="memcached",
        severity=Severity.INFO,
        title="Connections yield {value} times/s (reqs_per_event reached)",
        condition="sum by (instance) (rate(memcached_connections_yielded_total{$sel}"
        f"[{W}])) > {t.YIELDS_PER_S}",
        unit=Unit.PER_SECOND,
        evidence=(
            Evidence(
                "yields", f"rate(memcached_connections_yielded_total{{$sel}}[{W}])", Unit.PER_SECOND
            ),
            number("requests per event (-R)", "cachewatch_memcached_requests_per_event"),
        ),
        why="A connection that sends more than -R requests at once is put back in the queue: "
        "its pipelined requests wait a round each, adding latency.",
        fix="Raise -R (e.g. `-R 100`) for clients that pipeline large multi-gets.",
    ),
)
