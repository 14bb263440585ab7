"""`cachewatch query` opens only what its expression reads (`monitor.commands.query_scope`),
and prints what the engine prints over the whole store, beside a live writer."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.commands import query
from monitor.commands.query_scope import evaluate, reads_of
from monitor.model import Matcher, SampleBatch
from monitor.query import Engine
from monitor.store import EmbeddedStore

STEP = 10_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 7_200_000
TICKS = 3 * 360 + 37  # three hours and a bit: compacted blocks, 10-minute blocks, a head
END = T0 + (TICKS - 1) * STEP


@pytest.fixture(scope="module")
def live_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("query-scope") / "store"
    writer = EmbeddedStore.open(path)
    for tick in range(TICKS):
        ts = T0 + tick * STEP
        for n, instance in enumerate(("a:6379", "b:6379", "c:11211")):
            batch = SampleBatch(ts, (("instance", instance),))
            batch.add("redis_commands_processed_total", (n + 1) * 5.0 * tick)
            batch.add("redis_commands_total", 2.0 * tick, (("cmd", "get"),))
            if tick % 90 > 30:
                batch.add("redis_commands_total", 1.0 * tick, (("cmd", "set"),))
            batch.add("redis_connected_clients", 10.0 + (tick + n) % 13)
            writer.append(batch)
        writer.maintain(ts)
    writer.flush()
    yield path
    writer.close()


EXPRESSIONS = [
    "rate(redis_commands_processed_total[5m])",
    "sum by (cmd) (rate(redis_commands_total[5m]))",
    "redis_connected_clients",
    "redis_connected_clients offset 1h",
    "max_over_time(redis_connected_clients[2h])",
    "redis_connected_clients @ 1700001000",
    "max_over_time(rate(redis_commands_total[1m])[30m:1m])",
    'redis_connected_clients{instance=~"a.*"} and on(instance) redis_commands_processed_total',
    '{__name__=~"redis_connected.*", instance!="b:6379"}',
    "absent(no_such_metric)",
    "1 + 1",
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    query.add_parser(parser.add_subparsers())
    return parser


@pytest.mark.parametrize("expr", EXPRESSIONS)
@pytest.mark.parametrize("window", [None, 3 * 3600], ids=["instant", "range"])
def test_query_prints_what_the_engine_finds_over_the_whole_store(
    live_store: Path,
    expr: str,
    window: int | None,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, "monitor.store.scope")
    if window is not None and expr.startswith("max_over_time(redis_connected_clients[2h])"):
        window = 600  # a range query of a 2 h window at every step is slow and adds nothing
    argv = ["query", expr, "--at", str(END / 1000), "--format", "json"]
    argv += ["--store", str(live_store)]
    if window is not None:
        argv += ["--range", f"{window}s", "--step", "60s"]
    args = _parser().parse_args(argv)
    assert args.run(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert not [r for r in caplog.records if "outside the scope" in r.getMessage()]
    whole = EmbeddedStore.open(live_store, read_only=True)
    try:
        expected = evaluate(
            Engine(whole), expr, END, None if window is None else window * 1000, 60_000
        )
    finally:
        whole.close()
    assert printed == json.loads(json.dumps(expected.to_api()))
    if expr != "1 + 1":
        assert printed["result"] or expr.startswith("absent")


def test_reads_of_lists_each_selector_with_the_range_it_reads() -> None:
    name = [Matcher("__name__", "=", "x")]
    scope = reads_of("rate(x[5m] offset 1h)", 10_000_000, None, 0)
    assert scope is not None
    assert scope.covers(name, 10_000_000 - 3_600_000 - 300_000, 10_000_000 - 3_600_000)
    assert not scope.covers(name, 10_000_000 - 300_000, 10_000_000)
    scope = reads_of("x", 10_000_000, 600_000, 60_000)  # a range query, 5 m lookback
    assert scope is not None
    assert scope.covers(name, 10_000_000 - 600_000 - 300_000, 10_000_000)
    assert scope.start_ms == 10_000_000 - 900_000
    assert reads_of("rate(x)", 0, None, 0) is None  # the real run reports the error
