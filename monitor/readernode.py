"""A reader node: `serve` or `tui` with `[store] backend = "prometheus"` and no targets.

In a sharded fleet the shards (`cachewatch export --shard i/n`) poll and a Prometheus
scrapes them; the dashboard node needs no targets of its own. It runs the engine without a
poller (queries and alert rules read the upstream through the store), lists the targets
from the upstream (`monitor/readmodel/upstream.py`) and sends nothing to any cache server:
no poller, no hot-key detector, no doctor and its namespace sampler, no `/scrape`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from monitor.config import Config

if TYPE_CHECKING:  # the read model loads the query engine: not for every command's start
    from monitor.readmodel.upstream import UpstreamTargets, UpstreamView

__all__ = ["is_reader", "open_upstream", "announcement", "REFRESH_S"]

#: how often the target list is read again (targets come and go as shards do)
REFRESH_S = 5.0


def is_reader(config: Config) -> bool:
    return config.store.backend == "prometheus" and bool(config.store.url) and not config.targets


def open_upstream(config: Config, refresh_s: float = REFRESH_S) -> UpstreamTargets:
    """The target list of `config`'s upstream (a ValueError for a URL that is not one)."""
    from monitor.readmodel.upstream import UpstreamTargets
    from monitor.store.remote import PrometheusReader

    assert config.store.url is not None, "is_reader(config) first"
    reader = PrometheusReader(config.store.url)
    return UpstreamTargets(reader, reader.describe, refresh_s)


def announcement(upstream: UpstreamTargets, view: UpstreamView) -> str:
    """The startup line: what this process is, and what the upstream said first."""
    head = (
        f"cachewatch: a reader of {upstream.describe}: no targets of its own, it polls "
        "nothing and sends nothing to cache servers"
    )
    if view.error is not None:
        again = f"asked again whenever a view looks, at most every {REFRESH_S:g}s"
        return f"{head}; {view.error} ({again})"
    up = sum(1 for t in view.targets if t.health.value == "up")
    return f"{head}; {len(view.targets)} target(s) listed there, {up} up"


def open_announced(config: Config, stream: TextIO) -> UpstreamTargets | None:
    """A reader's upstream, with what it said on its first look (reachable or not) written
    to `stream`; None when `config` is not a reader's. ValueError for a bad upstream."""
    if not is_reader(config):
        return None
    upstream = open_upstream(config)
    print(announcement(upstream, upstream.refresh()), file=stream, flush=True)
    return upstream
