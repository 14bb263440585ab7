"""The Sentinel view and the overview's Sentinel grouping over a recorded Sentinel set
(`tests/tui/recorded.py`): masters grouped like cluster shards, what the Sentinels say, and
the set's failovers."""

from __future__ import annotations

from monitor.readmodel import Health, fleet_overview
from monitor.readmodel.sentinel import sentinel_group_key, sentinel_view
from tests.tui.recorded import NOW_MS, SENTINEL_SET, recorded_fleet, recorded_sentinel_set


def test_masters_are_grouped_like_shards_with_the_sentinels_beside_them() -> None:
    (summary,) = sentinel_view(recorded_sentinel_set(), NOW_MS).sets
    assert summary.name == SENTINEL_SET
    (master,) = summary.masters
    assert master.name == "cache"
    assert [(n.instance, n.role) for n in master.nodes] == [
        ("10.3.0.2:6379", "primary"),
        ("10.3.0.1:6379", "replica"),
        ("10.3.0.3:6379", "replica"),
    ]
    assert master.primary == "10.3.0.2:6379"
    assert (master.status, master.quorum_ok, master.agreed) == ("ok", True, True)
    assert not master.healthy  # the old primary, now a replica, is down
    assert [(s.instance, s.poll_health, s.tilt) for s in summary.sentinels] == [
        ("10.3.1.1:26379", Health.UP, False),
        ("10.3.1.2:26379", Health.UP, True),
        ("10.3.1.3:26379", Health.DOWN, None),
    ]
    assert summary.sentinels_down == 1
    assert [(c.kind, c.before, c.after) for c in summary.failovers] == [
        ("failover", "10.3.0.1:6379", "10.3.0.2:6379")
    ]
    assert {c.kind for c in summary.changes} == {"failover", "role changed"}


def test_disagreement_and_the_worst_status_count() -> None:
    # the second Sentinel still names the old primary, and sees it down
    (summary,) = sentinel_view(recorded_sentinel_set(disagreeing=True), NOW_MS).sets
    (master,) = summary.masters
    assert master.named_primaries == ("10.3.0.1:6379", "10.3.0.2:6379")
    assert not master.agreed
    assert master.status == "sdown"


def test_no_sentinel_set_means_an_empty_view() -> None:
    assert sentinel_view(recorded_fleet(), NOW_MS).sets == ()


def test_overview_groups_a_set_like_a_cluster() -> None:
    rows = fleet_overview(recorded_sentinel_set(), NOW_MS)
    assert [(r.instance, r.role, r.depth) for r in rows] == [
        ("10.3.0.2:6379", "primary", 0),
        ("10.3.0.1:6379", "replica", 1),
        ("10.3.0.3:6379", "replica", 1),
        ("10.3.1.1:26379", "sentinel", 0),
        ("10.3.1.2:26379", "sentinel", 0),
        ("10.3.1.3:26379", "sentinel", 0),
    ]
    assert {sentinel_group_key(dict(r.labels)) for r in rows} == {
        (SENTINEL_SET, "cache"),
        (SENTINEL_SET, ""),
    }
    assert sentinel_group_key({"cluster": "c", "shard": "0-1"}) is None
