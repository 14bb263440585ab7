"""The poller's contract, driven through its connection seam with canned replies:
a garbled reply is recorded as a collector error and polling goes on; a dead connection
turns into `<kind>_up 0` and a reconnect; `Unsupported` switches one collector off."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import Capabilities, CollectContext, Tier, Unsupported
from collectors.redis_conn import ConnectionLost
from collectors.redis_info import InfoCollector
from monitor.model import SampleBatch
from monitor.poller import TargetPoller
from monitor.targets import Target, TargetKind, parse_target_url

TARGET = parse_target_url("redis://127.0.0.1:1", timeout_s=1.0)


class CannedConnection:
    """Answers every command with the next canned reply (or raises it)."""

    def __init__(self, replies: list[Any]) -> None:
        self.replies = replies
        self.closed = False

    async def execute(self, *args: Any) -> Any:
        (reply,) = await self.pipeline([args])
        return reply

    async def pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        out = []
        for _ in commands:
            reply = self.replies.pop(0) if self.replies else b""
            if isinstance(reply, BaseException):
                raise reply
            out.append(reply)
        return out

    async def close(self) -> None:
        self.closed = True


class Refuser:
    name: ClassVar[str] = "refuser"
    kinds: ClassVar[frozenset[TargetKind]] = frozenset({TargetKind.REDIS})
    tier: ClassVar[Tier] = Tier.FAST
    calls = 0

    async def collect(self, conn: Any, ctx: CollectContext, out: SampleBatch) -> None:
        Refuser.calls += 1
        raise Unsupported("REFUSE: refused by ACL")


def make_poller(connections: list[CannedConnection], collectors: list[Any]) -> TargetPoller:
    async def connect(target: Target) -> CannedConnection:
        if not connections:
            raise ConnectionLost("no more connections")
        return connections.pop(0)

    async def no_probe(target: Target, conn: Any) -> Capabilities:
        return Capabilities(version=(7, 0, 15))

    return TargetPoller(TARGET, collectors, connect=connect, probe=no_probe)


def sample(batch: SampleBatch, name: str, labels: tuple[tuple[str, str], ...] = ()) -> float:
    for n, lb, v in zip(batch.names, batch.labels, batch.values, strict=True):
        if n == name and lb == labels:
            return v
    raise KeyError(name)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400) | st.integers() | st.none() | st.lists(st.binary(max_size=8)))
def test_garbled_info_is_an_error_not_a_crash(reply: Any) -> None:
    conn = CannedConnection([reply, b"# Server\r\nredis_version:7.0.15\r\n"])
    poller = make_poller([conn], [InfoCollector()])
    first = asyncio.run(poller.poll())
    assert sample(first, "redis_up") == 1.0
    errors = [
        v
        for n, v in zip(first.names, first.values, strict=True)
        if n == "cachewatch_collector_errors_total"
    ]
    assert errors in ([], [1.0])
    second = asyncio.run(poller.poll())  # polling goes on after a bad reply
    assert sample(second, "redis_up") == 1.0


def test_dead_connection_reports_down_then_reconnects() -> None:
    info = b"# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:5\r\n"
    dying = CannedConnection([ConnectionLost("connection closed by server")])
    fresh = CannedConnection([info])
    poller = make_poller([dying, fresh], [InfoCollector()])
    down = asyncio.run(poller.poll())
    assert down.names == ["redis_up", "cachewatch_poll_duration_seconds"]
    assert sample(down, "redis_up") == 0.0 and dying.closed
    assert poller.status.last_error == "connection closed by server"
    up = asyncio.run(poller.poll())  # the first retry is immediate
    assert sample(up, "redis_up") == 1.0
    assert sample(up, "redis_uptime_in_seconds") == 5.0


def test_unsupported_collector_is_switched_off_once() -> None:
    Refuser.calls = 0
    conn = CannedConnection([])
    poller = make_poller([conn], [Refuser()])
    for _ in range(3):
        batch = asyncio.run(poller.poll())
        assert sample(batch, "redis_up") == 1.0
    assert Refuser.calls == 1
    assert poller.status.skipped == {"refuser": "REFUSE: refused by ACL"}


def test_switched_off_collector_stays_off_across_reconnects() -> None:
    Refuser.calls = 0
    first, second = CannedConnection([]), CannedConnection([])
    poller = make_poller([first, second], [Refuser()])
    asyncio.run(poller.poll())
    asyncio.run(poller._drop_connection("link flapped"))
    batch = asyncio.run(poller.poll())  # reconnects through `second`
    assert sample(batch, "redis_up") == 1.0 and first.closed
    assert Refuser.calls == 1


def test_a_connection_opened_after_close_is_closed_at_once() -> None:
    """Discovery closes a replaced poller while its poll may still be connecting (a failover
    drops clients just as it relabels them): that late connection must not leak."""
    opened = CannedConnection([])

    async def scenario() -> SampleBatch:
        release = asyncio.Event()

        async def connect(target: Target) -> CannedConnection:
            await release.wait()
            return opened

        async def probe(target: Target, conn: Any) -> Capabilities:
            return Capabilities()

        poller = TargetPoller(TARGET, [InfoCollector()], connect=connect, probe=probe)
        polling = asyncio.create_task(poller.poll())
        await asyncio.sleep(0)  # the poll is now waiting in connect
        await poller.close()
        release.set()
        return await polling

    batch = asyncio.run(scenario())
    assert opened.closed
    assert sample(batch, "redis_up") == 0.0


class _Emits:
    """A collector that adds one sample named after itself."""

    kinds: ClassVar[frozenset[TargetKind]] = frozenset({TargetKind.REDIS})

    def __init__(self, name: str, tier: Tier) -> None:
        self.name = name
        self.tier = tier

    async def collect(self, conn: Any, ctx: CollectContext, out: SampleBatch) -> None:
        out.add(f"x_{self.name}", 1.0)


def test_a_batch_keeps_its_order_whether_the_slow_tier_ran_or_came_from_its_cache() -> None:
    """The store appends a batch with last poll's series in last poll's order on its fast
    path; a slow tier that moved to the front between its runs changed the layout twice a
    minute per target."""
    collectors = [_Emits("a", Tier.FAST), _Emits("slow", Tier.SLOW), _Emits("b", Tier.FAST)]
    poller = make_poller([CannedConnection([])], collectors)

    async def run() -> list[list[str]]:
        orders = [(await poller.poll()).names]  # the slow tier runs
        orders.append((await poller.poll()).names)  # ... and comes from its cache
        poller._slow_due_at = 0.0  # the slow tier is due again
        orders.append((await poller.poll()).names)
        return orders

    first, cached, again = asyncio.run(run())
    assert first[:3] == ["x_a", "x_slow", "x_b"]
    assert cached == first and again == first
