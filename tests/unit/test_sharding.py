"""`--shard i/n`: parsing, Prometheus-compatible hashmod, a partition of the targets."""

from __future__ import annotations

import hashlib
import struct

import pytest

from monitor.sharding import ALL, Shard, ShardError, hashmod, parse_shard


def go_hashmod(address: str, modulus: int) -> int:
    """Prometheus's relabel.go: `binary.BigEndian.Uint64(md5.Sum(val)[8:]) % mod`."""
    (tail,) = struct.unpack(">Q", hashlib.md5(address.encode()).digest()[8:])
    return int(tail % modulus)


@pytest.mark.parametrize("address", ["10.0.0.5:6379", "redis-7.cache:7001", "/run/redis.sock"])
@pytest.mark.parametrize("modulus", [1, 2, 3, 7, 64])
def test_hashmod_matches_prometheus(address: str, modulus: int) -> None:
    assert hashmod(address, modulus) == go_hashmod(address, modulus)


def test_shards_partition_the_targets() -> None:
    addresses = [f"10.0.{i // 250}.{i % 250}:6379" for i in range(3000)]
    shards = [parse_shard(f"{i}/3") for i in range(3)]
    owners = [[shard for shard in shards if shard.owns(address)] for address in addresses]
    assert all(len(found) == 1 for found in owners)
    counts = [sum(1 for found in owners if found[0] == shard) for shard in shards]
    assert min(counts) > 800  # balanced enough: the hash spreads, it doesn't clump


def test_single_shard_owns_everything() -> None:
    assert parse_shard("0/1") == ALL
    assert ALL.owns("anything:1")
    assert str(Shard(2, 5)) == "2/5"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3", "expected i/n"),
        ("a/3", "expected i/n"),
        ("-1/3", "expected i/n"),
        ("0/0", "at least 1"),
        ("3/3", "shards are numbered 0 to 2"),
    ],
)
def test_bad_shard_values_are_explained(text: str, message: str) -> None:
    with pytest.raises(ShardError, match=message):
        parse_shard(text)
