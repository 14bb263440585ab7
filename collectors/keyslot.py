"""Redis Cluster's key → hash slot function (CRC16-XMODEM of the hash tag, mod 16384).

Kept here rather than borrowed from redis-py, which the core does not depend on (it is the
demo's load generator only).
"""

from __future__ import annotations

from binascii import crc_hqx

__all__ = ["HASH_SLOTS", "key_slot"]

HASH_SLOTS = 16384


def key_slot(key: bytes) -> int:
    """The slot of `key`: only the part inside the first non-empty `{...}` is hashed, so
    keys sharing a hash tag share a slot (the cluster spec's rule)."""
    start = key.find(b"{")
    if start > -1:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    return crc_hqx(key, 0) % HASH_SLOTS
