"""Stable hashes: the same value on every machine, process and run (unlike `hash()`)."""

from __future__ import annotations

import hashlib


def stable_hash64(value: str, salt: str = "") -> int:
    """An unsigned 64-bit hash of a string, stable across processes and Python versions."""
    digest = hashlib.blake2b(value.encode("utf-8"), digest_size=8, person=salt.encode("utf-8")[:16])
    return int.from_bytes(digest.digest(), "little")


def bucket_of(value: str, buckets: int, salt: str = "") -> int:
    return stable_hash64(value, salt) % buckets
