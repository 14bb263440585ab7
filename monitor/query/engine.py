"""PromQL evaluated over a `SeriesReader`.

`promql_parser` turns the text into an AST; `_Evaluation` walks it once for all steps of the
query, so a range query reads each selector's series once over the whole range and the
per-step work is numpy over (series x steps) arrays. Semantics follow Prometheus 2.x (the
version Debian ships, which the differential tests run against): closed range windows, 5 m
lookback, stale markers, extrapolated rates, metric-name dropping, vector matching errors.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import promql_parser as pp

from monitor.gcpause import collector_paused
from monitor.model import Labels, labels_of
from monitor.query.aggregations import AGGREGATIONS, Grouping, aggregate
from monitor.query.binops import ARITHMETIC, COMPARISONS, SET_OPERATORS, binary
from monitor.query.errors import (
    BadDataError,
    ExecutionError,
    NotSupportedError,
    QueryTimeoutError,
    TooManySamplesError,
)
from monitor.query.functions import (
    CALENDAR_FUNCTIONS,
    MATH_FUNCTIONS,
    absent,
    calendar,
    histogram_quantile,
    label_join,
    label_replace,
    map_values,
    scalar_of,
    sort_rows,
)
from monitor.query.latest import latest_at
from monitor.query.limits import QueryLimits
from monitor.query.range_functions import (
    RANGE_FUNCTIONS,
    eval_range_function,
    range_argument_index,
)
from monitor.query.result import QueryResult
from monitor.query.syntax import (
    absent_labels,
    at_ms,
    duration_ms,
    matchers,
    matching,
    parse,
    static_type,
    unwrap,
)
from monitor.query.values import (
    SAME_LABELSET,
    RangeVectors,
    StepVectors,
    drop_name,
    is_stale,
    merge_same_labels,
)
from monitor.store.api import (
    ReadBudget,
    ReadTimeoutError,
    SampleLimitError,
    SeriesData,
    SeriesReader,
    StoreCorruptionError,
)

__all__ = ["Engine"]

_MAX_STEPS = 11_000

Value = StepVectors | RangeVectors | np.ndarray | str


class Engine:
    """Evaluates PromQL expressions over `reader`.

    `limits` bound one query (`monitor.query.limits.QueryLimits`: text length and depth,
    checked before parsing; samples read plus points held, charged before they are
    allocated; time, checked at every node and every series read). `timeout_s` and
    `max_samples` override the limits' own, so one query can't take the process down."""

    def __init__(
        self,
        reader: SeriesReader,
        lookback_ms: int = 300_000,
        *,
        limits: QueryLimits | None = None,
        timeout_s: float | None = None,
        max_samples: int | None = None,
        subquery_step_ms: int = 60_000,
    ) -> None:
        self.reader = reader
        self.lookback_ms = lookback_ms
        self.limits = limits or QueryLimits()
        self.timeout_s = self.limits.timeout_s if timeout_s is None else timeout_s
        self.max_samples = self.limits.max_samples if max_samples is None else max_samples
        self.subquery_step_ms = subquery_step_ms

    def instant(self, expr: str, at_ms: int) -> QueryResult:
        with collector_paused():  # see monitor/gcpause.py
            return self._instant(expr, at_ms)

    def range(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult:
        with collector_paused():
            return self._range(expr, start_ms, end_ms, step_ms)

    def _instant(self, expr: str, at_ms: int) -> QueryResult:
        node = parse(expr, self.limits)
        value = self._evaluate(node, np.array([at_ms], dtype=np.int64), at_ms, at_ms)
        if isinstance(value, str):
            return QueryResult("string", at_ms=at_ms, string=value)
        if isinstance(value, np.ndarray):
            return QueryResult("scalar", at_ms=at_ms, scalar=float(value[0]))
        if isinstance(value, RangeVectors):
            return QueryResult("matrix", at_ms=at_ms, series=_range_samples(value))
        return QueryResult(
            "vector",
            at_ms=at_ms,
            samples=[
                (dict(labels), float(value.values[i, 0]))
                for i, labels in enumerate(value.labels)
                if value.present[i, 0]
            ],
        )

    def _range(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> QueryResult:
        if step_ms <= 0:
            raise BadDataError(
                "zero or negative query resolution step widths are not accepted. "
                "Try a positive integer"
            )
        if end_ms < start_ms:
            raise BadDataError("end timestamp must not be before start time")
        if (end_ms - start_ms) // step_ms >= _MAX_STEPS:
            raise BadDataError(
                "exceeded maximum resolution of 11,000 points per timeseries. "
                "Try decreasing the query resolution (?step=XX)"
            )
        node = parse(expr, self.limits)
        kind = static_type(node)
        if kind != "instant":
            raise BadDataError(
                f'invalid expression type "{kind}" for range query, '
                "must be Scalar or instant Vector"
            )
        steps = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        value = self._evaluate(node, steps, start_ms, end_ms)
        if isinstance(value, np.ndarray):
            return QueryResult("matrix", series=[({}, steps, value)])
        assert isinstance(value, StepVectors)
        order = sorted(range(len(value.labels)), key=lambda i: value.labels[i])
        return QueryResult(
            "matrix",
            series=[
                (
                    dict(value.labels[i]),
                    steps[value.present[i]],
                    value.values[i][value.present[i]],
                )
                for i in order
                if value.present[i].any()
            ],
        )

    def _evaluate(self, node: Any, steps: np.ndarray, start_ms: int, end_ms: int) -> Value:
        deadline = time.monotonic() + self.timeout_s
        budget = ReadBudget(self.max_samples, deadline)
        evaluation = _Evaluation(self, steps, start_ms, end_ms, budget)
        try:
            with np.errstate(all="ignore"):
                return evaluation.eval(node)
        except SampleLimitError:
            raise TooManySamplesError(self.max_samples) from None
        except ReadTimeoutError:
            raise QueryTimeoutError(
                f"query timed out after {self.timeout_s:g}s (query.timeout) while reading"
            ) from None
        except StoreCorruptionError as exc:
            raise ExecutionError(str(exc)) from None


def _range_samples(rv: RangeVectors) -> list[tuple[dict[str, str], np.ndarray, np.ndarray]]:
    out = []
    for i, labels in enumerate(rv.labels):
        lo, hi = rv.bounds(i)
        if hi[0] > lo[0]:
            out.append((dict(labels), rv.ts[i][lo[0] : hi[0]], rv.values[i][lo[0] : hi[0]]))
    out.sort(key=lambda s: labels_of(s[0]))
    return out


class _Evaluation:
    """One query's walk over the AST at the steps `steps` (ms)."""

    def __init__(
        self,
        engine: Engine,
        steps: np.ndarray,
        start_ms: int,
        end_ms: int,
        budget: ReadBudget,
    ) -> None:
        self.engine = engine
        self.steps = steps
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.budget = budget  # samples read and points held so far, shared with subqueries

    def _account(self, count: int) -> None:
        self.budget.charge(count)

    def _reserve(self, count: int) -> None:
        """Refuse, before allocating them, `count` more points than the limit allows."""
        self.budget.reserve(count)

    def eval(self, node: Any) -> Value:
        if time.monotonic() > self.budget.deadline:
            raise QueryTimeoutError(
                f"query timed out after {self.engine.timeout_s:g}s (query.timeout) "
                "in expression evaluation"
            )
        handler = _HANDLERS.get(type(node))
        if handler is None:
            raise NotSupportedError(f"expression {type(node).__name__}")
        value = handler(self, node)
        if isinstance(value, StepVectors):
            self._account(value.values.size)
        return value

    def _expect(self, node: Any, kind: type, what: str, where: str) -> Any:
        value = self.eval(node)
        if not isinstance(value, kind):
            raise BadDataError(f"{where}: expected {what}")
        return value

    def instant_vector(self, node: Any, where: str) -> StepVectors:
        return self._expect(node, StepVectors, "an instant vector", where)

    def scalar(self, node: Any, where: str) -> np.ndarray:
        return self._expect(node, np.ndarray, "a scalar", where)

    def string(self, node: Any, where: str) -> str:
        return self._expect(node, str, "a string", where)

    def _times(self, at: Any) -> np.ndarray:
        """Evaluation time per step: the step, or the fixed time of an `@` modifier."""
        if at is None:
            return self.steps
        fixed = at_ms(at, self.start_ms, self.end_ms)
        return np.full(len(self.steps), fixed, dtype=np.int64)

    def _select(self, selector: Any, start_ms: int, end_ms: int) -> list[tuple[Labels, SeriesData]]:
        try:
            # the reader charges what it reads to the budget, series by series
            found = self.engine.reader.select(matchers(selector), start_ms, end_ms, self.budget)
        except ValueError as exc:
            raise BadDataError(f"selector {selector}: {exc}") from None
        # Sorted like Prometheus's storage returns series, so instant results come in the
        # same order; each series' labels made canonical once, here.
        keyed = [(labels_of(series.labels), series) for series in found]
        keyed.sort(key=lambda pair: pair[0])
        return keyed

    def vector_selector(self, node: Any) -> StepVectors:
        lookback = self.engine.lookback_ms
        t = self._times(node.at) - duration_ms(node.offset)
        found = self._select(node, int(t.min()) - lookback, int(t.max()))
        self._reserve(len(found) * len(self.steps))
        if not found:
            steps = len(self.steps)
            return StepVectors(
                [], np.empty((0, steps)), np.empty((0, steps), bool), np.empty((0, steps), np.int64)
            )
        idx, ts, values = latest_at([series for _, series in found], t)
        present = (idx >= 0) & (ts >= t - lookback) & ~is_stale(values)
        keep = present.any(axis=1)
        return StepVectors(
            [key for (key, _), kept in zip(found, keep.tolist(), strict=True) if kept],
            values[keep],
            present[keep],
            ts[keep],
        )

    def _eval_ts(self, at: Any) -> np.ndarray:
        # With `@`, Prometheus evaluates the (step-invariant) call once at the query start.
        return self.steps if at is None else np.full(len(self.steps), self.start_ms)

    def matrix_selector(self, node: Any) -> RangeVectors:
        selector = node.vector_selector
        range_ms = duration_ms(node.range)
        end = self._times(selector.at) - duration_ms(selector.offset)
        labels, ts, values = [], [], []
        for key, series in self._select(selector, int(end.min()) - range_ms, int(end.max())):
            stale = is_stale(series.values)
            labels.append(key)
            if stale.any():
                ts.append(series.ts[~stale])
                values.append(series.values[~stale])
            else:
                ts.append(series.ts)
                values.append(series.values)
        return RangeVectors(labels, ts, values, end, range_ms, self._eval_ts(selector.at))

    def subquery(self, node: Any) -> RangeVectors:
        range_ms = duration_ms(node.range)
        step_ms = duration_ms(node.step) or self.engine.subquery_step_ms
        end = self._times(node.at) - duration_ms(node.offset)
        first = int(end.min()) - range_ms
        inner_start = -(-first // step_ms) * step_ms  # first multiple of the step >= first
        last = int(end.max())
        # counted before `arange` allocates them: `x[30d:1ms]` is 2.6 billion steps
        self._account(max(0, (last - inner_start) // step_ms + 1))
        inner_steps = np.arange(inner_start, last + 1, step_ms, dtype=np.int64)
        inner = _Evaluation(
            self.engine, inner_steps, self.start_ms, self.end_ms, self.budget
        ).instant_vector(node.expr, "subquery")
        return RangeVectors(
            inner.labels,
            [inner_steps[p] for p in inner.present],
            [v[p] for v, p in zip(inner.values, inner.present, strict=True)],
            end,
            range_ms,
            self._eval_ts(node.at),
        )

    def unary(self, node: Any) -> Value:
        value = self.eval(node.expr)
        if isinstance(value, np.ndarray):
            return -value
        if not isinstance(value, StepVectors):
            raise BadDataError("unary minus needs a scalar or an instant vector")
        negated = StepVectors(
            [drop_name(lbl) for lbl in value.labels], -value.values, value.present
        )
        return merge_same_labels(negated, SAME_LABELSET)

    def binary(self, node: Any) -> Value:
        op = str(node.op).strip()
        if op not in ARITHMETIC and op not in COMPARISONS and op not in SET_OPERATORS:
            raise NotSupportedError(f"binary operator {op}")
        lhs, rhs = self.eval(node.lhs), self.eval(node.rhs)
        if not isinstance(lhs, StepVectors | np.ndarray) or not isinstance(
            rhs, StepVectors | np.ndarray
        ):
            raise BadDataError(f"operator {op} needs scalars or instant vectors on both sides")
        return binary(op, lhs, rhs, matching(node.modifier, op))

    def aggregate(self, node: Any) -> StepVectors:
        op = str(node.op).strip()
        if op not in AGGREGATIONS:
            raise NotSupportedError(f"aggregation {op}")
        vec = self.instant_vector(node.expr, op)
        modifier = node.modifier
        if modifier is None:
            grouping = Grouping((), without=False)
        else:
            without = str(modifier.type).endswith("Without")
            grouping = Grouping(modifier.labels, without=without)
        param: np.ndarray | str | None = None
        if op == "count_values":
            param = self.string(node.param, op)
        elif op in ("topk", "bottomk", "quantile"):
            param = self.scalar(node.param, op)
        return aggregate(op, vec, grouping, param)

    def call(self, node: Any) -> Value:
        name = node.func.name
        args = list(node.args)
        if name in RANGE_FUNCTIONS:
            index = range_argument_index(name)
            rv = self.eval(args[index])
            if not isinstance(rv, RangeVectors):
                raise BadDataError(f"{name}(): expected a range vector")
            self._reserve(len(rv.labels) * len(self.steps))
            scalar = self.scalar(args[1 - index], name) if len(args) > 1 else None
            labels = absent_labels(args[index]) if name == "absent_over_time" else ()
            return eval_range_function(name, rv, scalar, labels)
        if name in MATH_FUNCTIONS:
            vec = self.instant_vector(args[0], f"{name}()")
            scalars = [self.scalar(a, f"{name}()") for a in args[1:]]
            return map_values(name, vec, scalars)
        if name in CALENDAR_FUNCTIONS:
            if args:
                vec = self.instant_vector(args[0], f"{name}()")
            else:  # of the evaluation time, like vector(time())
                now = (self.steps / 1000.0)[None, :]
                vec = StepVectors([()], now, np.ones(now.shape, dtype=bool))
            return calendar(name, vec)
        handler = _CALLS.get(name)
        if handler is None:
            raise NotSupportedError(f"function {name}()")
        return handler(self, args)

    def timestamp(self, args: list) -> StepVectors:
        vec = self.instant_vector(args[0], "timestamp()")
        if isinstance(unwrap(args[0]), pp.VectorSelector) and vec.sample_ts is not None:
            seconds = vec.sample_ts / 1000.0
        else:
            seconds = np.broadcast_to(self.steps / 1000.0, vec.values.shape)
        out = StepVectors([drop_name(lbl) for lbl in vec.labels], seconds, vec.present)
        return merge_same_labels(out, SAME_LABELSET)

    def vector(self, args: list) -> StepVectors:
        value = self.scalar(args[0], "vector()")
        return StepVectors([()], value[None, :].copy(), np.ones((1, len(value)), dtype=bool))


_HANDLERS: dict[type, Any] = {
    pp.ParenExpr: lambda ev, node: ev.eval(node.expr),
    pp.NumberLiteral: lambda ev, node: np.full(len(ev.steps), float(node.val)),
    pp.StringLiteral: lambda ev, node: str(node.val),
    pp.UnaryExpr: _Evaluation.unary,
    pp.VectorSelector: _Evaluation.vector_selector,
    pp.MatrixSelector: _Evaluation.matrix_selector,
    pp.SubqueryExpr: _Evaluation.subquery,
    pp.BinaryExpr: _Evaluation.binary,
    pp.AggregateExpr: _Evaluation.aggregate,
    pp.Call: _Evaluation.call,
}

_CALLS: dict[str, Any] = {
    "time": lambda ev, args: ev.steps / 1000.0,
    "pi": lambda ev, args: np.full(len(ev.steps), np.pi),
    "vector": _Evaluation.vector,
    "scalar": lambda ev, args: scalar_of(ev.instant_vector(args[0], "scalar()")),
    "timestamp": _Evaluation.timestamp,
    "sort": lambda ev, args: sort_rows(ev.instant_vector(args[0], "sort()"), descending=False),
    "sort_desc": lambda ev, args: sort_rows(
        ev.instant_vector(args[0], "sort_desc()"), descending=True
    ),
    "absent": lambda ev, args: absent(
        ev.instant_vector(args[0], "absent()"), absent_labels(args[0]), len(ev.steps)
    ),
    "histogram_quantile": lambda ev, args: histogram_quantile(
        ev.scalar(args[0], "histogram_quantile()"),
        ev.instant_vector(args[1], "histogram_quantile()"),
    ),
    "label_replace": lambda ev, args: label_replace(
        ev.instant_vector(args[0], "label_replace()"),
        *(ev.string(a, "label_replace()") for a in args[1:5]),
    ),
    "label_join": lambda ev, args: label_join(
        ev.instant_vector(args[0], "label_join()"),
        ev.string(args[1], "label_join()"),
        ev.string(args[2], "label_join()"),
        [ev.string(a, "label_join()") for a in args[3:]],
    ),
}
