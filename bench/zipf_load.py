"""A cache workload for hot-key benchmarks: Zipf-distributed key accesses over realistic key
names, some writes, pipelined, from several processes, so that the server is the bottleneck.

Keys: `--keys` of them, rank r (1 = hottest) named by one of five patterns chosen by r, so
the share of each pattern is known exactly from the distribution:

    api:v2:user:{id}:profile   session:{uuid}   cache/api/v1/products/{id}
    rate:{ip}:minute           feed:{id}:timeline

Every process pre-builds its pipelines (`--pipeline` commands each, GET or SET by the write
share) from its own seed, then sends them back to back for `--seconds`, counting the replies,
and prints one JSON line per second (`{"t": unix, "ops": n}`) so a bench can read its
throughput before, during and after a measurement (A/B/A).

    python bench/zipf_load.py --port 6379 --fill                 # create the keys once
    python bench/zipf_load.py --port 6379 --seconds 30 --seed 1  # one load process

With `--cluster`, the port is any node of a Redis Cluster: keys go to the primary that owns
their slot (CLUSTER SLOTS), one pipeline per node per batch.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import socket
import sys
import time
import uuid
from collections.abc import Iterator, Sequence

import hiredis

from collectors.keyslot import key_slot

__all__ = [
    "PATTERNS",
    "key_of",
    "pattern_of",
    "zipf_weights",
    "true_top",
    "true_pattern_shares",
    "fill",
]

PATTERNS = (
    "api:v2:user:{id}:profile",
    "session:{id}",
    "cache/api/v1/products/{id}",
    "rate:{id}:minute",
    "feed:{id}:timeline",
)


def pattern_of(rank: int) -> int:
    """Which pattern the key of `rank` uses (a fixed spread, so each has hot and cold keys)."""
    return (rank * 7 + rank // 5) % len(PATTERNS)


def key_of(rank: int) -> str:
    kind = pattern_of(rank)
    if kind == 0:
        return f"api:v2:user:{100_000 + rank * 37}:profile"
    if kind == 1:
        return f"session:{uuid.UUID(int=(rank * 2_654_435_761) % (1 << 128))}"
    if kind == 2:
        return f"cache/api/v1/products/{rank * 13 + 7}"
    if kind == 3:
        return f"rate:10.{rank >> 16 & 255}.{rank >> 8 & 255}.{rank & 255}:minute"
    return f"feed:{rank}:timeline"


def zipf_weights(keys: int, exponent: float) -> list[float]:
    return [1.0 / (rank**exponent) for rank in range(1, keys + 1)]


def true_top(n: int) -> list[str]:
    return [key_of(rank) for rank in range(1, n + 1)]


def true_pattern_shares(keys: int, exponent: float) -> dict[str, float]:
    weights = zipf_weights(keys, exponent)
    total = sum(weights)
    shares = dict.fromkeys(PATTERNS, 0.0)
    for rank, weight in enumerate(weights, 1):
        shares[PATTERNS[pattern_of(rank)]] += weight / total
    return shares


def _command(*args: str | bytes) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _replies(sock: socket.socket, reader: hiredis.Reader, count: int) -> int:
    got = 0
    while got < count:
        reply = reader.gets()
        if reply is False:
            data = sock.recv(1 << 16)
            if not data:
                raise ConnectionError("server closed the connection")
            reader.feed(data)
            continue
        got += 1
    return got


def slot_owners(port: int) -> list[int]:
    """slot → the port of the primary that serves it (from CLUSTER SLOTS on any node)."""
    sock, reader = _connect(port), hiredis.Reader()
    sock.sendall(_command("CLUSTER", "SLOTS"))
    reply = None
    while reply is None or reply is False:
        data = sock.recv(1 << 16)
        reader.feed(data)
        reply = reader.gets()
    sock.close()
    owners = [0] * 16384
    for first, last, primary, *_ in reply:
        for slot in range(first, last + 1):
            owners[slot] = int(primary[1])
    return owners


def _route(keys: Sequence[str], owners: list[int] | None, port: int) -> dict[int, list[str]]:
    routed: dict[int, list[str]] = {}
    for key in keys:
        node = owners[key_slot(key.encode())] if owners else port
        routed.setdefault(node, []).append(key)
    return routed


def fill(port: int, keys: int, value_size: int = 64, cluster: bool = False) -> None:
    owners = slot_owners(port) if cluster else None
    value = b"v" * value_size
    connections: dict[int, tuple[socket.socket, hiredis.Reader]] = {}
    for start in range(1, keys + 1, 1000):
        names = [key_of(r) for r in range(start, min(keys, start + 999) + 1)]
        for node, batch in _route(names, owners, port).items():
            if node not in connections:
                connections[node] = (_connect(node), hiredis.Reader())
            sock, reader = connections[node]
            sock.sendall(b"".join(_command("SET", key, value) for key in batch))
            _replies(sock, reader, len(batch))
    for sock, _ in connections.values():
        sock.close()


#: one batch: per node port, its pipelined commands and how many
Batch = list[tuple[int, bytes, int]]


def _batches(
    keys: int,
    exponent: float,
    write_share: float,
    pipeline: int,
    seed: int,
    count: int,
    owners: list[int] | None,
    port: int,
) -> list[Batch]:
    chooser = random.Random(seed)
    cumulative = list(itertools.accumulate(zipf_weights(keys, exponent)))
    total = cumulative[-1]
    value = b"w" * 64
    out = []
    for _ in range(count):
        names = [
            key_of(bisect.bisect_left(cumulative, chooser.random() * total) + 1)
            for _ in range(pipeline)
        ]
        batch: Batch = []
        for node, routed in _route(names, owners, port).items():
            commands = [
                _command("SET", key, value)
                if chooser.random() < write_share
                else _command("GET", key)
                for key in routed
            ]
            batch.append((node, b"".join(commands), len(commands)))
        out.append(batch)
    return out


def run(port: int, seconds: float, batches: Sequence[Batch]) -> Iterator[dict]:  # type: ignore[type-arg]
    """Send the batches round-robin for `seconds`; yield `{"t", "ops"}` each second."""
    connections: dict[int, tuple[socket.socket, hiredis.Reader]] = {}
    end = time.monotonic() + seconds
    second_end = time.monotonic() + 1.0
    done = 0
    try:
        for batch in itertools.cycle(batches):
            for node, payload, _ in batch:
                if node not in connections:
                    connections[node] = (_connect(node), hiredis.Reader())
                connections[node][0].sendall(payload)
            for node, _, count in batch:
                sock, reader = connections[node]
                done += _replies(sock, reader, count)
            now = time.monotonic()
            if now >= second_end:
                yield {"t": time.time(), "ops": done}
                done = 0
                second_end += 1.0
            if now >= end:
                return
    finally:
        for sock, _ in connections.values():
            sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--exponent", type=float, default=1.0)
    parser.add_argument("--writes", type=float, default=0.15)
    parser.add_argument("--pipeline", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fill", action="store_true", help="create the keys and exit")
    parser.add_argument("--cluster", action="store_true", help="the port is a cluster node")
    args = parser.parse_args()
    if args.fill:
        fill(args.port, args.keys, cluster=args.cluster)
        return
    owners = slot_owners(args.port) if args.cluster else None
    batches = _batches(
        args.keys, args.exponent, args.writes, args.pipeline, args.seed, 2000, owners, args.port
    )
    for line in run(args.port, args.seconds, batches):
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    sys.exit(main())
