"""memcached `stats conns`: the open connections, summarised, on the slow schedule.

Never one series per connection (a busy server has thousands, and client ports churn):
counts by state and by transport, and the longest idle time. The poller's own connection
is counted too (it is in `conn_parse_cmd` or `conn_write` while asking).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from collectors.base import Tier
from collectors.memcached_values import (
    Catalog,
    StatsGroupCollector,
    emit,
    group_by_number,
    parse_number,
)
from monitor.model import MetricType, SampleBatch

__all__ = ["MemcachedConnsCollector", "add_conn_stats"]

_BY_STATE = "cachewatch_memcached_connections_by_state"
_BY_TRANSPORT = "cachewatch_memcached_client_connections_by_transport"
_IDLE_MAX = "cachewatch_memcached_client_idle_seconds_max"
# state and transport become label values, so only memcached's own short identifiers pass
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,39}")

CATALOG: Catalog = {
    _BY_STATE: (
        MetricType.GAUGE,
        "Open connections (listeners included) by state, from stats conns.",
    ),
    _BY_TRANSPORT: (
        MetricType.GAUGE,
        "Client connections by transport (tcp, udp, unix), from stats conns.",
    ),
    _IDLE_MAX: (MetricType.GAUGE, "Longest time any client connection has gone without a command."),
}


def add_conn_stats(pairs: Iterable[tuple[str, str]], out: SampleBatch) -> None:
    """Summarise `stats conns` pairs (`<fd>:addr`, `<fd>:state`, `<fd>:secs_since_last_cmd`).
    A connection whose state is not a plain identifier is left out of the counts; bad
    addresses and idle times are skipped."""
    by_fd, _ = group_by_number(pairs)
    states: Counter[str] = Counter()
    transports: Counter[str] = Counter()
    idle_max: float | None = None
    for fields in by_fd.values():
        state = fields.get("state", "").removeprefix("conn_")
        if _IDENTIFIER.fullmatch(state) is None:
            continue
        states[state] += 1
        if state == "listening":
            continue
        # a unix-socket client's own addr is "?:<AF 0>"; the listener it came in on says more
        address = fields.get("listen_addr") or fields.get("addr", "")
        transport = address.partition(":")[0]
        if _IDENTIFIER.fullmatch(transport) is not None:
            transports[transport] += 1
        idle = parse_number(fields.get("secs_since_last_cmd", ""))
        if idle is not None and (idle_max is None or idle > idle_max):
            idle_max = idle
    for state, count in sorted(states.items()):
        emit(out, CATALOG, _BY_STATE, count, (("state", state),))
    for transport, count in sorted(transports.items()):
        emit(out, CATALOG, _BY_TRANSPORT, count, (("transport", transport),))
    if idle_max is not None:
        emit(out, CATALOG, _IDLE_MAX, idle_max)


class MemcachedConnsCollector(StatsGroupCollector):
    """`stats conns`, on the slow schedule."""

    name = "memcached_conns"
    tier = Tier.SLOW
    metrics = CATALOG
    group = "conns"
    parse = staticmethod(add_conn_stats)
