"""Parsers over captured replies: MONITOR lines, COMMAND INFO key specs, HOTKEYS, keysizes,
CLUSTER SLOT-STATS and memcached `watch` lines."""

from __future__ import annotations

import hiredis
import pytest

from collectors.hotkeys.bigkeys import parse_keysizes
from collectors.hotkeys.cluster import parse_slot_stats
from collectors.hotkeys.keyspecs import CommandTable, KeySpecError
from collectors.hotkeys.lfu import accesses_for_counter, accesses_per_increment
from collectors.hotkeys.memcached_watch import fold_watch_lines
from collectors.hotkeys.monitor_lines import MonitorLineError, parse_monitor_line
from collectors.hotkeys.report import Method
from collectors.hotkeys.server_tracking import (
    ServerTrackingError,
    has_hotkeys_command,
    parse_redis_hotkeys,
    parse_valkey_hotkeys,
)
from collectors.hotkeys.topk import SpaceSaving

#: `COMMAND INFO get set mset eval xread zunionstore lmove object nosuchcommand`, raw RESP
#: from redis-server 7.0.15
COMMAND_INFO_7_0 = (
    b"*9\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@re"
    b"ad\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12"
    b"\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r"
    b"\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\n"
    b"lastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n*10\r\n$3\r\nset\r\n:"
    b"-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@string\r\n+@slow"
    b"\r\n*0\r\n*1\r\n*8\r\n$5\r\nnotes\r\n$48\r\nRW and ACCESS due to the optional `GET` argu"
    b"ment\r\n$5\r\nflags\r\n*4\r\n+RW\r\n+access\r\n+update\r\n+variable_flags\r\n$12\r\nbegi"
    b"n_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n"
    b"$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey"
    b"\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n*10\r\n$4\r\nmset\r\n:-3\r\n"
    b"*2\r\n+write\r\n+denyoom\r\n:1\r\n:-1\r\n:2\r\n*3\r\n+@write\r\n+@string\r\n+@slow\r\n*2"
    b"\r\n$26\r\nrequest_policy:multi_shard\r\n$29\r\nresponse_policy:all_succeeded\r\n*1\r\n*"
    b"6\r\n$5\r\nflags\r\n*2\r\n+OW\r\n+update\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$"
    b"5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\nty"
    b"pe\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:2\r\n"
    b"$5\r\nlimit\r\n:0\r\n*0\r\n*10\r\n$4\r\neval\r\n:-3\r\n*5\r\n+noscript\r\n+stale\r\n+ski"
    b"p_monitor\r\n+no_mandatory_keys\r\n+movablekeys\r\n:0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@s"
    b"cripting\r\n*0\r\n*1\r\n*8\r\n$5\r\nnotes\r\n$78\r\nWe cannot tell how the keys will be "
    b"used so we assume the worst, RW and UPDATE\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+up"
    b"date\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5"
    b"\r\nindex\r\n:2\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$6\r\nkeynum\r\n$4\r\nspec\r\n"
    b"*6\r\n$9\r\nkeynumidx\r\n:0\r\n$8\r\nfirstkey\r\n:1\r\n$7\r\nkeystep\r\n:1\r\n*0\r\n*10"
    b"\r\n$5\r\nxread\r\n:-4\r\n*3\r\n+readonly\r\n+blocking\r\n+movablekeys\r\n:0\r\n:0\r\n:0"
    b"\r\n*4\r\n+@read\r\n+@stream\r\n+@slow\r\n+@blocking\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r"
    b"\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$7\r\nkeyword\r\n$4"
    b"\r\nspec\r\n*4\r\n$7\r\nkeyword\r\n$7\r\nSTREAMS\r\n$9\r\nstartfrom\r\n:1\r\n$9\r\nfind_"
    b"keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:-1\r\n$"
    b"7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:2\r\n*0\r\n*10\r\n$11\r\nzunionstore\r\n:-4\r\n*3"
    b"\r\n+write\r\n+denyoom\r\n+movablekeys\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@sortedset"
    b"\r\n+@slow\r\n*0\r\n*2\r\n*6\r\n$5\r\nflags\r\n*2\r\n+OW\r\n+update\r\n$12\r\nbegin_sear"
    b"ch\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\n"
    b"find_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0"
    b"\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+acces"
    b"s\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r"
    b"\nindex\r\n:2\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$6\r\nkeynum\r\n$4\r\nspec\r\n*6"
    b"\r\n$9\r\nkeynumidx\r\n:0\r\n$8\r\nfirstkey\r\n:1\r\n$7\r\nkeystep\r\n:1\r\n*0\r\n*10\r"
    b"\n$5\r\nlmove\r\n:5\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:2\r\n:1\r\n*3\r\n+@write\r\n+@"
    b"list\r\n+@slow\r\n*0\r\n*2\r\n*6\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n$1"
    b"2\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex"
    b"\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r"
    b"\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*6\r\n$5\r\nflags\r\n*2\r"
    b"\n+RW\r\n+insert\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec"
    b"\r\n*2\r\n$5\r\nindex\r\n:2\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4"
    b"\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0"
    b"\r\n*10\r\n$6\r\nobject\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n*0\r\n*0\r\n*5"
    b"\r\n*10\r\n$15\r\nobject|idletime\r\n:3\r\n*1\r\n+readonly\r\n:2\r\n:2\r\n:1\r\n*3\r\n+@"
    b"keyspace\r\n+@read\r\n+@slow\r\n*1\r\n$23\r\nnondeterministic_output\r\n*1\r\n*6\r\n$5\r"
    b"\nflags\r\n*1\r\n+RO\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\n"
    b"spec\r\n*2\r\n$5\r\nindex\r\n:2\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r"
    b"\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r"
    b"\n*0\r\n*10\r\n$11\r\nobject|help\r\n:2\r\n*2\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r"
    b"\n*2\r\n+@keyspace\r\n+@slow\r\n*0\r\n*0\r\n*0\r\n*10\r\n$11\r\nobject|freq\r\n:3\r\n*1"
    b"\r\n+readonly\r\n:2\r\n:2\r\n:1\r\n*3\r\n+@keyspace\r\n+@read\r\n+@slow\r\n*1\r\n$23\r\n"
    b"nondeterministic_output\r\n*1\r\n*6\r\n$5\r\nflags\r\n*1\r\n+RO\r\n$12\r\nbegin_search\r"
    b"\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:2\r\n$9\r\nfind"
    b"_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$"
    b"7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n*10\r\n$15\r\nobject|encoding\r\n:3\r\n"
    b"*1\r\n+readonly\r\n:2\r\n:2\r\n:1\r\n*3\r\n+@keyspace\r\n+@read\r\n+@slow\r\n*1\r\n$23\r"
    b"\nnondeterministic_output\r\n*1\r\n*6\r\n$5\r\nflags\r\n*1\r\n+RO\r\n$12\r\nbegin_search"
    b"\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:2\r\n$9\r\nfi"
    b"nd_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r"
    b"\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n*10\r\n$15\r\nobject|refcount\r\n:3"
    b"\r\n*1\r\n+readonly\r\n:2\r\n:2\r\n:1\r\n*3\r\n+@keyspace\r\n+@read\r\n+@slow\r\n*1\r\n$"
    b"23\r\nnondeterministic_output\r\n*1\r\n*6\r\n$5\r\nflags\r\n*1\r\n+RO\r\n$12\r\nbegin_se"
    b"arch\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:2\r\n$9\r"
    b"\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:"
    b"0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n$-1\r\n"
)

#: MONITOR output captured from redis-server 7.0.15: a pipeline, a transaction, a script,
#: binary and UTF-8 keys, a unix-socket client and a non-zero db
MONITOR_LINES = [
    b'1795792572.303730 [0 127.0.0.1:32894] "SET" "a b" "x"',
    b'1795792578.400805 [0 127.0.0.1:55572] "SET" "bin\\x00\\xff\\"q\\\\\\n\\t" "v"',
    b'1795792578.401013 [0 127.0.0.1:55572] "GET" "\\xc3\\xa9"',
    b'1795792578.401235 [0 127.0.0.1:55572] "GET" "p0"',
    b'1795792578.401237 [0 127.0.0.1:55572] "GET" "p1"',
    b'1795792572.312148 [0 127.0.0.1:32914] "MULTI"',
    b'1795792572.312167 [0 127.0.0.1:32914] "SET" "k" "1"',
    b'1795792572.312170 [0 127.0.0.1:32914] "INCR" "k"',
    b'1795792572.312175 [0 127.0.0.1:32914] "EXEC"',
    b'1795792572.315896 [0 127.0.0.1:32930] "eval" "redis.call(\'get\', KEYS[1]); return 1" "1" "lk"',  # noqa: E501
    b'1795792572.315935 [0 lua] "get" "lk"',
    b'1795792572.319421 [0 127.0.0.1:32932] "mset" "m1" "1" "m2" "2"',
    b'1795792572.326602 [3 unix:/tmp/redis.sock] "get" "in db 3"',
]


def _table() -> CommandTable:
    reader = hiredis.Reader()
    reader.feed(COMMAND_INFO_7_0)
    return CommandTable.from_command_info(reader.gets())


def test_monitor_lines_parse_with_quoting_and_binary_keys() -> None:
    commands = [parse_monitor_line(line) for line in MONITOR_LINES]
    assert commands[0].argv == (b"SET", b"a b", b"x")
    assert commands[1].argv[1] == b'bin\x00\xff"q\\\n\t'
    assert commands[2].argv[1] == "é".encode()
    assert commands[10].client == "lua"
    assert commands[12].db == 3 and commands[12].client == "unix:/tmp/redis.sock"
    assert commands[12].argv == (b"get", b"in db 3")
    assert commands[0].ts == pytest.approx(1795792572.30373)


@pytest.mark.parametrize("line", [b"OK", b'notatime [0 1.2.3.4:5] "GET" "k"', b"123.4 [0 x]"])
def test_monitor_line_errors_name_the_line(line: bytes) -> None:
    with pytest.raises(MonitorLineError, match="MONITOR line"):
        parse_monitor_line(line)


def test_key_specs_find_keys_and_their_access_kind() -> None:
    table = _table()
    keys = [table.keys(parse_monitor_line(line).argv) for line in MONITOR_LINES]
    assert keys[0] == [(b"a b", True)]
    assert keys[2] == [("é".encode(), False)]
    assert keys[5] == [] and keys[8] == []  # MULTI, EXEC
    assert keys[6] == [(b"k", True)]
    assert keys[7] == []  # INCR was not in the captured COMMAND INFO
    assert keys[9] == [(b"lk", True)]  # EVAL: keynum spec, RW (a script may write)
    assert keys[10] == [(b"lk", False)]  # the GET the script ran
    assert keys[11] == [(b"m1", True), (b"m2", True)]


def test_key_specs_for_keyword_keynum_and_subcommands() -> None:
    table = _table()
    xread = [b"XREAD", b"COUNT", b"2", b"STREAMS", b"s1", b"s2", b"0", b"0"]
    assert [k for k, _ in table.keys(xread)] == [b"s1", b"s2"]
    zunion = [b"ZUNIONSTORE", b"dest", b"2", b"a", b"b", b"WEIGHTS", b"1", b"2"]
    assert table.keys(zunion) == [(b"dest", True), (b"a", False), (b"b", False)]
    assert table.keys([b"LMOVE", b"src", b"dst", b"LEFT", b"RIGHT"]) == [
        (b"src", True),
        (b"dst", True),
    ]
    assert table.keys([b"OBJECT", b"FREQ", b"k"]) == [(b"k", False)]
    assert table.keys([b"NOSUCHCOMMAND", b"k"]) == []


def test_pre_7_first_last_step_entries_are_understood() -> None:
    reply = [
        [b"mset", -3, [b"write", b"denyoom"], 1, -1, 2, [b"@write"]],
        [b"get", 2, [b"readonly", b"fast"], 1, 1, 1, [b"@read"]],
        [b"ping", -1, [b"stale"], 0, 0, 0, [b"@fast"]],
    ]
    table = CommandTable.from_command_info(reply)
    assert table.keys([b"MSET", b"a", b"1", b"b", b"2"]) == [(b"a", True), (b"b", True)]
    assert table.keys([b"get", b"x"]) == [(b"x", False)]
    assert table.keys([b"ping", b"x"]) == []


def test_malformed_command_info_is_a_clear_error() -> None:
    with pytest.raises(KeySpecError, match="entry 0"):
        CommandTable.from_command_info([[b"get", 2]])
    with pytest.raises(KeySpecError, match="expected an array"):
        CommandTable.from_command_info(b"nope")


def test_builtin_table_covers_common_cache_commands() -> None:
    table = CommandTable.builtin()
    assert table.keys([b"GET", b"a"]) == [(b"a", False)]
    assert table.keys([b"SETEX", b"a", b"10", b"v"]) == [(b"a", True)]
    assert table.keys([b"MGET", b"a", b"b"]) == [(b"a", False), (b"b", False)]


def test_valkey_hotkeys_reply_in_resp2_and_resp3_shapes() -> None:
    resp2 = [
        [b"key", b"user:1", b"db", 0, b"qps", b"120.5"],
        [b"key", b"cart:\xff", b"db", 2, b"qps", 300],
    ]
    entries = parse_valkey_hotkeys(resp2, "n1:6379", 10.0)
    assert [(e.key, e.ops_per_sec) for e in entries] == [
        ("db2:cart:\\xff", 300.0),
        ("user:1", 120.5),
    ]
    assert all(e.method is Method.SERVER for e in entries)
    resp3 = [{b"key": b"k", b"db": 0, b"qps": 5}]
    assert parse_valkey_hotkeys(resp3, "n1:6379", 10.0)[0].ops_per_sec == 5.0
    assert parse_valkey_hotkeys(None, "n1:6379", 10.0) == []
    with pytest.raises(ServerTrackingError, match="entry 0 lacks key or qps"):
        parse_valkey_hotkeys([[b"key", b"k"]], "n1:6379", 10.0)


def test_redis_hotkeys_reply_gives_shares_not_rates() -> None:
    reply = [
        b"tracking-active", 1, b"sample-ratio", 1, b"selected-slots", [],
        b"all-commands-all-slots-us", 220, b"net-bytes-all-commands-all-slots", 200,
        b"collection-start-time-unix-ms", 1769420604522, b"collection-duration-ms", 6408,
        b"by-cpu-time-us", [b"x", 104, b"y", 98, b"z", 18],
    ]  # fmt: skip
    entries = parse_redis_hotkeys(reply, "n1:6379")
    assert [e.key for e in entries] == ["x", "y", "z"]
    assert entries[0].ops_per_sec is None
    assert entries[0].share == pytest.approx(104 / 220)
    assert entries[0].window_s == pytest.approx(6.408)
    with pytest.raises(ServerTrackingError, match="field/value map"):
        parse_redis_hotkeys([b"odd"], "n1:6379")


def test_hotkeys_command_detection() -> None:
    assert not has_hotkeys_command([None])
    assert has_hotkeys_command([[b"hotkeys", -2, [], 0, 0, 0, [], [], [], []]])


def test_keysizes_histograms_with_unit_suffixes() -> None:
    info = (
        b"# Keysizes\r\ndb0_distrib_strings_sizes:2=1,4=3,1K=2,2M=1\r\n"
        b"db3_distrib_lists_items:8=4\r\n"
    )
    histograms = parse_keysizes(info, "n1:6379")
    assert histograms[0].kind == "strings_sizes" and histograms[0].db == 0
    assert histograms[0].buckets == ((2, 1), (4, 3), (1024, 2), (2 << 20, 1))
    assert histograms[1].db == 3 and histograms[1].buckets == ((8, 4),)
    assert parse_keysizes(b"", "n1:6379") == []
    with pytest.raises(ValueError, match="INFO keysizes of n1:6379"):
        parse_keysizes(b"db0_distrib_strings_sizes:2=x", "n1:6379")


def test_slot_stats_are_ranked_by_cpu() -> None:
    reply = [
        [10, [b"key-count", 3, b"cpu-usec", 50, b"network-bytes-in", 9]],
        [11, [b"key-count", 1, b"cpu-usec", 900, b"network-bytes-in", 9]],
    ]
    assert parse_slot_stats(reply) == [(11, 900), (10, 50)]
    with pytest.raises(ValueError, match="malformed entry"):
        parse_slot_stats([[1]])


def test_memcached_watch_lines_keep_reads_and_writes_apart() -> None:
    # captured from memcached 1.6.18: set foo, get foo, get missing, incr foo, set x%20y
    lines = [
        b"ts=1795792580.269927 gid=2 type=item_get key=foo status=not_found clsid=0 cfd=25 size=0",
        b"ts=1795792580.269932 gid=3 type=item_store key=foo status=stored cmd=set ttl=0 clsid=1 cfd=25 size=3",  # noqa: E501
        b"ts=1795792580.269933 gid=4 type=item_get key=foo status=found clsid=1 cfd=25 size=3",
        b"ts=1795792580.269950 gid=5 type=item_get key=missing status=not_found clsid=0 cfd=25 size=0",  # noqa: E501
        b"ts=1795792580.269965 gid=7 type=item_get key=foo status=found clsid=1 cfd=25 size=3",
        b"ts=1795792580.269968 gid=9 type=item_get key=x%2520y status=not_found clsid=0 cfd=25 size=0",  # noqa: E501
        b"ts=1795792580.269971 gid=10 type=item_store key=x%2520y status=stored cmd=set ttl=0 clsid=1 cfd=25 size=1",  # noqa: E501
        b"ts=1795792580.27 gid=11 skipped=3",
    ]  # fmt: skip
    summary: SpaceSaving[str] = SpaceSaving(10)
    assert fold_watch_lines(lines, summary) == 7
    foo, missing, spaced = summary.get("foo"), summary.get("missing"), summary.get("x%20y")
    assert foo is not None and (foo.reads, foo.writes) == (2, 1)
    assert missing is not None and (missing.reads, missing.writes) == (1, 0)
    assert spaced is not None and (spaced.reads, spaced.writes) == (0, 1)


def test_lfu_counter_to_accesses() -> None:
    assert accesses_for_counter(5, 10) == 0
    assert accesses_for_counter(3, 10) == 0  # decayed below the initial value
    assert accesses_for_counter(6, 10) == 1
    # from 6 to 7 takes 11 accesses on average with the default log factor
    assert accesses_for_counter(7, 10) == 12
    assert accesses_per_increment(7, 10) == 21
    assert accesses_for_counter(255, 10) == pytest.approx(250 + 10 * 250 * 249 / 2)
