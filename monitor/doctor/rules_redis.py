"""Diagnosis rules for Redis and Valkey (one protocol, one set of metric names).

Every traffic and memory figure is a `monitor/readmodel/definitions.py` definition and every
threshold a `levels.py` or `thresholds.py` constant, rendered here, never written again.
Conditions return one sample per finding with `instance` (and the rule's `keys`).
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.doctor import thresholds as t
from monitor.doctor.model import Evidence, Rule, Severity, Unit
from monitor.doctor.versions import defects_of, server_and_version
from monitor.evictions import expressions as x
from monitor.readmodel import definitions as d
from monitor.readmodel import levels
from monitor.readmodel import queries as q

__all__ = ["REDIS_RULES"]

#: the doctor's rate window (the pack's, for the figures they share)
W = "5m"


def by_instance(template: str, window: str = W) -> str:
    """A definition rendered per instance, keeping the `$sel` hole for the finding's target."""
    return d.render(template, "instance", "$sel", window)


USED = by_instance(d.REDIS_MEMORY_USED)
MAX = by_instance(d.REDIS_MEMORY_MAX)
HIT_RATIO = by_instance(d.REDIS_HIT_RATIO)
EVICTIONS = by_instance(x.REDIS_EVICTIONS_RATE)
TIME_TO_FULL = by_instance(x.REDIS_MEMORY_SECONDS_TO_FULL, "30m")
POLICY = by_instance(x.REDIS_MAXMEMORY_POLICY)
EVICTING_POLICY = 'redis_instance_info{maxmemory_policy!="noeviction", $sel}'


def config(key: str) -> Evidence:
    """The setting as CONFIG GET read it (its value is the `value` label)."""
    return Evidence(key, f'redis_config_key_value{{key="{key}", $sel}}', label="value")


def number(name: str, metric: str, unit: Unit = Unit.NUMBER) -> Evidence:
    return Evidence(name, f"{metric}{{$sel}}", unit)


MEMORY_EVIDENCE = (
    Evidence("used memory", USED, Unit.BYTES),
    Evidence("maxmemory", MAX, Unit.BYTES),
)
#: bind addresses that only this host reaches (127.0.0.0/8, ::1, localhost; `-` = optional)
LOOPBACK_ONLY = "( *-?(127[.][0-9.]+|::1|localhost))+ *"


def _version_check(labels: Mapping[str, str]) -> str | None:
    server, version = server_and_version(labels)
    found = defects_of(server, version)
    if not found:
        return None
    return f"{server} {version}: " + "; ".join(defect.name for defect in found)


REDIS_RULES: tuple[Rule, ...] = (
    Rule(
        id="redis-no-maxmemory",
        kind="redis",
        severity=Severity.WARNING,
        title="No maxmemory: {value} used and nothing caps it",
        condition=f"{USED} and on (instance) ({MAX} == 0)",
        unit=Unit.BYTES,
        evidence=(
            *MEMORY_EVIDENCE,
            number("host memory", "redis_total_system_memory_bytes", Unit.BYTES),
            Evidence("maxmemory-policy", POLICY, label="maxmemory_policy"),
        ),
        why="Without a limit the data set grows until the host runs out of memory and the "
        "kernel kills the server (every key lost, every client dropped); a cache never "
        "evicts, it only grows.",
        fix="Set a limit below the host's memory and an eviction policy, in redis.conf and "
        "live: `maxmemory 4gb` + `maxmemory-policy allkeys-lru` (CONFIG SET maxmemory 4gb; "
        "CONFIG SET maxmemory-policy allkeys-lru).",
    ),
    Rule(
        id="redis-noeviction-near-full",
        kind="redis",
        severity=Severity.CRITICAL,
        title="At {value} of maxmemory with maxmemory-policy noeviction: writes will fail",
        condition=f"({USED}) / ({MAX} > 0) > {levels.MEMORY_WARN} and on (instance) "
        'redis_instance_info{maxmemory_policy="noeviction", $sel}',
        unit=Unit.RATIO,
        evidence=(*MEMORY_EVIDENCE, Evidence("maxmemory-policy", POLICY, label="maxmemory_policy")),
        why="With noeviction, every write that needs memory fails with an OOM error once "
        "used memory reaches maxmemory: for a cache that is an outage.",
        fix="For a cache: `maxmemory-policy allkeys-lru` (or allkeys-lfu). For data that "
        "must stay: raise maxmemory or shard, and find what grows (cachewatch doctor's "
        "namespaces).",
    ),
    Rule(
        id="redis-evicting-hit-ratio-low",
        kind="redis",
        severity=Severity.WARNING,
        title=f"Evicting {{value}} keys/s while the hit ratio is below {levels.HIT_RATIO_WARN:.0%}",
        condition=f"({EVICTIONS}) > {levels.EVICTIONS_WARN_PER_S} and on (instance) "
        f"(({HIT_RATIO}) < {levels.HIT_RATIO_WARN})",
        unit=Unit.PER_SECOND,
        evidence=(
            Evidence("evictions", EVICTIONS, Unit.PER_SECOND),
            Evidence("hit ratio", HIT_RATIO, Unit.RATIO),
            *MEMORY_EVIDENCE,
        ),
        why="The working set no longer fits: keys are evicted before they are read again, "
        "so lookups miss and the backend takes the load.",
        fix="Give the cache more memory (maxmemory, or more shards), shorten TTLs of what is "
        "rarely read (see the namespaces), or try `maxmemory-policy allkeys-lfu`.",
    ),
    Rule(
        id="redis-memory-full-soon",
        kind="redis",
        severity=Severity.WARNING,
        title="Memory reaches maxmemory in {value} at the current growth",
        condition=f"({TIME_TO_FULL}) < {t.TIME_TO_FULL_S} and on (instance) "
        f"(({USED}) / ({MAX} > 0) > {t.FILL_FOR_TIME_TO_FULL}) and on (instance) "
        "(sum by (instance) (delta(redis_memory_used_bytes{$sel}[30m])) > "
        f"{t.GROWTH_SHARE} * ({MAX}))",
        unit=Unit.SECONDS,
        evidence=(
            *MEMORY_EVIDENCE,
            Evidence(
                "growth per second",
                by_instance("sum by ($by) (deriv(redis_memory_used_bytes{$sel}[$w]))", "30m"),
                Unit.BYTES,
            ),
            Evidence("maxmemory-policy", POLICY, label="maxmemory_policy"),
        ),
        why="At maxmemory the server evicts (the hit ratio falls) or, with noeviction, "
        "refuses writes.",
        fix="Find the namespace that grows (doctor's namespaces, 'grew since yesterday') and "
        "its TTLs; raise maxmemory if the growth is expected.",
    ),
    Rule(
        id="redis-fragmentation",
        kind="redis",
        severity=Severity.WARNING,
        title="Fragmentation ratio {value} with active defragmentation off",
        condition=f"max by (instance) (redis_mem_fragmentation_ratio{{$sel}}) > "
        f"{t.FRAGMENTATION_RATIO} and on (instance) "
        f"(max by (instance) (redis_mem_fragmentation_bytes{{$sel}}) > {t.FRAGMENTATION_BYTES})"
        ' unless on (instance) redis_config_key_value{key="activedefrag", value="yes", $sel}',
        evidence=(
            number("fragmentation ratio", "redis_mem_fragmentation_ratio"),
            number("memory at stake (RSS - used)", "redis_mem_fragmentation_bytes", Unit.BYTES),
            number("RSS", "redis_memory_used_rss_bytes", Unit.BYTES),
            config("activedefrag"),
        ),
        why="The process holds much more memory (RSS) than its data: the host can run out of "
        "memory while maxmemory looks far away.",
        fix="`activedefrag yes` (CONFIG SET activedefrag yes; needs the bundled jemalloc), "
        "or restart a replica and fail over to it in a quiet hour.",
    ),
    Rule(
        id="redis-persistence-on-cache",
        kind="redis",
        severity=Severity.WARNING,
        title="Persistence (RDB/AOF) is on although the server evicts like a cache",
        condition=f"group by (instance) ({EVICTING_POLICY}) and on (instance) "
        '(max by (instance) (redis_config_key_value{key="save", value!="", $sel}) or '
        'max by (instance) (redis_config_key_value{key="appendonly", value="yes", $sel}))',
        unit=Unit.FLAG,
        evidence=(
            config("save"),
            config("appendonly"),
            number("latest fork took", "redis_latest_fork_seconds", Unit.SECONDS),
            number("copy-on-write of the last save", "redis_rdb_last_cow_size_bytes", Unit.BYTES),
            Evidence("maxmemory-policy", POLICY, label="maxmemory_policy"),
        ),
        why="Every save forks the server: the fork stalls it (latest_fork_usec) and "
        "copy-on-write can double its memory, for data a cache can rebuild from its source.",
        fix='On a pure cache: `save ""` and `appendonly no` (CONFIG SET save ""; CONFIG '
        "SET appendonly no). Keep persistence where keys cannot be rebuilt (sessions).",
    ),
    Rule(
        id="redis-replica-link-down",
        kind="redis",
        severity=Severity.CRITICAL,
        title="Replica has no link to its primary {master_host}:{master_port}",
        condition="min by (instance, master_host, master_port) (redis_master_link_up{$sel}) == 0",
        keys=("master_host", "master_port"),
        evidence=(
            number("link up", "redis_master_link_up", Unit.FLAG),
            number("last I/O with the primary", "redis_master_last_io_seconds_ago", Unit.SECONDS),
        ),
        why="The replica serves stale data and cannot take over cleanly if the primary fails.",
        fix="Check that the primary is up and reachable from the replica, `masterauth`, and the "
        "replica's log for failed full syncs (client-output-buffer-limit replica).",
    ),
    Rule(
        id="redis-replica-lagging",
        kind="redis",
        severity=Severity.WARNING,
        title="Replica {slave_ip}:{slave_port} last acknowledged {value} ago",
        condition=f"max by (instance, slave_ip, slave_port) ({q.REPLICA_ACK_AGE}{{$sel}}) "
        f"> {levels.LAG_WARN_S}",
        unit=Unit.SECONDS,
        keys=("slave_ip", "slave_port"),
        evidence=(
            Evidence("acknowledged", f"{q.REPLICA_ACK_AGE}{{$sel}}", Unit.SECONDS),
            Evidence("replica offset", f"{q.REPLICA_OFFSET}{{$sel}}", Unit.BYTES),
            Evidence("primary offset", f"{q.PRIMARY_OFFSET}{{$sel}}", Unit.BYTES),
        ),
        why="Reads from a lagging replica are stale, and a failover to it loses the writes "
        "it has not received.",
        fix="Check the replica's load (slowlog, CPU), the network to it, and the primary's "
        "write rate; `repl-diskless-sync yes` shortens full syncs.",
    ),
    Rule(
        id="redis-replication-resyncs",
        kind="redis",
        severity=Severity.WARNING,
        title="Replicas resynchronised {value} times in the last hour",
        condition="sum by (instance) (increase(redis_replica_resyncs_full{$sel}[1h]) + "
        "increase(redis_replica_partial_resync_accepted{$sel}[1h])) "
        f"> {t.RESYNCS_PER_HOUR}",
        evidence=(
            Evidence("full resyncs (1h)", "increase(redis_replica_resyncs_full{$sel}[1h])"),
            Evidence(
                "partial resyncs (1h)", "increase(redis_replica_partial_resync_accepted{$sel}[1h])"
            ),
            config("repl-backlog-size"),
            number("connected replicas", "redis_connected_slaves"),
        ),
        why="A replica that keeps reconnecting has a flapping link: each full resync forks "
        "the primary and ships the whole data set.",
        fix="Check the network and `repl-timeout`; raise `repl-backlog-size` (e.g. 256mb) so "
        "reconnections stay partial, and client-output-buffer-limit replica.",
    ),
    Rule(
        id="redis-cluster-primary-without-replica",
        kind="redis",
        severity=Severity.WARNING,
        title="Cluster primary without a replica",
        # a replica reports a link to its primary; the role label is the target's own
        # (`primary`/`replica`) on discovered cluster nodes, so it is not used here
        condition="max by (instance) (redis_cluster_enabled{$sel}) == 1 and on (instance) "
        "(max by (instance) (redis_connected_slaves{$sel}) == 0) "
        "unless on (instance) redis_master_link_up{$sel}",
        unit=Unit.FLAG,
        evidence=(
            number("connected replicas", "redis_connected_slaves"),
            number("cluster mode", "redis_cluster_enabled", Unit.FLAG),
        ),
        why="If this node fails, its hash slots have no one to take over: that part of the "
        "keyspace fails (and with cluster-require-full-coverage, the whole cluster).",
        fix="Add a replica: start a node and `CLUSTER REPLICATE <this node's id>` on it (or "
        "`redis-cli --cluster add-node NEW:PORT THIS:PORT --cluster-slave`).",
    ),
    Rule(
        id="redis-connections-near-maxclients",
        kind="redis",
        severity=Severity.WARNING,
        title="{value} of maxclients in use",
        condition="max by (instance) (redis_connected_clients{$sel}) / on (instance) "
        f"max by (instance) (redis_config_maxclients{{$sel}}) > {t.CLIENTS_NEAR_MAX}",
        unit=Unit.RATIO,
        evidence=(
            number("connected clients", "redis_connected_clients"),
            number("maxclients", "redis_config_maxclients"),
            Evidence("by client name", "cachewatch_clients_by_name{$sel}", label="client_name"),
        ),
        why="At maxclients new connections are refused: an application that opens one more "
        "pool fails.",
        fix="See which clients hold the connections (the Clients view, by name and address) "
        "and fix pool sizes or leaks before raising `maxclients`.",
    ),
    Rule(
        id="redis-rejected-connections",
        kind="redis",
        severity=Severity.CRITICAL,
        title="{value} connections rejected in the last 5 minutes",
        condition=f"sum by (instance) (increase(redis_rejected_connections_total{{$sel}}[{W}]))"
        " > 0",
        evidence=(
            Evidence("rejected (5m)", f"increase(redis_rejected_connections_total{{$sel}}[{W}])"),
            number("connected clients", "redis_connected_clients"),
            number("maxclients", "redis_config_maxclients"),
        ),
        why="Clients were refused a connection: requests failed.",
        fix="Find who holds the connections (the Clients view), fix the leak or pool size; "
        "then raise `maxclients` (and the file descriptor limit) if the load is real.",
    ),
    Rule(
        id="redis-output-buffer-near-limit",
        kind="redis",
        severity=Severity.WARNING,
        title="A {class} client's output buffer is at {value} of its hard limit",
        condition="max by (instance, class) (cachewatch_clients_output_buffer_max_bytes{$sel})"
        " / on (instance, class) (max by (instance, class) "
        '(cachewatch_redis_config_client_output_buffer_limit_bytes{limit="hard", $sel}) > 0)'
        f" > {t.OUTPUT_BUFFER_SHARE}",
        unit=Unit.RATIO,
        keys=("class",),
        evidence=(
            Evidence(
                "largest output buffer",
                "cachewatch_clients_output_buffer_max_bytes{$sel}",
                Unit.BYTES,
            ),
            Evidence(
                "hard limit",
                'cachewatch_redis_config_client_output_buffer_limit_bytes{limit="hard", $sel}',
                Unit.BYTES,
            ),
            config("client-output-buffer-limit"),
        ),
        why="A client that reads slower than the server writes is disconnected at the hard "
        "limit (a replica then resyncs from scratch; a subscriber loses messages), and its "
        "buffer is memory the data set cannot use.",
        fix="Make the consumer keep up (pub/sub: more subscribers; replica: bandwidth), or "
        "raise the class's limit: `client-output-buffer-limit pubsub 64mb 16mb 60`.",
    ),
    Rule(
        id="redis-keys-without-ttl",
        kind="redis",
        severity=Severity.WARNING,
        title="{value} of the keys never expire on a memory-capped server",
        condition="(1 - sum by (instance) (redis_db_keys_expiring{$sel}) / "
        f"(sum by (instance) (redis_db_keys{{$sel}}) >= {t.NO_TTL_MIN_KEYS})) > {t.NO_TTL_SHARE}"
        f" and on (instance) ({MAX} > 0)",
        unit=Unit.RATIO,
        evidence=(
            number("keys", "redis_db_keys"),
            number("keys with a TTL", "redis_db_keys_expiring"),
            Evidence("maxmemory-policy", POLICY, label="maxmemory_policy"),
        ),
        why="Keys without a TTL live until they are evicted: stale data stays, and with a "
        "volatile-* policy they can never be evicted at all, so the server fills up.",
        fix="Give cached values a TTL (SET key value EX 3600); see which namespaces hold the "
        "keys without one (doctor's namespaces, TTL columns).",
    ),
    Rule(
        id="redis-big-key",
        kind="redis",
        severity=Severity.WARNING,
        title="A key of {pattern} uses {value}",
        condition="max by (instance, pattern) (cachewatch_namespace_largest_key_bytes{$sel}) "
        f"> {t.BIG_KEY_BYTES}",
        unit=Unit.BYTES,
        keys=("pattern",),
        evidence=(
            Evidence(
                "largest key sampled", "cachewatch_namespace_largest_key_bytes{$sel}", Unit.BYTES
            ),
            Evidence("keys of the pattern", "cachewatch_namespace_keys{$sel}"),
        ),
        why="Reading, writing, deleting or migrating one big key blocks the server for "
        "milliseconds to seconds, and its bandwidth saturates the network.",
        fix="Split the value (hash buckets, chunks), delete big keys with UNLINK, and look at "
        "the pattern's writer.",
    ),
    Rule(
        id="redis-compact-encoding-thresholds",
        kind="redis",
        severity=Severity.INFO,
        title="{key} is {value}: compact encodings that large are scanned on every access",
        condition="max by (instance, key) ("
        f'redis_config_value{{key=~"(hash|zset)-max-listpack-entries", $sel}} > '
        f"{t.LISTPACK_ENTRIES} or "
        f'redis_config_value{{key=~"(hash|zset)-max-listpack-value", $sel}} > '
        f"{t.LISTPACK_VALUE_BYTES} or "
        f'redis_config_value{{key="set-max-intset-entries", $sel}} > {t.INTSET_ENTRIES})',
        keys=("key",),
        evidence=(
            Evidence("setting", 'redis_config_value{key=~".*-max-(listpack|intset)-.*", $sel}'),
        ),
        why="Listpacks and intsets save memory but are searched linearly: past a few "
        "thousand entries every HGET, ZADD or SISMEMBER on such a key costs O(N) CPU.",
        fix="Go back towards the defaults (`hash-max-listpack-entries 512`, "
        "`zset-max-listpack-entries 128`, `set-max-intset-entries 512`) and measure.",
    ),
    Rule(
        id="redis-lua-memory",
        kind="redis",
        severity=Severity.WARNING,
        title="Lua holds {value}: scripts are generated, not reused",
        condition=f"max by (instance) (redis_memory_used_lua_bytes{{$sel}}) > {t.LUA_MEMORY_BYTES}",
        unit=Unit.BYTES,
        evidence=(
            number("Lua memory", "redis_memory_used_lua_bytes", Unit.BYTES),
            number("cached scripts", "redis_number_of_cached_scripts"),
        ),
        why="Scripts are cached forever (until SCRIPT FLUSH): an application that builds "
        "script text with values inside creates a new script per call and grows this "
        "memory without bound.",
        fix="Pass values as KEYS/ARGV to one fixed script and call it with EVALSHA; then "
        "`SCRIPT FLUSH` once in a quiet moment.",
    ),
    Rule(
        id="redis-several-databases",
        kind="redis",
        severity=Severity.INFO,
        title="{value} logical databases hold keys",
        condition="count by (instance) (redis_db_keys{$sel} > 0) > 1",
        evidence=(Evidence("keys per database", "redis_db_keys{$sel}"),),
        why="Databases share one thread, one memory limit and one eviction pool: one "
        "application's load or keys hurt the others, and Redis Cluster has only db 0.",
        fix="Give each application its own instance (or key prefix in one database).",
    ),
    Rule(
        id="redis-open-access",
        kind="redis",
        severity=Severity.CRITICAL,
        title="Anyone who reaches {bind_addresses} can read and write: no password, "
        "protected mode off",
        condition="max by (instance, bind_addresses) (label_replace("
        f'redis_config_key_value{{key="bind", value!~"{LOOPBACK_ONLY}", $sel}},'
        ' "bind_addresses", "$$1", "value", "(.*)")) and on (instance) '
        "(max by (instance) (cachewatch_redis_unauthenticated_access{$sel}) == 1) "
        'and on (instance) redis_config_key_value{key="protected-mode", value="no", $sel}',
        keys=("bind_addresses",),
        unit=Unit.FLAG,
        evidence=(
            number("readable without AUTH", "cachewatch_redis_unauthenticated_access", Unit.FLAG),
            config("protected-mode"),
            config("bind"),
        ),
        why="The default user needs no password and the server listens beyond loopback with "
        "protected mode off: anyone on the network can read, write or wipe the data, or "
        "use CONFIG to take over the host.",
        fix="`requirepass` (or an ACL: `ACL SETUSER default on >strong-password`), bind only "
        "the interfaces clients use, and `protected-mode yes`.",
    ),
    Rule(
        id="redis-latency-monitor-off",
        kind="redis",
        severity=Severity.INFO,
        title="The latency monitor is off (latency-monitor-threshold 0)",
        condition="max by (instance) "
        "(cachewatch_redis_config_latency_monitor_threshold_seconds{$sel}) == 0",
        unit=Unit.FLAG,
        evidence=(
            number(
                "latency-monitor-threshold",
                "cachewatch_redis_config_latency_monitor_threshold_seconds",
                Unit.SECONDS,
            ),
        ),
        why="Without it LATENCY LATEST/HISTORY and LATENCY DOCTOR record nothing: forks, "
        "expiry cycles and slow commands leave no trace.",
        fix="`latency-monitor-threshold 100` (milliseconds; CONFIG SET "
        "latency-monitor-threshold 100).",
    ),
    Rule(
        id="redis-slowlog-disabled",
        kind="redis",
        severity=Severity.INFO,
        title="The slowlog is off",
        condition="max by (instance) ("
        "cachewatch_redis_config_slowlog_log_slower_than_usec{$sel} < 0 or "
        "cachewatch_redis_config_slowlog_max_len{$sel} == 0)",
        unit=Unit.FLAG,
        evidence=(
            number(
                "slowlog-log-slower-than (µs)",
                "cachewatch_redis_config_slowlog_log_slower_than_usec",
            ),
            number("slowlog-max-len", "cachewatch_redis_config_slowlog_max_len"),
        ),
        why="Slow commands (KEYS, big HGETALLs) are the first thing to look at when latency "
        "spikes; with the slowlog off nothing records them.",
        fix="`slowlog-log-slower-than 10000` and `slowlog-max-len 128`.",
    ),
    Rule(
        id="redis-version-known-defects",
        kind="redis",
        severity=Severity.WARNING,
        title="This server version has known security defects",
        condition="max by (instance, redis_version, valkey_version) (redis_instance_info{$sel})",
        keys=("redis_version", "valkey_version"),
        unit=Unit.FLAG,
        check=_version_check,
        evidence=(
            Evidence("version", "redis_instance_info{$sel}", label="valkey_version|redis_version"),
        ),
        why="Public advisories name defects fixed in later releases of this line; scripts "
        "(EVAL) from any client that may run them can crash the server or worse.",
        fix="Upgrade to the release that carries the fixes (named above), or restrict EVAL/"
        "EVALSHA/FUNCTION with ACLs meanwhile. Distributions backport fixes without "
        "changing the version: check your package's changelog first.",
        see_also="redis: github.com/redis/redis/releases; valkey: "
        "github.com/valkey-io/valkey/releases",
    ),
    Rule(
        id="redis-idle-clients",
        kind="redis",
        severity=Severity.WARNING,
        title="{value} clients idle and the server never closes them",
        condition="max by (instance) (cachewatch_clients_idle{$sel}) >= "
        f"{t.IDLE_CLIENTS} and on (instance) (max by (instance) "
        "(cachewatch_clients_idle{$sel}) / max by (instance) "
        f"(cachewatch_clients_listed{{$sel}}) > {t.IDLE_SHARE}) and on (instance) "
        '(max by (instance) (redis_config_value{key="timeout", $sel}) == 0)',
        evidence=(
            number("idle clients", "cachewatch_clients_idle"),
            number("connected clients", "cachewatch_clients_listed"),
            Evidence(
                "idle, by client name", "cachewatch_clients_idle_by_name{$sel}", label="client_name"
            ),
            config("timeout"),
        ),
        why="Most connections do nothing: a pool that opens connections and never reuses or "
        "closes them; each holds memory and a file descriptor until maxclients is hit.",
        fix="Fix the pool of the names listed (max idle, idle timeout); `timeout 300` makes "
        "the server close connections idle for 5 minutes.",
    ),
    Rule(
        id="redis-persistence-failing",
        kind="redis",
        severity=Severity.CRITICAL,
        title="The last save failed",
        condition="min by (instance) (redis_rdb_last_bgsave_status{$sel} or "
        "redis_aof_last_write_status{$sel}) == 0",
        unit=Unit.FLAG,
        evidence=(
            number("last RDB save ok", "redis_rdb_last_bgsave_status", Unit.FLAG),
            number("last AOF write ok", "redis_aof_last_write_status", Unit.FLAG),
            number("changes since the last save", "redis_rdb_changes_since_last_save"),
        ),
        why="Nothing is being persisted, and with `stop-writes-on-bgsave-error yes` (the "
        "default) the server refuses every write until a save succeeds.",
        fix="Read the server log for the reason (disk full, permissions of `dir`, fork "
        "failing for memory: `vm.overcommit_memory = 1`).",
    ),
    Rule(
        id="redis-maxmemory-above-host",
        kind="redis",
        severity=Severity.WARNING,
        title="maxmemory {value} is more than the host has",
        condition=f"{MAX} > on (instance) (max by (instance) "
        "(redis_total_system_memory_bytes{$sel}) > 0)",
        unit=Unit.BYTES,
        evidence=(
            *MEMORY_EVIDENCE,
            number("host memory", "redis_total_system_memory_bytes", Unit.BYTES),
        ),
        why="The limit can never be reached: the host runs out of memory first and the kernel "
        "kills the server instead of Redis evicting.",
        fix="Set maxmemory to at most about three quarters of the host's (or container's) "
        "memory: `CONFIG SET maxmemory 12gb`.",
    ),
    Rule(
        id="redis-writable-replica",
        kind="redis",
        severity=Severity.WARNING,
        title="Replica accepts writes (replica-read-only no)",
        condition="group by (instance) (redis_master_link_up{$sel}) and on (instance) "
        'redis_config_key_value{key="replica-read-only", value="no", $sel}',
        unit=Unit.FLAG,
        evidence=(
            config("replica-read-only"),
            Evidence("primary", "redis_master_link_up{$sel}", label="master_host"),
        ),
        why="Writes to a replica are lost at the next resync and make it disagree with its "
        "primary; clients that write to it by mistake see no error.",
        fix="`replica-read-only yes` (CONFIG SET replica-read-only yes).",
    ),
)
