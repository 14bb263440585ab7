"""Sentinel discovery from replies captured from real Redis 7.0 Sentinels: one Sentinel's
view, merging views by config epoch, the targets a set becomes, and the events a failover
records."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from collectors.redis_conn import ReplyError
from monitor.fleet import Fleet
from monitor.model import SampleBatch
from monitor.poller import TargetStatus
from monitor.secrets import Secret
from monitor.sentinel_discovery import (
    SentinelError,
    SentinelTopology,
    merge_views,
    sentinel_events,
    sentinel_targets,
    view_from_replies,
)
from monitor.targets import Target, parse_target_url
from tests.unit.redis_replies import reply

INFO_SERVER = (
    b"# Server\r\nredis_mode:sentinel\r\nrun_id:e1e8b977afb248a3dbe459d5498bd9acc5904b7c\r\n"
)
SEED = parse_target_url("redis+sentinel://127.0.0.1:27001/mymaster")


def view(
    masters: str = "masters",
    replicas: str = "replicas",
    peers: str = "sentinels",
    address: tuple[str, int] = ("127.0.0.1", 27001),
) -> SentinelTopology:
    return view_from_replies(
        address,
        INFO_SERVER,
        reply(f"sentinel7_{masters}"),
        {"mymaster": (reply(f"sentinel7_{replicas}"), reply(f"sentinel7_{peers}"))},
    )


def test_one_sentinels_view() -> None:
    topology = view()
    (master,) = topology.masters
    assert master.name == "mymaster"
    assert master.primary.address == "127.0.0.1:17001"
    assert [n.address for n in master.replicas] == ["127.0.0.1:17002", "127.0.0.1:17003"]
    assert {n.role for n in master.replicas} == {"replica"}
    # the answering Sentinel first, then the peers it knows
    assert [n.address for n in topology.sentinels] == [
        "127.0.0.1:27001",
        "127.0.0.1:27003",
        "127.0.0.1:27002",
    ]


def test_masters_not_asked_for_are_left_out() -> None:
    topology = view_from_replies(("127.0.0.1", 27001), INFO_SERVER, reply("sentinel7_masters"), {})
    assert topology.masters == ()


def test_an_error_for_a_master_names_it() -> None:
    with pytest.raises(SentinelError) as info:
        view_from_replies(
            ("127.0.0.1", 27001),
            INFO_SERVER,
            reply("sentinel7_masters"),
            {"mymaster": (ReplyError("NOPERM denied"), reply("sentinel7_sentinels"))},
        )
    assert "SENTINEL REPLICAS mymaster" in str(info.value)


def test_merge_trusts_the_highest_config_epoch() -> None:
    stale = view()  # epoch 0: primary 17001
    fresh = view(masters="masters_after_kill", address=("127.0.0.1", 27002))  # epoch 2: 17002
    for views in ([stale, fresh], [fresh, stale]):
        merged = merge_views(views)
        assert merged.masters[0].primary.address == "127.0.0.1:17002"
    # every Sentinel once, though each view lists the others
    merged = merge_views([stale, fresh])
    assert sorted(n.address for n in merged.sentinels) == [
        "127.0.0.1:27001",
        "127.0.0.1:27002",
        "127.0.0.1:27003",
    ]


def test_a_sentinel_known_by_another_name_is_polled_once() -> None:
    # reached by host name; its peers know it by IP, but its run id gives it away
    by_name = view_from_replies(
        ("localhost", 27003),
        b"run_id:b59c88bd6a76f8df7121c19e4c4a4a3329e3f714\r\n",
        reply("sentinel7_masters"),
        {"mymaster": (reply("sentinel7_replicas"), reply("sentinel7_sentinels"))},
    )
    merged = merge_views([by_name, view()])
    addresses = [n.address for n in merged.sentinels]
    assert "localhost:27003" in addresses and "127.0.0.1:27003" not in addresses


def test_targets_carry_labels_and_each_sides_credentials() -> None:
    assert SEED.sentinel is not None
    seed = replace(
        SEED,
        name="sessions",
        username="watch",
        password=Secret("sentinel-pw"),
        sentinel=replace(SEED.sentinel, data_username="app", data_password=Secret("data-pw")),
        labels=(("env", "prod"),),
    )
    targets = {t.instance: t for t in sentinel_targets(seed, view())}
    assert set(targets) == {
        "127.0.0.1:27001",
        "127.0.0.1:27002",
        "127.0.0.1:27003",
        "127.0.0.1:17001",
        "127.0.0.1:17002",
        "127.0.0.1:17003",
    }
    sentinel, primary = targets["127.0.0.1:27002"], targets["127.0.0.1:17001"]
    assert dict(sentinel.labels) == {"env": "prod", "role": "sentinel", "sentinel_set": "sessions"}
    assert dict(primary.labels) == {
        "env": "prod",
        "role": "primary",
        "sentinel_master": "mymaster",
        "sentinel_set": "sessions",
    }
    assert dict(targets["127.0.0.1:17003"].labels)["role"] == "replica"
    assert (sentinel.username, sentinel.password) == ("watch", Secret("sentinel-pw"))
    assert (primary.username, primary.password) == ("app", Secret("data-pw"))
    assert all(t.sentinel is None and not t.discover for t in targets.values())


def test_seed_sentinels_are_polled_before_any_answer() -> None:
    seed = parse_target_url("redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/m")
    targets = sentinel_targets(seed, None)
    assert [t.instance for t in targets] == ["10.0.0.1:26379", "10.0.0.2:26379"]
    assert {dict(t.labels)["sentinel_set"] for t in targets} == {"10.0.0.1:26379,10.0.0.2:26379"}


def test_failover_and_role_changes_become_events() -> None:
    before = view()
    after = view(masters="masters_after_kill", replicas="replicas_after_kill")
    events = sentinel_events("sessions", before, after, 1_000)
    summary = [
        (e.kind, dict(e.target_labels)["instance"], e.data["before"], e.data["after"])
        for e in events
    ]
    assert summary == [
        ("topology.failover", "127.0.0.1:17002", "127.0.0.1:17001", "127.0.0.1:17002"),
        ("topology.role_changed", "127.0.0.1:17001", "primary", "replica"),
        ("topology.role_changed", "127.0.0.1:17002", "replica", "primary"),
    ]
    assert all(e.data["sentinel_set"] == "sessions" for e in events)
    assert all(e.data["sentinel_master"] == "mymaster" for e in events)
    assert sentinel_events("sessions", before, before, 1_000) == []


def test_added_and_removed_nodes_become_events() -> None:
    full = view()
    fewer = replace(
        full,
        masters=(replace(full.masters[0], replicas=full.masters[0].replicas[:1]),),
        sentinels=full.sentinels[:2],
    )
    kinds = {
        (e.kind, dict(e.target_labels)["instance"]) for e in sentinel_events("s", full, fewer, 0)
    }
    assert kinds == {
        ("topology.node_removed", "127.0.0.1:17003"),
        ("topology.node_removed", "127.0.0.1:27002"),
    }
    kinds = {
        (e.kind, dict(e.target_labels)["instance"]) for e in sentinel_events("s", fewer, full, 0)
    }
    assert kinds == {
        ("topology.node_added", "127.0.0.1:17003"),
        ("topology.node_added", "127.0.0.1:27002"),
    }


class CannedSentinel:
    """A connection answering as the captured Sentinel did (seam: `Fleet(connect=...)`)."""

    def __init__(self, masters: str = "masters") -> None:
        self.masters = masters

    async def pipeline(self, commands: list[tuple[object, ...]]) -> list[object]:
        answers = {
            ("INFO", "server"): INFO_SERVER,
            ("SENTINEL", "MASTERS"): reply(f"sentinel7_{self.masters}"),
            ("SENTINEL", "REPLICAS", "mymaster"): reply("sentinel7_replicas"),
            ("SENTINEL", "SENTINELS", "mymaster"): reply("sentinel7_sentinels"),
        }
        return [answers[command] for command in commands]

    async def close(self) -> None:
        return None


def sentinel_poll(primary: str, replicas: float) -> SampleBatch:
    batch = SampleBatch(ts_ms=0, target_labels=())
    labels = (("master_address", primary), ("master_name", "mymaster"))
    batch.add("redis_sentinel_master_slaves", replicas, labels)
    return batch


def test_a_sentinel_reporting_a_new_primary_asks_for_a_refresh_once() -> None:
    async def connect(target: Target) -> CannedSentinel:
        return CannedSentinel()

    fleet = Fleet([SEED], make_collectors=lambda target: [], connect=connect)
    asyncio.run(fleet.start())
    assert len(fleet.pollers) == 6
    sentinel = fleet.pollers["redis://127.0.0.1:27002"]

    def polled(batch: SampleBatch) -> bool:
        sentinel.status = TargetStatus(sentinel.target, up=True, last_batch=batch)
        return fleet.wants_refresh(sentinel)

    assert not polled(sentinel_poll("127.0.0.1:17001", 2))  # agrees with discovery
    assert polled(sentinel_poll("127.0.0.1:17002", 2))  # a primary discovery has not seen
    assert not polled(sentinel_poll("127.0.0.1:17002", 2))  # the same stale view: once only
    assert polled(sentinel_poll("127.0.0.1:17002", 3))  # something new again
    assert not polled(sentinel_poll("127.0.0.1:17001", 2))  # back in agreement
    replica = fleet.pollers["redis://127.0.0.1:17002"]
    for failures, asks in ((1, True), (2, False)):  # a data node going down asks once
        replica.status = TargetStatus(replica.target, up=False, consecutive_failures=failures)
        assert fleet.wants_refresh(replica) is asks
