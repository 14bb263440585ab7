"""A password-protected Sentinel set, watched from a config file with each side's own
credentials, read-only.

- The Sentinels require a password, the data nodes another: every node coming up proves each
  side got its own, and the servers' `ACL LOG` (which records failed AUTH attempts) staying
  empty proves neither password was ever offered to the other side.
- cachewatch logs in to the Sentinels as a user allowed only what it should send there
  (INFO, CLIENT SETNAME, COMMAND INFO and the SENTINEL reads): nothing is refused while
  discovery and the collectors run for several rounds. (A Sentinel's error counters cannot
  show commands it lacks: its peers' traffic bumps them too. The static test and
  `test_sentinel.py`'s "no collector switched off" cover those.)
- No password shows in a log line, a status or a label.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from alerts.querier import EngineQuerier
from monitor.config import load_config
from monitor.model import now_ms
from monitor.runtime import Runtime
from tests.servers import LocalSentinelSet
from tests.waiting import wait_for

SENTINEL_PW = "sentinel-secret-7f3a"
DATA_PW = "data-secret-91bc"
WATCH_PW = "watch-secret-c04d"
#: what cachewatch may send a Sentinel: probe, handshake, INFO, discovery and collector reads
WATCH_RULES = (
    "+info",
    "+client|setname",
    "+command|info",
    "+sentinel|masters",
    "+sentinel|replicas",
    "+sentinel|sentinels",
    "+sentinel|ckquorum",
)


@pytest.fixture
def protected_set() -> Iterator[LocalSentinelSet]:
    sentinels = LocalSentinelSet(sentinel_password=SENTINEL_PW, data_password=DATA_PW).start()
    try:
        for sentinel in sentinels.sentinel_nodes:
            with admin(sentinel.port, SENTINEL_PW) as conn:
                conn.execute_command("ACL", "SETUSER", "watch", "on", f">{WATCH_PW}", *WATCH_RULES)
        yield sentinels
    finally:
        sentinels.stop()


def admin(port: int, password: str) -> redis.Redis:
    return redis.Redis(port=port, password=password, decode_responses=True, socket_timeout=5)


def collector_polls(runtime: Runtime) -> dict[str, float]:
    """Sentinel -> how many polls in the last minute read SENTINEL SENTINELS successfully."""
    result = EngineQuerier.over(runtime.store).query(
        "count_over_time(redis_sentinel_master_ok_sentinels[1m])", now_ms()
    )
    return {labels["instance"]: value for labels, value in result}


def test_each_side_gets_its_own_credentials_and_only_reads(
    protected_set: LocalSentinelSet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("CW_DATA_PW", DATA_PW)
    (tmp_path / "watch-pw").write_text(WATCH_PW + "\n")
    config_file = tmp_path / "cachewatch.toml"
    config_file.write_text(
        f"""
[global]
interval = "1s"
timeout = "800ms"
discovery_interval = "1s"

[store]
path = "{tmp_path / "store"}"

[[targets]]
url = "{protected_set.seed_url}"
name = "sessions"
password_env = "CW_DATA_PW"
sentinel_username = "watch"
sentinel_password_file = "{tmp_path / "watch-pw"}"
"""
    )
    runtime = Runtime(load_config(config_file))
    runtime.start_background()
    try:
        wait_for(
            lambda: len(runtime.statuses()) == 6 and all(s.up for s in runtime.statuses()),
            60,
            "all three Sentinels and three data nodes polled",
        )
        # several collector polls of every Sentinel, and as many discovery rounds (1 s)
        addresses = {sentinel.address for sentinel in protected_set.sentinel_nodes}
        wait_for(
            lambda: (
                collector_polls(runtime).keys() == addresses
                and min(collector_polls(runtime).values()) >= 5
            ),
            60,
            "five polls of each Sentinel",
        )
        statuses = runtime.statuses()
    finally:
        runtime.stop_background()
    for sentinel in protected_set.sentinel_nodes:
        with admin(sentinel.port, SENTINEL_PW) as conn:
            assert conn.execute_command("ACL", "LOG") == [], f"refused on {sentinel.address}"
    for node in protected_set.data_nodes:
        with admin(node.port, DATA_PW) as conn:
            assert conn.execute_command("ACL", "LOG") == [], f"refused on {node.address}"
        with admin(node.port, DATA_PW) as conn:
            assert "cmdstat_sentinel" not in conn.info("commandstats")
    assert {dict(s.target.labels)["sentinel_set"] for s in statuses} == {"sessions"}
    shown = caplog.text + repr(statuses) + repr([s.target.series_labels() for s in statuses])
    for secret in (SENTINEL_PW, DATA_PW, WATCH_PW):
        assert secret not in shown
