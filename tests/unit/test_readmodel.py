"""The read model over a fixed recorded fleet: grouping, derived numbers, detail tables,
the cluster view, alerts, and the import hygiene of the core."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from monitor.readmodel import (
    Health,
    SilenceUnsupported,
    Window,
    cluster_view,
    fleet_overview,
    target_detail,
)
from monitor.readmodel.info_sections import info_sections
from monitor.readmodel.queries import selector
from monitor.readmodel.remote import RemoteSource, topologies_from_states
from tests.tui.recorded import CLUSTER, NOW_MS, recorded_fleet


@pytest.fixture(scope="module")
def fleet():  # type: ignore[no-untyped-def]
    return recorded_fleet()


def test_overview_groups_by_cluster_then_shard_primary_first(fleet) -> None:  # type: ignore[no-untyped-def]
    rows = fleet_overview(fleet, NOW_MS)
    assert [(r.cluster, r.role, r.depth) for r in rows[:6]] == [
        (CLUSTER, "primary", 0),
        (CLUSTER, "replica", 1),
    ] * 3
    assert [r.shard for r in rows[:6:2]] == ["0-5460", "5461-10921", "10922-16383"]
    assert [r.kind for r in rows[6:]] == ["redis", "memcached"]  # standalone after clusters


def test_overview_numbers(fleet) -> None:  # type: ignore[no-untyped-def]
    rows = {r.instance: r for r in fleet_overview(fleet, NOW_MS)}
    first = rows["10.0.0.1:7000"]
    assert first.health is Health.UP and first.version == "7.0.15"
    assert first.hit_ratio == pytest.approx(0.9)
    assert first.memory_fraction == pytest.approx(0.5)
    assert first.clients == 10 and first.firing_alerts == 1
    assert first.ops_per_s is not None and 500 < first.ops_per_s < 1500
    # cachewatch's own 22 commands/s are taken out of ops and its 20 hits/s out of the ratio
    assert first.observer_ops_per_s == pytest.approx(22.0)
    assert first.p99_ms is not None and first.p99_ms > 0
    assert len(first.ops_trend) == 25 and not any(math.isnan(v) for v in first.ops_trend)
    replica = rows["10.0.0.1:7001"]
    assert replica.master_link_up is True and replica.replication_lag_s == 1.0
    assert replica.replication_lag_bytes == 500.0
    assert first.replication_lag_s == 1.0 and first.replication_lag_bytes == 500.0
    down = rows["10.1.0.1:6379"]
    assert down.health is Health.DOWN and down.last_error == "timeout after 0.4s"
    assert down.ops_per_s is None and down.memory_used is None
    memcached = rows["10.2.0.1:11211"]
    assert memcached.hit_ratio == pytest.approx(0.8)
    assert memcached.evictions_per_s == pytest.approx(12.0)
    # memory fill is the slab classes' memory (what memcached evicts by), not `bytes`
    assert memcached.memory_fraction == pytest.approx(30 / 64, rel=1e-3)


def test_overview_filter_words_and_labels(fleet) -> None:  # type: ignore[no-untyped-def]
    rows = fleet_overview(fleet, NOW_MS, with_trend=False)
    assert [r.instance for r in rows if r.matches("memcached")] == ["10.2.0.1:11211"]
    assert len([r for r in rows if r.matches("role=replica")]) == 3
    assert [r.instance for r in rows if r.matches("down")] == ["10.1.0.1:6379"]
    assert [r.instance for r in rows if r.matches("shard=0-5460 replica")] == ["10.0.0.1:7001"]


def test_redis_detail(fleet) -> None:  # type: ignore[no-untyped-def]
    detail = target_detail(fleet, "10.0.0.1:7001", Window.H1)
    assert detail is not None
    charts = {chart.key: chart for chart in detail.charts}
    ops = {line.name: line for line in charts["ops"].lines}
    assert set(ops) == {"get", "set", "del", "expire", "cachewatch"}
    assert ops["cachewatch"].last == pytest.approx(22.0)
    assert {line.name for line in charts["memory"].lines} == {"used", "rss", "maxmemory"}
    assert charts["hit_ratio"].lines[0].last == pytest.approx(0.8)
    assert [c.command for c in detail.commandstats] == ["get", "set", "del", "expire"]
    assert detail.commandstats[0].usec_per_call == pytest.approx(2.0)
    assert detail.keyspace[0].db == "db0" and detail.keyspace[0].avg_ttl_s == 3600
    assert detail.latency_events[0].event == "command"
    assert detail.latency_events[0].duration_ms == pytest.approx(12)
    assert [s.command for s in detail.slowlog] == ["keys"]
    assert detail.replication is not None and detail.replication.role == "replica"
    assert detail.replication.master == "10.0.0.1:7000" and detail.replication.link_up
    assert ("maxmemory_policy", "allkeys-lru") in detail.info["server"]
    assert detail.slabs == ()


def test_memcached_detail_has_slabs_with_eviction_rates(fleet) -> None:  # type: ignore[no-untyped-def]
    detail = target_detail(fleet, "10.2.0.1:11211", Window.M5, with_charts=False)
    assert detail is not None and detail.charts == ()
    assert [s.slab for s in detail.slabs] == ["1", "5", "12"]
    rates = {s.slab: s.evictions_per_s for s in detail.slabs}
    assert rates["5"] == pytest.approx(4.0) and rates["1"] == 0
    assert detail.commandstats == () and detail.replication is None


def test_detail_of_unknown_instance_is_none(fleet) -> None:  # type: ignore[no-untyped-def]
    assert target_detail(fleet, "nowhere:1", Window.M5) is None


def test_cluster_view(fleet) -> None:  # type: ignore[no-untyped-def]
    view = cluster_view(fleet)
    (cluster,) = view.clusters
    assert cluster.name == CLUSTER and cluster.slots_assigned == 16384
    assert [s.slot_count for s in cluster.shards] == [5461, 5461, 5462]
    assert all(s.nodes[0].role == "primary" for s in cluster.shards)
    assert cluster.hottest == "10.0.0.3:7005"  # the busiest node of the synthetic fleet
    assert all(s.healthy for s in cluster.shards)


def test_alerts_from_series_and_silence(fleet) -> None:  # type: ignore[no-untyped-def]
    (alert,) = fleet.alerts(NOW_MS)
    assert (alert.name, alert.state, alert.instance) == (
        "RedisHighMemory",
        "firing",
        "10.0.0.1:7000",
    )
    assert "alertstate" not in alert.labels


def test_topology_from_labels_for_attached_sources(fleet) -> None:  # type: ignore[no-untyped-def]
    topology = topologies_from_states(fleet.statuses())[CLUSTER]
    assert len(topology.nodes) == 6
    assert {n.role for n in topology.nodes} == {"primary", "replica"}


def test_remote_source_rejects_bad_url_and_cannot_silence() -> None:
    with pytest.raises(ValueError, match="--attach"):
        RemoteSource("ftp://x")
    with pytest.raises(SilenceUnsupported):
        RemoteSource("http://127.0.0.1:1").silence({"alertname": "x"}, 1000, "why")


def test_window_steps_and_rate_ranges() -> None:
    assert Window.parse("24h") is Window.H24
    assert Window.M5.step_ms == 1250 and Window.M5.rate_range(10.0) == "40s"
    assert Window.M5.rate_range(1.0) == "15s"
    assert Window.D7.rate_range(10.0) == f"{2 * Window.D7.step_ms // 1000}s"
    with pytest.raises(ValueError, match="5m, 1h, 24h, 7d"):
        Window.parse("2h")


def test_selector_escapes_quotes() -> None:
    assert selector('a"b\\c') == 'instance="a\\"b\\\\c"'


def test_info_sections_skip_labelled_series_and_keep_info_labels() -> None:
    class S:
        def __init__(self, labels: dict[str, str], value: float) -> None:
            self.labels, self.value = labels, value

    index = {
        "redis_memory_used_bytes": [S({"__name__": "redis_memory_used_bytes", "env": "p"}, 5.0)],
        "redis_commands_total": [S({"cmd": "get"}, 1.0)],
        "redis_instance_info": [S({"redis_version": "7.0", "role": "master"}, 1.0)],
    }
    sections = info_sections(index, frozenset({"env"}))
    assert sections["memory"] == [("memory_used_bytes", "5")]
    assert ("redis_version", "7.0") in sections["server"]
    assert "stats" not in sections


def test_core_never_imports_ui_libraries() -> None:
    code = (
        "import sys, monitor.readmodel, monitor.commands.tui\n"
        "bad = [m for m in ('textual', 'dash', 'plotly') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
