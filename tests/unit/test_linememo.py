"""A per-target line memo gives exactly what parsing from scratch gives, reply after reply."""

from __future__ import annotations

import pytest

from collectors.linememo import LineMemo
from collectors.redis_info import InfoMemo, parse_info
from collectors.redis_latency import parse_latency_histogram
from monitor.model import SampleBatch
from tests.unit.redis_replies import SERVERS, batch, reply


def columns(out: SampleBatch) -> tuple[list[str], list[object], list[float]]:
    return out.names, out.labels, out.values  # type: ignore[return-value]


def bump_line(text: bytes, prefix: bytes, sep: bytes = b"=") -> bytes:
    """The reply with the first line starting with `prefix` changed (a digit put in front of
    the first value after `sep`)."""
    lines = text.split(b"\r\n")
    for i, line in enumerate(lines):
        if line.startswith(prefix):
            at = line.index(sep) + 1
            lines[i] = line[:at] + b"9" + line[at:]
            return b"\r\n".join(lines)
    raise AssertionError(f"no line starts with {prefix!r}")


@pytest.mark.parametrize("server", SERVERS)
def test_info_with_a_memo_equals_info_without(server: str) -> None:
    first = reply(f"{server}_primary_info_all")
    changed = bump_line(bump_line(bump_line(first, b"cmdstat_"), b"db0:"), b"errorstat_")
    changed = changed.replace(b"# Errorstats", b"# Errorstats\r\nerrorstat_NEW:count=3")
    assert b"errorstat_NEW" in changed
    # plain lines: a counter, a gauge, an identity field that is also a metric, a status
    for prefix in (b"total_commands_processed:", b"used_memory:", b"uptime_in_seconds:"):
        changed = bump_line(changed, prefix, b":")
    changed = changed.replace(b"rdb_last_bgsave_status:ok", b"rdb_last_bgsave_status:err")
    # a plain line moved to another section means what that section says, memo or not
    moved = first.replace(b"# Clients\r\n", b"# Clients\r\nmaster_host:10.0.0.9\r\n")
    replica = first.replace(b"# Replication\r\n", b"# Replication\r\nmaster_host:10.0.0.9\r\n")
    memo = InfoMemo()
    for text in (first, first, changed, changed, first, moved, moved, replica, first):
        plain, memoised = batch(), batch()
        summary = parse_info(text, plain)
        memo_summary = parse_info(text, memoised, memo)
        assert columns(memoised) == columns(plain)
        assert memo_summary.commandstats == summary.commandstats
        assert memo_summary.identity == summary.identity
        assert memo_summary.master_host == summary.master_host


@pytest.mark.parametrize("server", SERVERS)
def test_latency_percentiles_follow_their_command_s_totals_with_a_memo(server: str) -> None:
    """latencystats lines that did not change still carry the new commandstats sum/count."""
    first = reply(f"{server}_primary_info_all")
    line = next(x for x in first.split(b"\r\n") if x.startswith(b"latency_percentiles_usec_"))
    cmd = line.split(b":")[0][len(b"latency_percentiles_usec_") :]
    changed = bump_line(first, b"cmdstat_" + cmd + b":")
    memo = InfoMemo()
    for text in (first, changed):
        plain, memoised = batch(), batch()
        parse_info(text, plain)
        parse_info(text, memoised, memo)
        assert columns(memoised) == columns(plain)


def test_the_plain_memo_stays_bounded() -> None:
    """A counter that changes every reply adds a line a reply; the memo forgets, not grows."""
    memo = InfoMemo()
    for n in range(InfoMemo.PLAIN_LIMIT * 3):
        out = batch()
        parse_info(f"# Stats\r\ntotal_commands_processed:{n}\r\n".encode(), out)
        assert out.values[-1] == n
        memoised = batch()
        parse_info(f"# Stats\r\ntotal_commands_processed:{n}\r\n".encode(), memoised, memo)
        assert columns(memoised) == columns(out)
    assert len(memo.plain["stats"]) <= InfoMemo.PLAIN_LIMIT + 1


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


def test_a_section_replayed_whole_still_describes_its_generic_metrics() -> None:
    text = b"# Stats\r\nbrand_new_counter:7\r\n# Memory\r\nmaxmemory_policy:allkeys-lru\r\n"
    memo = InfoMemo()
    for _ in range(3):
        plain, memoised = batch(), batch()
        summary = parse_info(text, plain)
        memo_summary = parse_info(text, memoised, memo)
        assert columns(memoised) == columns(plain)
        assert memoised.metadata == plain.metadata
        assert "cachewatch_redis_brand_new_counter" in memoised.metadata
        assert memo_summary.identity == summary.identity == {"maxmemory_policy": "allkeys-lru"}
