"""`--shard i/n`: which of n cachewatch instances polls which target.

A target belongs to shard `hashmod(address, n)`, computed exactly like Prometheus's
`hashmod` relabel action (md5 of the address, the last 8 bytes as a big-endian integer,
modulo n). So the assignment is stable across restarts and machines, needs no coordination,
and a Prometheus `hashmod` relabel rule over the same address agrees with it. Shards are
numbered from 0, as `hashmod` results are. The address is the target's `instance`
(`host:port` or the socket path); discovered cluster nodes are sharded one by one, so every
instance discovers the whole cluster but polls only its own nodes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = ["Shard", "ShardError", "ALL", "parse_shard", "hashmod"]


class ShardError(ValueError):
    """A `--shard` value that cannot be used."""


def hashmod(address: str, modulus: int) -> int:
    """Prometheus's `hashmod`: md5, last 8 bytes big-endian, modulo `modulus`."""
    digest = hashlib.md5(address.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[8:], "big") % modulus


@dataclass(frozen=True, slots=True)
class Shard:
    index: int
    count: int

    def owns(self, address: str) -> bool:
        return self.count == 1 or hashmod(address, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


#: the one shard that owns everything, i.e. no sharding
ALL = Shard(0, 1)


def parse_shard(text: str) -> Shard:
    """`i/n` with 0 <= i < n, e.g. `0/3`, `1/3`, `2/3`."""
    index_text, sep, count_text = text.strip().partition("/")
    if not sep or not index_text.isdigit() or not count_text.isdigit():
        raise ShardError(f"--shard {text!r}: expected i/n with 0 <= i < n, e.g. 0/3")
    index, count = int(index_text), int(count_text)
    if count < 1:
        raise ShardError(f"--shard {text!r}: the number of shards must be at least 1")
    if index >= count:
        raise ShardError(
            f"--shard {text!r}: shard index {index} is out of range; shards are numbered "
            f"0 to {count - 1}"
        )
    return Shard(index, count)
