"""A Sentinel's replies → `redis_sentinel_*` samples, from replies captured from a real Redis
7.0 Sentinel: healthy, mid-failover, after its primary was killed, with a peer Sentinel down
and without quorum."""

from __future__ import annotations

import pytest

from collectors.redis_info import parse_info
from collectors.redis_reply import ReplyFormatError
from collectors.redis_sentinel import add_sentinel_samples, parse_sentinel_table
from tests.unit.redis_replies import batch, reply, samples

MASTER = (("master_address", "127.0.0.1:17001"), ("master_name", "mymaster"))


def sentinel_samples(
    masters: str = "masters",
    peers: str = "sentinels",
    replicas: str = "replicas",
    ckquorum: str = "ckquorum",
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = batch()
    (master,) = parse_sentinel_table(reply(f"sentinel7_{masters}"), "SENTINEL MASTERS")
    add_sentinel_samples(
        master,
        reply(f"sentinel7_{peers}"),
        reply(f"sentinel7_{replicas}"),
        reply(f"sentinel7_{ckquorum}"),
        out,
    )
    return samples(out)


def test_info_sentinel_section_uses_redis_exporter_names() -> None:
    out = batch()
    summary = parse_info(reply("sentinel7_info_all"), out)
    found = samples(out)
    assert summary.identity["redis_mode"] == "sentinel"
    assert found[("redis_sentinel_masters", ())] == 1
    assert found[("redis_sentinel_tilt", ())] == 0
    assert found[("redis_sentinel_simulate_failure_flags", ())] == 0
    assert found[("cachewatch_redis_sentinel_tilt_since_seconds", ())] == -1
    assert found[("redis_sentinel_master_status", (*MASTER, ("master_status", "ok")))] == 1
    assert found[("redis_sentinel_master_slaves", MASTER)] == 2
    assert found[("redis_sentinel_master_sentinels", MASTER)] == 3
    # nothing of the section leaks out under a generic name
    assert not [name for name, _ in found if name.startswith("cachewatch_redis_sentinel_m")]


def test_a_master_line_that_is_not_ok_is_zero_and_a_garbled_one_is_skipped() -> None:
    out = batch()
    parse_info(
        b"# Sentinel\r\nsentinel_masters:2\r\n"
        b"master0:name=a,status=odown,address=10.0.0.1:6379,slaves=1,sentinels=3\r\n"
        b"master1:name=b,status=ok,address=10.0.0.2:6379,slaves=x,sentinels=3\r\n",
        out,
    )
    found = samples(out)
    labels = (("master_address", "10.0.0.1:6379"), ("master_name", "a"))
    assert found[("redis_sentinel_master_status", (*labels, ("master_status", "odown")))] == 0
    assert not [key for key in found if ("master_name", "b") in key[1]]


def test_healthy_set() -> None:
    found = sentinel_samples()
    message = "OK 3 usable Sentinels. Quorum and failover authorization can be reached"
    quorum = (("master_name", "mymaster"), ("message", message))
    assert found[("redis_sentinel_master_ckquorum_status", quorum)] == 1
    assert found[("redis_sentinel_master_ok_sentinels", MASTER)] == 3  # two peers and itself
    assert found[("redis_sentinel_master_ok_slaves", MASTER)] == 2
    assert found[("redis_sentinel_master_setting_ckquorum", MASTER)] == 2
    assert found[("redis_sentinel_master_setting_down_after_milliseconds", MASTER)] == 1000
    assert found[("redis_sentinel_master_setting_failover_timeout", MASTER)] == 3000
    assert found[("redis_sentinel_master_setting_parallel_syncs", MASTER)] == 1
    assert found[("redis_sentinel_master_config_epoch", MASTER)] == 0
    assert found[("redis_sentinel_master_last_ok_ping_reply_seconds", MASTER)] == pytest.approx(
        0.208
    )
    assert found[("cachewatch_redis_sentinel_master_failover_in_progress", MASTER)] == 0


def test_failover_in_progress_is_flagged() -> None:
    found = sentinel_samples(masters="masters_failover")
    assert found[("cachewatch_redis_sentinel_master_failover_in_progress", MASTER)] == 1
    assert found[("redis_sentinel_master_config_epoch", MASTER)] == 1


def test_down_peer_and_replica_are_not_counted_ok() -> None:
    found = sentinel_samples(peers="sentinels_one_down", replicas="replicas_after_kill")
    assert found[("redis_sentinel_master_ok_sentinels", MASTER)] == 2
    assert found[("redis_sentinel_master_ok_slaves", MASTER)] == 1


def test_no_quorum_is_zero_with_the_sentinels_words() -> None:
    found = sentinel_samples(ckquorum="ckquorum_noquorum")
    ((key, value),) = [
        (k, v) for k, v in found.items() if k[0] == "redis_sentinel_master_ckquorum_status"
    ]
    assert value == 0
    assert dict(key[1])["message"].startswith("NOQUORUM 1 usable Sentinels.")


@pytest.mark.parametrize("bad", [b"OK", [[b"name"]], [b"flat"], [[b"name", [b"nested"]]]])
def test_a_table_of_the_wrong_shape_names_the_command(bad: object) -> None:
    with pytest.raises(ReplyFormatError) as info:
        parse_sentinel_table(bad, "SENTINEL REPLICAS")
    assert "SENTINEL REPLICAS" in str(info.value)


def test_resp3_maps_parse_like_flat_lists() -> None:
    rows = parse_sentinel_table([{b"name": b"m", b"port": 6379}], "SENTINEL MASTERS")
    assert rows == [{"name": "m", "port": "6379"}]
