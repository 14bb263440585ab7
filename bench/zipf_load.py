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


def fill(port: int, keys: int, value_size: int = 64) -> None:
    sock, reader = _connect(port), hiredis.Reader()
    value = b"v" * value_size
    for start in range(1, keys + 1, 1000):
        ranks = range(start, min(keys, start + 999) + 1)
        sock.sendall(b"".join(_command("SET", key_of(r), value) for r in ranks))
        _replies(sock, reader, len(ranks))
    sock.close()


def _batches(
    keys: int, exponent: float, write_share: float, pipeline: int, seed: int, count: int
) -> list[bytes]:
    chooser = random.Random(seed)
    cumulative = list(itertools.accumulate(zipf_weights(keys, exponent)))
    total = cumulative[-1]
    value = b"w" * 64
    out = []
    for _ in range(count):
        commands = []
        for _ in range(pipeline):
            rank = bisect.bisect_left(cumulative, chooser.random() * total) + 1
            key = key_of(rank)
            if chooser.random() < write_share:
                commands.append(_command("SET", key, value))
            else:
                commands.append(_command("GET", key))
        out.append(b"".join(commands))
    return out


def run(port: int, seconds: float, batches: Sequence[bytes], pipeline: int) -> Iterator[dict]:  # type: ignore[type-arg]
    """Send the batches round-robin for `seconds`; yield `{"t", "ops"}` each second."""
    sock, reader = _connect(port), hiredis.Reader()
    end = time.monotonic() + seconds
    second_end = time.monotonic() + 1.0
    done = 0
    try:
        for batch in itertools.cycle(batches):
            sock.sendall(batch)
            done += _replies(sock, reader, pipeline)
            now = time.monotonic()
            if now >= second_end:
                yield {"t": time.time(), "ops": done}
                done = 0
                second_end += 1.0
            if now >= end:
                return
    finally:
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
    args = parser.parse_args()
    if args.fill:
        fill(args.port, args.keys)
        return
    batches = _batches(args.keys, args.exponent, args.writes, args.pipeline, args.seed, 2000)
    for line in run(args.port, args.seconds, batches, args.pipeline):
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    sys.exit(main())
