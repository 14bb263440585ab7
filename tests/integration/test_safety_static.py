"""Static read-only check: every Redis command and memcached command line that the code under
`collectors/` and `monitor/` spells out as a literal is one the safety rules allow.

A heuristic over the syntax tree: a Redis command is a tuple or a call argument list whose
first string is the name of a real Redis command (the vocabulary comes from `COMMAND LIST` of
a real server and a real Sentinel, so header tuples like `("SERIES", "VALUE")` don't count);
a memcached command is a string or bytes literal in the memcached modules that starts with a
memcached verb. Each test proves the heuristic catches a planted violation.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.servers import LocalRedis, LocalSentinel

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [ROOT / "collectors", ROOT / "monitor"]

#: PRODUCT.md's allowlist, plus what opening a connection needs
ALLOWED = {
    ("INFO", None),
    ("LATENCY", "LATEST"),
    ("LATENCY", "HISTORY"),
    ("LATENCY", "HISTOGRAM"),
    ("LATENCY", "DOCTOR"),
    ("SLOWLOG", "GET"),
    ("SLOWLOG", "LEN"),
    ("CLIENT", "LIST"),
    ("CLUSTER", "INFO"),
    ("CLUSTER", "NODES"),
    ("CLUSTER", "SHARDS"),
    ("MEMORY", "STATS"),
    ("MEMORY", "USAGE"),
    ("MEMORY", "DOCTOR"),
    ("CONFIG", "GET"),
    ("SCAN", None),
    ("OBJECT", "FREQ"),
    ("TYPE", None),
    ("TTL", None),
    ("MONITOR", None),
    ("AUTH", None),
    ("HELLO", None),
    ("PING", None),
    ("CLIENT", "SETNAME"),
    ("COMMAND", "INFO"),
    ("COMMAND", "DOCS"),
    ("READONLY", None),
}
#: read-only commands beyond PRODUCT.md's list that the code uses, each reviewed: a new one
#: makes this test fail until someone has looked at it and added it here
REVIEWED_EXTRAS = {
    ("SELECT", None),  # the db of a `redis://host/db` URL; per connection, not a write
    ("COMMAND", None),  # the command table, when COMMAND INFO without names is refused
    ("CLUSTER", "GETKEYSINSLOT"),  # key names of sampled slots, bounded count, read-only
    ("CLUSTER", "SLOT-STATS"),  # Valkey 8 per-slot CPU, read-only
    ("HOTKEYS", "GET"),  # the server's own hot-key tracking (where it exists)
    ("HOTKEYS", "START"),  # starts that tracking for a bounded DURATION; no data written
    # a Sentinel's view of what it watches (discovery, the redis_sentinel collector)
    ("SENTINEL", "MASTERS"),
    ("SENTINEL", "MASTER"),
    ("SENTINEL", "REPLICAS"),
    ("SENTINEL", "SLAVES"),
    ("SENTINEL", "SENTINELS"),
    ("SENTINEL", "GET-MASTER-ADDR-BY-NAME"),
    ("SENTINEL", "CKQUORUM"),  # counts the usable Sentinels; changes nothing
}
#: never, whatever the heuristics say elsewhere (PRODUCT.md's explicit list, plus writes)
FORBIDDEN = {"KEYS", "FLUSHALL", "FLUSHDB", "DEBUG", "SHUTDOWN", "SET", "DEL", "UNLINK"}
FORBIDDEN_PAIRS = {
    ("CONFIG", "SET"),
    ("CONFIG", "REWRITE"),
    ("CONFIG", "RESETSTAT"),
    # what would change a Sentinel's mind or its fleet
    ("SENTINEL", "FAILOVER"),
    ("SENTINEL", "RESET"),
    ("SENTINEL", "REMOVE"),
    ("SENTINEL", "MONITOR"),
    ("SENTINEL", "SET"),
    ("SENTINEL", "CONFIG"),
    ("SENTINEL", "FLUSHCONFIG"),
    ("SENTINEL", "SIMULATE-FAILURE"),
    ("SENTINEL", "DEBUG"),
}
#: commands that Redis 7.0 lacks but newer servers have
NEWER_COMMANDS = {"HOTKEYS"}

#: functions that send a command: their literal arguments and the tuples inside them count
_CALLS = {"execute", "pipeline", "run_command", "execute_command", "send_command"}


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[LocalRedis, LocalSentinel]]:
    """A server and a Sentinel watching it: their command tables differ (SENTINEL)."""
    server = LocalRedis().start()
    try:
        sentinel = LocalSentinel(master_port=server.port).start()
        try:
            yield server, sentinel
        finally:
            sentinel.stop()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def vocabulary(servers: tuple[LocalRedis, LocalSentinel]) -> frozenset[str]:
    names: set[str] = set()
    for process in servers:
        with redis.Redis(port=process.port, decode_responses=True) as conn:
            names.update(str(name).upper() for name in conn.command_list())
    return frozenset(names) | NEWER_COMMANDS


def _words(nodes: list[ast.expr]) -> list[str | None]:
    """String constants as they are, anything else as None (a runtime argument)."""
    return [
        n.value if isinstance(n, ast.Constant) and isinstance(n.value, str) else None for n in nodes
    ]


def _is_command_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")) in _CALLS


def _is_command_append(node: ast.AST) -> bool:
    """`commands.append((...))`: a command list built up before a pipeline call."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("append", "extend", "insert")
        and "command" in ast.unparse(node.func.value).lower()
    )


def _builds_commands(node: ast.AST) -> bool:
    """A function that hands commands to someone else to send: a collector's `prefetch`
    (its commands join the poll's pipeline) or a helper like `_commands(ctx)`."""
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
        node.name == "prefetch" or "command" in node.name.lower()
    )


def _sent_nodes(tree: ast.AST) -> Iterator[tuple[ast.AST, list[str | None]]]:
    """Tuples inside a command call, a command-list append or what a command-building
    function returns, and the command calls' own argument lists (`execute("SCAN", cursor)`),
    with their words."""
    for function in ast.walk(tree):
        if _builds_commands(function):
            for returned in ast.walk(function):
                if isinstance(returned, ast.Return) and returned.value is not None:
                    for node in ast.walk(returned.value):
                        if isinstance(node, ast.Tuple):
                            yield node, _words(node.elts)
    for call in ast.walk(tree):
        if _is_command_call(call):
            assert isinstance(call, ast.Call)
            words = _words(call.args)
            # run_command(conn, ctx, "CLUSTER", "INFO"): skip the leading non-literals
            while words and words[0] is None:
                words.pop(0)
            yield call, words
        if _is_command_call(call) or _is_command_append(call):
            for node in ast.walk(call):
                if isinstance(node, ast.Tuple):
                    yield node, _words(node.elts)


def redis_commands(
    source: str, vocabulary: frozenset[str]
) -> Iterator[tuple[int, str, str | None]]:
    """(line, command, subcommand) of every Redis command literal in `source`."""
    seen = set()
    for node, words in _sent_nodes(ast.parse(source)):
        if not words or words[0] is None or words[0].upper() not in vocabulary:
            continue
        command = words[0].upper()
        sub = words[1] if len(words) > 1 else None
        if sub is not None and not re.fullmatch(r"[A-Za-z][A-Za-z-]*", sub):
            sub = None  # an argument such as "lfu-*", not a subcommand
        found = (getattr(node, "lineno", 0), command, sub.upper() if sub else None)
        if found not in seen:
            seen.add(found)
            yield found


def classify(command: str, sub: str | None) -> str | None:
    """Why this command may not be sent, or None when it may."""
    if command in FORBIDDEN or (command, sub) in FORBIDDEN_PAIRS:
        return "forbidden by the safety rules"
    known = ALLOWED | REVIEWED_EXTRAS
    if (command, sub) in known or (command, None) in known:
        return None
    return "not on the allowlist (review it, then add it to REVIEWED_EXTRAS if read-only)"


def violations(paths: list[Path], vocabulary: frozenset[str]) -> list[str]:
    found = []
    for path in paths:
        for line, command, sub in sorted(redis_commands(path.read_text(), vocabulary)):
            reason = classify(command, sub)
            if reason:
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                found.append(f"{where}:{line}: {command} {sub or ''}: {reason}")
    return found


def python_files() -> list[Path]:
    return sorted(p for base in SCANNED for p in base.rglob("*.py"))


PLANTED_REDIS = """
def prefetch(self, ctx):
    return [("DEBUG", "SLEEP", 0)]


async def tidy(conn, ctx):
    await conn.pipeline([("CONFIG", "SET", "maxmemory", "0"), ("INFO", "server")])
    await conn.execute("KEYS", "*")
    await run_command(conn, ctx, "FLUSHALL")
    await conn.pipeline([("HSET", key, "f", "v")])
    await conn.pipeline([("CLUSTER", "RESET")])
    await conn.pipeline([("SENTINEL", "FAILOVER", name)])
"""


def test_planted_redis_writes_are_caught(vocabulary: frozenset[str], tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text(PLANTED_REDIS)
    found = violations([planted], vocabulary)
    assert [v.split(": ")[1].strip() for v in found] == [
        "DEBUG SLEEP",
        "CONFIG SET",
        "KEYS",
        "FLUSHALL",
        "HSET",
        "CLUSTER RESET",
        "SENTINEL FAILOVER",
    ], found
    # and the allowed ones in the same file pass: INFO SERVER is not reported
    assert not any("INFO" in v for v in found)


def test_code_sends_only_allowlisted_redis_commands(vocabulary: frozenset[str]) -> None:
    files = python_files()
    assert len(files) > 50, "the scan found too few files to mean anything"
    found = violations(files, vocabulary)
    assert not found, "\n".join(found)
    seen = {(c, s) for p in files for _, c, s in redis_commands(p.read_text(), vocabulary)}
    # the heuristic sees the collectors' commands, so an empty result above means something
    for expected in (
        ("INFO", "ALL"),
        ("SLOWLOG", "GET"),
        ("CONFIG", "GET"),
        ("MONITOR", None),
        ("SENTINEL", "MASTERS"),
    ):
        assert expected in seen, f"the scan missed {expected}: saw {sorted(seen, key=str)}"


def test_reviewed_extras_are_not_write_commands(
    servers: tuple[LocalRedis, LocalSentinel],
) -> None:
    """The servers' own flags back the review: none of the extras is a write (SENTINEL
    subcommands are looked up in the Sentinel's table, the rest in the server's)."""
    server, sentinel = servers
    checked = 0
    for command, sub in REVIEWED_EXTRAS:
        if command in NEWER_COMMANDS:
            continue
        name = f"{command}|{sub}".lower() if sub else command.lower()
        # a raw connection: redis-py's reply parsers don't know COMMAND INFO's shape
        port = sentinel.port if command == "SENTINEL" else server.port
        conn = redis.Connection(port=port, decode_responses=True)
        try:
            conn.send_command("COMMAND", "INFO", name)
            info = conn.read_response()
        finally:
            conn.disconnect()
        if not info or info[0] is None:
            continue  # a subcommand of a newer server (CLUSTER SLOT-STATS)
        flags = {str(f) for f in info[0][2]}
        assert "write" not in flags, f"{name} is a write command: {flags}"
        checked += 1
    assert checked >= 10, "the flags of too few extras were found"


#: memcached verbs that store, delete or change anything on the server
_MEMCACHED_WRITES = re.compile(
    r"^(set|add|replace|append|prepend|cas|delete|incr|decr|touch|gat|gats|flush_all"
    r"|verbosity|shutdown|cache_memlimit|ms|md|ma|me|mn"
    r"|slabs (reassign|automove)|lru (tune|mode|temp_ttl)"
    r"|lru_crawler (crawl|enable|disable|tocrawl|sleep|mgr))( |\r\n)"
)
_MEMCACHED_ALLOWED = re.compile(r"^(stats|watch|lru_crawler metadump|version)( |\r\n)")


def memcached_command_literals(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every literal that looks like the start of a memcached command line
    (a verb followed by a space or CRLF, so `errors="replace"` is not one)."""
    seen = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            parts = node.values[:1]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            parts = [node]
        else:
            continue
        for part in parts:
            if isinstance(part, ast.Constant) and isinstance(part.value, str | bytes):
                text = part.value.decode("latin-1") if isinstance(part.value, bytes) else part.value
                looks_sent = _MEMCACHED_WRITES.match(text) or _MEMCACHED_ALLOWED.match(text)
                if looks_sent and (node.lineno, text) not in seen:
                    seen.add((node.lineno, text))
                    yield node.lineno, text


def memcached_violations(paths: list[Path]) -> list[str]:
    return [
        f"{path.name}:{line}: {text!r}"
        for path in paths
        for line, text in sorted(memcached_command_literals(path.read_text()))
        if _MEMCACHED_WRITES.match(text)
    ]


def memcached_files() -> list[Path]:
    return sorted(
        [
            *ROOT.joinpath("collectors").glob("memcached_*.py"),
            *ROOT.joinpath("collectors", "hotkeys").glob("memcached_*.py"),
        ]
    )


def test_planted_memcached_writes_are_caught(tmp_path: Path) -> None:
    planted = tmp_path / "memcached_planted.py"
    planted.write_text(
        'writer.write(b"flush_all\\r\\n")\n'
        'writer.write(f"set {key} 0 0 {len(value)}\\r\\n".encode())\n'
        'writer.write(b"stats slabs\\r\\n")\n'
        'command = "lru_crawler crawl all"\n'
    )
    found = memcached_violations([planted])
    assert [f.split(": ", 1)[1] for f in found] == [
        "'flush_all\\r\\n'",
        "'set '",
        "'lru_crawler crawl all'",
    ], found


def test_memcached_code_sends_only_stats_watch_and_metadump() -> None:
    files = memcached_files()
    assert files, "no memcached modules found"
    assert not memcached_violations(files)
    sent = {text.split()[0] for p in files for _, text in memcached_command_literals(p.read_text())}
    assert {"stats", "watch", "lru_crawler"} <= sent, sent
