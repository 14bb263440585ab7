"""`--attach`: the read model through a running server's Prometheus query API and events
endpoint gives the same overview, detail and cluster layout as reading the store in-process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.http import make_app, serve_forever
from monitor.readmodel import (
    Health,
    RemoteError,
    RemoteSource,
    Window,
    cluster_view,
    fleet_overview,
    target_detail,
)
from tests.tui.recorded import NOW_MS, RecordedSource, recorded_fleet


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[RecordedSource, RemoteSource]]:
    local = recorded_fleet()
    running = serve_forever(
        make_app(latest_batches=list, metadata=dict, reader=local.reader, events=local.events),
        "127.0.0.1:0",
    )
    try:
        yield local, RemoteSource(running.url, clock=lambda: NOW_MS)
    finally:
        running.stop()


def test_overview_matches_the_in_process_one(served) -> None:  # type: ignore[no-untyped-def]
    local, remote = served
    here = {r.instance: r for r in fleet_overview(local, NOW_MS)}
    there = {r.instance: r for r in fleet_overview(remote, NOW_MS)}
    assert set(here) == set(there)
    # down: only its `redis_up 0` is left, which is enough to list it as down
    down = there.pop("10.1.0.1:6379")
    assert down.health is Health.DOWN and here[down.instance].health is Health.DOWN
    for instance, row in there.items():
        assert row.health is Health.UP
        assert row.ops_per_s == pytest.approx(here[instance].ops_per_s)
        assert row.hit_ratio == pytest.approx(here[instance].hit_ratio)
        assert (row.role, row.shard, row.version) == (
            here[instance].role,
            here[instance].shard,
            here[instance].version,
        )
        assert row.ops_trend == pytest.approx(here[instance].ops_trend, nan_ok=True)


def test_detail_and_cluster_through_the_api(served) -> None:  # type: ignore[no-untyped-def]
    local, remote = served
    detail = target_detail(remote, "10.0.0.1:7001", Window.M5)
    assert detail is not None and detail.replication is not None
    assert detail.state.version == "7.0.15"  # from redis_instance_info
    assert detail.replication.role == "replica"
    assert [c.command for c in detail.commandstats] == ["get", "set", "del", "expire"]
    assert detail.slowlog and detail.slowlog == local_detail_slowlog(local)
    (cluster,) = cluster_view(remote).clusters
    assert [len(s.nodes) for s in cluster.shards] == [2, 2, 2]
    assert cluster.hottest == cluster_view(local).clusters[0].hottest


def local_detail_slowlog(local: RecordedSource) -> tuple[object, ...]:
    detail = target_detail(local, "10.0.0.1:7001", Window.M5)
    assert detail is not None
    return detail.slowlog


def test_events_through_the_api_match_the_in_process_ones(served) -> None:  # type: ignore[no-untyped-def]
    local, remote = served
    assert remote.events("", None, 0, 1000) == local.events("", None, 0, 1000)
    assert remote.events("slowlog", "10.0.0.1:7001", 0, 2) == local.events(
        "slowlog", "10.0.0.1:7001", 0, 2
    )


def test_unreachable_server_is_a_clear_error() -> None:
    source = RemoteSource("http://127.0.0.1:9", timeout_s=1.0)
    with pytest.raises(RemoteError, match="cannot reach the server"):
        source.statuses()


def test_a_bad_expression_names_the_server_answer(served) -> None:  # type: ignore[no-untyped-def]
    _, remote = served
    with pytest.raises(RemoteError, match="HTTP 400"):
        remote.instant("sum(", NOW_MS)


def test_the_ui_survives_an_unreachable_server_and_says_so() -> None:
    import asyncio

    from tests.tui.helpers import until
    from ui.tui.app import CachewatchApp
    from ui.tui.status_bar import StatusBar

    async def scenario() -> None:
        app = CachewatchApp(RemoteSource("http://127.0.0.1:9", timeout_s=1.0), refresh_s=0.1)
        async with app.run_test(size=(100, 24)) as pilot:
            await until(pilot, lambda: app.last_error is not None)
            assert "cannot reach the server" in app.last_error  # type: ignore[operator]
            await pilot.press("s", "slash", "x")  # still responsive
            await until(pilot, lambda: "error:" in str(app.screen.query_one(StatusBar).render()))

    asyncio.run(scenario())
