"""The INFO browsers (TUI and web share `info_sections`) file every field under the section
the server itself reports it in: checked against live redis-server and valkey-server
`INFO ALL`, and memcached's stats and settings."""

from __future__ import annotations

import asyncio
import subprocess

from collectors.redis_info_names import FIELD_PLANS, IGNORED_FIELDS, generic_metric_name
from monitor.config import config_from_urls
from monitor.readmodel.info_sections import _short, info_sections
from monitor.readmodel.source import InstantSample
from monitor.runtime import poll_once
from tests.servers import LocalMemcached, LocalRedis

#: sections with structured values, which the browsers leave to their own tables
STRUCTURED = {"commandstats", "latencystats", "errorstats", "keyspace", "modules"}


def browsed(url: str) -> dict[str, list[tuple[str, str]]]:
    status = asyncio.run(poll_once(config_from_urls([url])))[0]
    batch = status.last_batch
    assert batch is not None, status.last_error
    index: dict[str, list[InstantSample]] = {}
    for name, labels, value in zip(batch.names, batch.labels, batch.values, strict=True):
        index.setdefault(name, []).append(InstantSample(dict(labels), value))
    return info_sections(index, frozenset(dict(batch.target_labels)))


def info_all(port: int) -> dict[str, str]:
    """numeric field -> section, as the server reports them (text fields such as
    maxmemory_policy are labels of info-style series, shown with the config)."""
    out = subprocess.run(
        ["redis-cli", "-p", str(port), "INFO", "ALL"], capture_output=True, text=True, check=True
    ).stdout
    section, found = "", {}
    for line in out.splitlines():
        if line.startswith("#"):
            section = line[1:].strip().lower()
        elif ":" in line and section not in STRUCTURED:
            field, value = line.strip().split(":", 1)
            try:
                float(value)
            except ValueError:
                continue
            found[field] = section
    return found


def test_redis_fields_sit_in_the_servers_own_sections(any_redis: LocalRedis) -> None:
    sections = browsed(any_redis.url)
    where = {key: section for section, rows in sections.items() for key, _ in rows}
    checked = 0
    for field, section in info_all(any_redis.port).items():
        if field in IGNORED_FIELDS:
            continue
        plan = FIELD_PLANS.get(field)
        key = _short(plan.metric if plan else generic_metric_name(field))
        if key in where:
            assert where[key] == section, f"{field} ({key}) is filed under {where[key]}"
            checked += 1
    assert checked > 100  # most of INFO is shown, not just a few fields


def test_memcached_stats_and_settings(memcached_server: LocalMemcached) -> None:
    """`stats` fields under stats (connections and bytes were filed under clients and
    memory by their names), `stats settings` under config."""
    keys = {
        section: {k for k, _ in rows} for section, rows in browsed(memcached_server.url).items()
    }
    assert {"current_connections", "connections_total", "read_bytes_total", "limit_bytes"} <= keys[
        "stats"
    ], keys
    assert {"max_connections", "item_size_max_bytes"} <= keys["config"], keys
