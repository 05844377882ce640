"""Stable hashes: the same value on every machine, process and run (unlike `hash()`)."""

from __future__ import annotations

import hashlib

import numpy as np


def stable_hash64(value: str, salt: str = "") -> int:
    """An unsigned 64-bit hash of a string, stable across processes and Python versions."""
    digest = hashlib.blake2b(value.encode("utf-8"), digest_size=8, person=salt.encode("utf-8")[:16])
    return int.from_bytes(digest.digest(), "little")


def bucket_of(value: str, buckets: int, salt: str = "") -> int:
    return stable_hash64(value, salt) % buckets


KEY_SPACE = 1 << 63  # output placement keys are 63-bit


def file_index(key, n_files: int):
    """Which of `n_files` equal ranges of the 63-bit key space holds `key` (an int or a
    numpy uint64 array): rows sorted by key fill the files one after another."""
    width = -(-KEY_SPACE // max(1, n_files))
    return key // width if isinstance(key, int) else key // np.uint64(width)
