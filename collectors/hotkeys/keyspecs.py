"""Which arguments of a command are keys, and whether it reads or writes them.

Built from the server's own `COMMAND INFO` reply: Redis 7+/Valkey describe each command's
keys with key specs (`begin_search` index/keyword + `find_keys` range/keynum, with RO/RW/
OW/RM flags); older servers only give first/last/step positions. Where `COMMAND` is
refused (managed services), a small built-in table covers the usual cache commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["KeySpec", "CommandKeys", "CommandTable", "KeySpecError"]


class KeySpecError(ValueError):
    """A `COMMAND INFO` reply that does not have the documented shape."""


@dataclass(frozen=True, slots=True)
class KeySpec:
    begin_type: str  # "index" | "keyword" | "unknown"
    index: int = 0  # begin_search index, or keyword startfrom
    keyword: bytes = b""
    find_type: str = "range"  # "range" | "keynum" | "unknown"
    lastkey: int = 0
    keystep: int = 1
    limit: int = 0
    keynumidx: int = 0
    firstkey: int = 1
    write: bool | None = None


@dataclass(frozen=True, slots=True)
class CommandKeys:
    specs: tuple[KeySpec, ...]
    write: bool | None  # the command's own write/readonly flag, for specs without flags


_COMMON_READS = (
    "get getex strlen getrange ttl pttl type hget hmget hgetall hexists hlen hkeys hvals "
    "lrange llen lindex scard smembers sismember zscore zrange zrevrange zrank zcard "
    "bitcount getbit"
)
_COMMON_WRITES = (
    "set setex psetex setnx append incr incrby decr decrby incrbyfloat getset getdel "
    "expire pexpire persist hset hsetnx hdel hincrby lpush rpush lpop rpop sadd srem zadd zrem "
    "zincrby setbit"
)


class CommandTable:
    """Command name (lower-case, `container|sub` for subcommands) -> how to find its keys."""

    def __init__(self, commands: dict[str, CommandKeys]) -> None:
        self._commands = commands

    def __len__(self) -> int:
        return len(self._commands)

    @classmethod
    def builtin(cls) -> CommandTable:
        """The fallback when the server refuses `COMMAND`: single-key cache commands,
        plus the multi-key ones whose layout every version agrees on."""
        table: dict[str, CommandKeys] = {}
        for names, write in ((_COMMON_READS, False), (_COMMON_WRITES, True)):
            for name in names.split():
                table[name] = CommandKeys((KeySpec("index", 1, write=write),), write)
        table["mget"] = CommandKeys((KeySpec("index", 1, lastkey=-1, write=False),), False)
        table["mset"] = CommandKeys((KeySpec("index", 1, lastkey=-1, keystep=2, write=True),), True)
        table["del"] = CommandKeys((KeySpec("index", 1, lastkey=-1, write=True),), True)
        table["unlink"] = table["del"]
        table["exists"] = CommandKeys((KeySpec("index", 1, lastkey=-1, write=False),), False)
        return cls(table)

    @classmethod
    def from_command_info(cls, reply: Any) -> CommandTable:
        """Parse the reply of `COMMAND INFO` (or `COMMAND`) as hiredis returns it (RESP2)."""
        if not isinstance(reply, list):
            raise KeySpecError(f"COMMAND INFO: expected an array, got {type(reply).__name__}")
        table: dict[str, CommandKeys] = {}
        for position, entry in enumerate(reply):
            if entry is None:  # COMMAND INFO of an unknown name
                continue
            try:
                _add_entry(table, entry, parent=None)
            except (IndexError, TypeError, ValueError) as exc:
                raise KeySpecError(f"COMMAND INFO: entry {position} is malformed: {exc}") from None
        return cls(table)

    def lookup(self, argv: Sequence[bytes]) -> CommandKeys | None:
        if not argv:
            return None
        name = argv[0].lower().decode("latin-1")
        if len(argv) > 1:
            sub = self._commands.get(f"{name}|{argv[1].lower().decode('latin-1')}")
            if sub is not None:
                return sub
        return self._commands.get(name)

    def keys(self, argv: Sequence[bytes]) -> list[tuple[bytes, bool | None]]:
        """The key arguments of one command line, each with write=True/False/None."""
        command = self.lookup(argv)
        if command is None:
            return []
        found: list[tuple[bytes, bool | None]] = []
        argc = len(argv)
        for spec in command.specs:
            write = spec.write if spec.write is not None else command.write
            for index in _key_positions(spec, argv, argc):
                found.append((argv[index], write))
        return found


def _key_positions(spec: KeySpec, argv: Sequence[bytes], argc: int) -> range:
    empty = range(0)
    if spec.begin_type == "index":
        first = spec.index
    elif spec.begin_type == "keyword":
        first = _keyword_position(spec, argv, argc)
        if first < 0:
            return empty
    else:
        return empty
    if first <= 0 or first >= argc:
        return empty
    step = max(1, spec.keystep)
    if spec.find_type == "range":
        if spec.lastkey >= 0:
            last = first + spec.lastkey
        elif spec.limit > 1:
            last = first + ((argc - first) // spec.limit + spec.lastkey)
        else:
            last = argc + spec.lastkey
        return range(first, min(last, argc - 1) + 1, step)
    if spec.find_type == "keynum":
        numkeys_at = first + spec.keynumidx
        if numkeys_at >= argc:
            return empty
        try:
            numkeys = int(argv[numkeys_at])
        except ValueError:
            return empty
        start = first + spec.firstkey
        stop = min(start + numkeys * step, argc)
        return range(start, stop, step) if numkeys > 0 else empty
    return empty


def _keyword_position(spec: KeySpec, argv: Sequence[bytes], argc: int) -> int:
    keyword = spec.keyword.lower()
    # A negative startfrom searches backwards from the end (e.g. the last STREAMS keyword).
    forward = spec.index >= 0
    candidates = range(spec.index, argc) if forward else range(argc + spec.index, 0, -1)
    for index in candidates:
        if 0 < index < argc and argv[index].lower() == keyword:
            return index + 1
    return -1


def _pairs(flat: Any) -> dict[str, Any]:
    """RESP2 flattens maps into [k1, v1, k2, v2, ...]; RESP3 gives a dict."""
    if isinstance(flat, dict):
        return {_text(k): v for k, v in flat.items()}
    if not isinstance(flat, list) or len(flat) % 2:
        raise ValueError(f"expected a field/value list, got {flat!r:.80}")
    return {_text(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)}


def _text(value: Any) -> str:
    return value.decode("latin-1").lower() if isinstance(value, bytes) else str(value).lower()


def _add_entry(table: dict[str, CommandKeys], entry: list[Any], parent: str | None) -> None:
    name = _text(entry[0])
    flags = {_text(f) for f in entry[2]}
    write = True if "write" in flags else (False if "readonly" in flags else None)
    first, last, step = int(entry[3]), int(entry[4]), int(entry[5])
    specs: list[KeySpec] = []
    if len(entry) > 8 and entry[8]:
        specs = [_parse_spec(raw) for raw in entry[8]]
    elif first > 0:
        # Pre-7.0 servers: last is absolute, or negative counting from the end.
        lastkey = last - first if last >= 0 else last
        specs = [KeySpec("index", first, lastkey=lastkey, keystep=step or 1)]
    table[name] = CommandKeys(tuple(specs), write)
    if len(entry) > 9 and entry[9]:
        for sub in entry[9]:
            _add_entry(table, sub, parent=name)


def _parse_spec(raw: Any) -> KeySpec:
    fields = _pairs(raw)
    spec_flags = {_text(f) for f in fields.get("flags", [])}
    write: bool | None = None
    if spec_flags & {"rw", "ow", "rm", "insert", "update", "delete"}:
        write = True
    elif "ro" in spec_flags:
        write = False
    begin = _pairs(fields["begin_search"])
    begin_type = _text(begin["type"])
    begin_spec = _pairs(begin["spec"]) if begin.get("spec") else {}
    find = _pairs(fields["find_keys"])
    find_type = _text(find["type"])
    find_spec = _pairs(find["spec"]) if find.get("spec") else {}
    keyword = begin_spec.get("keyword", b"")
    return KeySpec(
        begin_type=begin_type,
        index=int(begin_spec.get("index", begin_spec.get("startfrom", 0))),
        keyword=keyword if isinstance(keyword, bytes) else str(keyword).encode(),
        find_type=find_type,
        lastkey=int(find_spec.get("lastkey", 0)),
        keystep=int(find_spec.get("keystep", 1)),
        limit=int(find_spec.get("limit", 0)),
        keynumidx=int(find_spec.get("keynumidx", 0)),
        firstkey=int(find_spec.get("firstkey", 1)),
        write=write,
    )
