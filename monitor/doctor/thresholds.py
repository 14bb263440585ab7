"""The doctor's thresholds that are not colours (`monitor/readmodel/levels.py` holds those,
and the rules use them as they are). Where the default alert pack judges the same number,
the value here is the pack's own: `tests/unit/test_doctor_rules.py` reads the pack and
checks, so a finding and an alert never disagree about what is wrong."""

from __future__ import annotations

__all__ = [
    "CLIENTS_NEAR_MAX",
    "FRAGMENTATION_RATIO",
    "FRAGMENTATION_BYTES",
    "TIME_TO_FULL_S",
    "FILL_FOR_TIME_TO_FULL",
    "GROWTH_SHARE",
    "NO_TTL_SHARE",
    "NO_TTL_MIN_KEYS",
    "BIG_KEY_BYTES",
    "LISTPACK_ENTRIES",
    "LISTPACK_VALUE_BYTES",
    "INTSET_ENTRIES",
    "LUA_MEMORY_BYTES",
    "OUTPUT_BUFFER_SHARE",
    "IDLE_CLIENTS",
    "IDLE_SHARE",
    "RESYNCS_PER_HOUR",
    "UNFETCHED_SHARE",
    "SLAB_FREE_BYTES",
    "YIELDS_PER_S",
]

#: connected / maxclients; RedisConnectionsNearMaxclients and MemcachedConnectionsNearMax
CLIENTS_NEAR_MAX = 0.85
#: RedisMemoryFragmented: RSS / used above this, with more than FRAGMENTATION_BYTES at stake
FRAGMENTATION_RATIO = 1.5
FRAGMENTATION_BYTES = 100 * 1024 * 1024
#: RedisMemoryFullSoon: full within 4 h at the current growth, once half full
TIME_TO_FULL_S = 4 * 3600
FILL_FOR_TIME_TO_FULL = 0.5
#: ... and only once memory grew by a real amount in the window (1 % of maxmemory), so the
#: first seconds of history (a few new connections) do not extrapolate to "full soon"
GROWTH_SHARE = 0.01
#: a capped (cache) server where more than half the keys never expire
NO_TTL_SHARE = 0.5
NO_TTL_MIN_KEYS = 1000
#: one key this big blocks the server while it is read, written, deleted or migrated
BIG_KEY_BYTES = 10 * 1024 * 1024
#: compact encodings past 8x their defaults (512 entries, 64 bytes): every access scans
LISTPACK_ENTRIES = 4096
LISTPACK_VALUE_BYTES = 512
INTSET_ENTRIES = 4096
#: the issue's figure: Lua's heap past 3 MB means scripts are generated, not reused
LUA_MEMORY_BYTES = 3 * 1024 * 1024
#: a client's output buffer past half its class's hard limit is one burst from being cut
OUTPUT_BUFFER_SHARE = 0.5
#: idle clients (past `clients_idle_after`) that suggest a leaking pool
IDLE_CLIENTS = 50
IDLE_SHARE = 0.5
#: replica reconnections (full + partial resyncs) a primary may see in an hour
RESYNCS_PER_HOUR = 2
#: MemcachedEvictedUnfetchedHigh: of the evicted items, the share never read
UNFETCHED_SHARE = 0.5
#: free memory in other slab classes (chunks free times chunk size) worth moving: a page
SLAB_FREE_BYTES = 1024 * 1024
#: connections yielded per second (-R reqs_per_event reached)
YIELDS_PER_S = 1.0
