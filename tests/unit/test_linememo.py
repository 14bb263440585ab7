"""A per-target line memo gives exactly what parsing from scratch gives, reply after reply."""

from __future__ import annotations

import pytest

from collectors.linememo import LineMemo
from collectors.redis_info import parse_info
from collectors.redis_latency import parse_latency_histogram
from monitor.model import SampleBatch
from tests.unit.redis_replies import SERVERS, batch, reply


def columns(out: SampleBatch) -> tuple[list[str], list[object], list[float]]:
    return out.names, out.labels, out.values  # type: ignore[return-value]


def bump_line(text: bytes, prefix: bytes) -> bytes:
    """The reply with the first line starting with `prefix` changed (a digit incremented)."""
    lines = text.split(b"\r\n")
    for i, line in enumerate(lines):
        if line.startswith(prefix):
            at = line.index(b"=") + 1
            lines[i] = line[:at] + b"9" + line[at:]
            return b"\r\n".join(lines)
    raise AssertionError(f"no line starts with {prefix!r}")


@pytest.mark.parametrize("server", SERVERS)
def test_info_with_a_memo_equals_info_without(server: str) -> None:
    first = reply(f"{server}_primary_info_all")
    changed = bump_line(bump_line(bump_line(first, b"cmdstat_"), b"db0:"), b"errorstat_")
    changed = changed.replace(b"# Errorstats", b"# Errorstats\r\nerrorstat_NEW:count=3")
    assert b"errorstat_NEW" in changed
    memo = LineMemo()
    for text in (first, first, changed, changed, first):
        plain, memoised = batch(), batch()
        summary = parse_info(text, plain)
        memo_summary = parse_info(text, memoised, memo)
        assert columns(memoised) == columns(plain)
        assert memo_summary.commandstats == summary.commandstats


@pytest.mark.parametrize("server", SERVERS)
def test_latency_histogram_with_a_memo_equals_without(server: str) -> None:
    histogram = reply(f"{server}_latency_histogram")
    changed = [list(x) if isinstance(x, list) else x for x in histogram]
    details = changed[1]
    details[1] += 1  # one more call of the first command, in its last bucket
    details[3] = list(details[3])
    details[3][-1] += 1
    memo = LineMemo()
    sums = {"set": (20002.0, 5000.0)}
    for entry, usec in ((histogram, sums), (histogram, sums), (changed, sums), (changed, {})):
        plain, memoised = batch(), batch()
        assert parse_latency_histogram(entry, plain, usec) == parse_latency_histogram(
            entry, memoised, usec, memo
        )
        assert columns(memoised) == columns(plain)
