"""Query bounds (issue 13): text checked before the parser, RE2 with Prometheus's anchoring,
the sample budget charged before allocation, a timeout that stops reads, the query pool."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from monitor.http.querypool import QueryPool
from monitor.model import Matcher, SampleBatch
from monitor.query import Engine, MemoryReader
from monitor.query.errors import (
    BadDataError,
    QueryTimeoutError,
    TooManySamplesError,
    UnavailableError,
)
from monitor.query.limits import (
    QueryLimits,
    QueryLimitsError,
    expression_depth,
    parse_query_limits,
)
from monitor.regex import RegexError, anchored, searcher
from monitor.store import EmbeddedStore
from monitor.store.api import ReadBudget, ReadTimeoutError, SampleLimitError
from tests.waiting import wait_for

T0 = 1_700_000_000_000


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("up", 0),
        ("up + up", 1),
        ("up or up or up", 2),
        ("sum(rate(x[5m]))", 3),
        ("- - up", 2),
        ('x{a=~"(((((", b="))"}', 1),  # matcher text and brackets in strings add nothing
        ("x # ((((((\n", 0),  # nor comments
        ("(a + b) * (c + (d - e))", 5),
        ("histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))", 4),
    ],
)
def test_expression_depth_bounds_the_syntax_tree(text: str, depth: int) -> None:
    assert expression_depth(text) == depth


def test_deep_or_long_text_never_reaches_the_parser() -> None:
    engine = Engine(MemoryReader())
    with pytest.raises(BadDataError, match=r"query\.max_depth"):
        engine.instant("(" * 12_000 + "up" + ")" * 12_000, 0)
    with pytest.raises(BadDataError, match=r"query\.max_length"):
        engine.instant(" or ".join(["up"] * 16_000), 0)
    small = Engine(MemoryReader(), limits=QueryLimits(max_length=10))
    with pytest.raises(BadDataError, match="11 characters"):
        small.instant("up + up + 1", 0)


@pytest.mark.parametrize(
    "expr",
    [
        "(" * 127 + "up" + ")" * 127,
        " or ".join(["up"] * 129),
        "-" * 128 + "up",
        "abs(" * 63 + "up" + ")" * 63,
        "sum(" * 63 + "up" + ")" * 63,
    ],
)
def test_the_deepest_allowed_expressions_evaluate(expr: str) -> None:
    """In a thread, as the HTTP server runs them: no recursion error at the limit."""
    reader = MemoryReader()
    reader.add_series({"__name__": "up", "instance": "a"}, [0], [1.0])
    assert expression_depth(expr) <= QueryLimits().max_depth
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(Engine(reader).instant(expr, 0)))
    thread.start()
    thread.join(30)
    assert len(results) == 1


def test_matchers_are_re2_anchored_as_in_prometheus() -> None:
    assert anchored("a.c").fullmatch("a\nc")  # (?s): . matches a newline
    assert not anchored("abc$").fullmatch("abc\n")  # $ is the end of the text, as in Go
    assert not anchored("b").fullmatch("abc")  # whole value
    assert anchored("a|b|c").fullmatch("b") and not anchored("a|b|c").fullmatch("ab")
    assert anchored("10\\.0\\..*").fullmatch("10.0.3.4:6379")
    with pytest.raises(RegexError, match="invalid"):
        anchored("a(?=b)")  # no look-ahead in Prometheus either
    started = time.monotonic()
    assert not anchored("(a+)+$").fullmatch("a" * 5000 + "B")  # Python's re: forever
    assert time.monotonic() - started < 1
    assert searcher(r"session:\w+", "session:*")("get session:abc x") == "get session:* x"


def test_label_replace_uses_re2_groups() -> None:
    reader = MemoryReader()
    reader.add_series({"__name__": "x", "instance": "10.0.0.5:6379"}, [0], [1.0])
    result = Engine(reader).instant(
        'label_replace(x, "host", "$1-${2}", "instance", "(?P<ip>[^:]+):(\\\\d+)")', 0
    )
    assert result.samples[0][0]["host"] == "10.0.0.5-6379"


def test_a_subquery_is_refused_before_its_steps_are_allocated() -> None:
    reader = MemoryReader()
    reader.add_series({"__name__": "up"}, [T0], [1.0])
    with pytest.raises(TooManySamplesError):
        Engine(reader).instant("max_over_time(up[30d:1ms])", T0)


def test_the_store_charges_samples_before_decoding_them(tmp_path: Path) -> None:
    store = EmbeddedStore.open(tmp_path / "s")
    try:
        for i in range(100):
            batch = SampleBatch(T0 + i * 1000, (("instance", "a"),))
            for k in range(20):
                batch.add(f"m{k}", float(i))
            store.append(batch)
        matchers = [Matcher("__name__", "=~", "m.*")]
        budget = ReadBudget(1000, time.monotonic() + 60)
        with pytest.raises(SampleLimitError):
            store.select(matchers, T0, T0 + 100_000, budget)
        assert budget.used <= 1000
        expired = ReadBudget(10**9, time.monotonic() - 1)
        with pytest.raises(ReadTimeoutError):
            store.select(matchers, T0, T0 + 100_000, expired)
        with pytest.raises(QueryTimeoutError):  # what a query sees
            Engine(store, timeout_s=0.0).instant("count(m1)", T0 + 50_000)
        with pytest.raises(TooManySamplesError):
            Engine(store, max_samples=500).instant(
                'count_over_time({__name__=~"m.*"}[2m])', T0 + 99_000
            )
    finally:
        store.close()


def test_query_limits_from_config() -> None:
    limits = parse_query_limits({"timeout": "5s", "max_samples": 1000, "max_queued": 0})
    assert limits.timeout_s == 5.0 and limits.max_samples == 1000 and limits.max_queued == 0
    with pytest.raises(QueryLimitsError) as caught:
        parse_query_limits({"timeout": "soon", "max_depth": 0, "max_concurrent": True})
    assert len(caught.value.problems) == 3


def test_the_pool_runs_a_few_queues_a_few_and_refuses_the_rest() -> None:
    pool = QueryPool(QueryLimits(max_concurrent=1, max_queued=1, queue_timeout_s=5))
    holding, release = threading.Event(), threading.Event()
    outcomes: list[str] = []

    def hold() -> None:
        with pool.slot():
            holding.set()
            release.wait(10)

    def queued() -> None:
        with pool.slot():
            outcomes.append("ran after waiting")

    first = threading.Thread(target=hold)
    first.start()
    assert holding.wait(10)
    waiter = threading.Thread(target=queued)
    waiter.start()
    wait_for(lambda: pool.waiting == 1, 10, "the second query to queue")
    with pytest.raises(UnavailableError, match=r"query\.max_queued"), pool.slot():
        pass
    release.set()
    first.join(10)
    waiter.join(10)
    assert outcomes == ["ran after waiting"]
    impatient = QueryPool(QueryLimits(max_concurrent=1, max_queued=2, queue_timeout_s=0.05))
    with impatient.slot():
        err: list[Exception] = []
        thread = threading.Thread(target=lambda: _try(impatient, err))
        thread.start()
        thread.join(10)
    assert err and "query.queue_timeout" in str(err[0])


def _try(pool: QueryPool, errors: list[Exception]) -> None:
    try:
        with pool.slot():
            pass
    except UnavailableError as exc:
        errors.append(exc)


def test_a_rule_file_with_a_deep_expression_is_refused_with_its_place(tmp_path: Path) -> None:
    from alerts.rules import RuleLoadError, load_rule_files

    rules = tmp_path / "deep.yml"
    deep = "(" * 5000 + "up" + ")" * 5000
    rules.write_text(
        f"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: '{deep}'\n"
    )
    with pytest.raises(RuleLoadError) as caught:
        load_rule_files([str(rules)])
    assert "query.max_depth" in str(caught.value) and "deep.yml:5" in str(caught.value)
