"""MinHash signatures and LSH band hashes, vectorised with numpy over all shingles of a
document.

The hash scheme is datasketch's, so a signature equals `datasketch.MinHash(num_perm,
seed, scheme, hashfunc)` updated with the same shingles: each shingle (UTF-8 bytes) is
hashed to 32 bits (xxHash's xxh32 by default, or SHA-1 as datasketch's own
`sha1_hash32`), then permuted by the same `numpy.random.RandomState(seed)` parameters.
Only the loop differs: one matrix (shingles x permutations) per document instead of one
numpy call per shingle.
"""

from __future__ import annotations

import hashlib

import numpy as np
import xxhash

from ccforge.dedup.config import MinhashDedupConfig
from ccforge.chinese_script import to_simplified
from ccforge.dedup.normalize import char_script_share

_MERSENNE_PRIME = np.uint64((1 << 61) - 1)
_MAX_HASH32 = np.uint64((1 << 32) - 1)
# Rows of the (shingles x permutations) matrix at a time: bounds memory on huge pages.
_BLOCK = 4096
# A text counts as written without word spaces when this share of its letters is CJK & co.
_CHAR_SCRIPT_SHARE = 0.3


def word_shingles(normalized: str, n: int) -> list[bytes]:
    """Word n-grams joined by one space (UTF-8); a text of n words or fewer is one shingle.

    `normalized` has single spaces between words, so each shingle is a slice of its
    bytes between word boundaries: no per-shingle join."""
    data = normalized.encode()
    if not data:
        return []
    spaces = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 32)
    if len(spaces) < n:
        return [data]
    starts = [0, *(spaces + 1).tolist()]
    ends = [*spaces.tolist(), len(data)]
    return [data[start:end] for start, end in zip(starts[: len(starts) - n + 1], ends[n - 1 :])]


def char_shingles(normalized: str, n: int) -> list[bytes]:
    """Character n-grams over the text without spaces (spaces mean little in CJK text)."""
    chars = normalized.replace(" ", "")
    if len(chars) <= n:
        return [chars.encode()] if chars else []
    return [chars[i : i + n].encode() for i in range(len(chars) - n + 1)]


def sha1_hash32_array(shingles: list[bytes]) -> np.ndarray:
    """datasketch's `sha1_hash32` (first 4 bytes of SHA-1, little endian) of every shingle."""
    digests = b"".join([hashlib.sha1(s).digest() for s in shingles])
    return np.frombuffer(digests, dtype="<u4").reshape(-1, 5)[:, 0]


def xxh32_array(shingles: list[bytes]) -> np.ndarray:
    """xxHash32 (seed 0) of every shingle: `xxhash.xxh32_intdigest`, without a Python frame per shingle."""
    return np.fromiter(map(xxhash.xxh32_intdigest, shingles), dtype=np.uint32, count=len(shingles))


_SHINGLE_HASHES = {"xxh32": xxh32_array, "sha1": sha1_hash32_array}


def _fmix32(h: np.ndarray) -> np.ndarray:
    # MurmurHash3's finalizer, as datasketch's affine32 scheme applies before permuting.
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


class MinHasher:
    """Shingles, signatures and band hashes for one `MinhashDedupConfig`."""

    def __init__(self, config: MinhashDedupConfig):
        config.validate()
        self.config = config
        self.num_perm = config.num_perm
        self._hash_shingles = _SHINGLE_HASHES[config.shingle_hash]
        self._char_languages = frozenset(lang.lower() for lang in config.char_shingle_languages)
        # The same draws, in the same order, as datasketch.MinHash._init_permutations.
        gen = np.random.RandomState(config.seed)
        if config.scheme == "legacy":
            pairs = [
                (gen.randint(1, _MERSENNE_PRIME, dtype=np.uint64), gen.randint(0, _MERSENNE_PRIME, dtype=np.uint64))
                for _ in range(self.num_perm)
            ]
            self._a = np.array([p[0] for p in pairs], dtype=np.uint64)
            self._b = np.array([p[1] for p in pairs], dtype=np.uint64)
            self._empty = np.full(self.num_perm, _MAX_HASH32, dtype=np.uint64)
        else:
            self._a = gen.randint(0, 1 << 31, self.num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
            self._b = gen.randint(0, 1 << 32, self.num_perm, dtype=np.uint32)
            self._empty = np.full(self.num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)

    def uses_char_shingles(self, normalized: str, language: str = "") -> bool:
        base = language.lower().replace("_", "-").split("-")[0]
        return base in self._char_languages or char_script_share(normalized) >= _CHAR_SCRIPT_SHARE

    def shingles(self, normalized: str, language: str = "") -> list[bytes]:
        if self.uses_char_shingles(normalized, language):
            # Traditional and simplified copies of one text are one text.
            return char_shingles(to_simplified(normalized), self.config.char_n_grams)
        return word_shingles(normalized, self.config.n_grams)

    def signature(self, shingles: list[bytes]) -> np.ndarray:
        """The MinHash of a set of shingles: num_perm values, datasketch's dtype."""
        signature = self._empty.copy()
        if not shingles:
            return signature
        hashes = self._hash_shingles(shingles)
        legacy = self.config.scheme == "legacy"
        hashes = hashes.astype(np.uint64) if legacy else _fmix32(hashes)
        buffer = np.empty((min(len(hashes), _BLOCK), self.num_perm), dtype=signature.dtype)
        for start in range(0, len(hashes), _BLOCK):
            block = hashes[start : start + _BLOCK, None]
            permuted = buffer[: len(block)]
            # In place: the products wrap (mod 2^32, or 2^64 before the legacy modulo)
            # exactly as datasketch's do.
            np.multiply(block, self._a, out=permuted)
            permuted += self._b
            if legacy:
                permuted %= _MERSENNE_PRIME
                permuted &= _MAX_HASH32
            np.minimum(signature, permuted.min(axis=0), out=signature)
        return signature

    def band_hashes(self, signature: np.ndarray) -> list[int]:
        """One signed int64 per band: the first 8 bytes of SHA-1 over the band's values
        (each as little-endian uint64, so both schemes hash the same way)."""
        rows = signature.astype("<u8").reshape(self.config.num_bands, self.config.rows_per_band)
        return [
            int.from_bytes(hashlib.sha1(row.tobytes()).digest()[:8], "little", signed=True) for row in rows
        ]

    def bands(self, normalized: str, language: str = "") -> list[int]:
        """Band hashes of a normalised text; [] when it has no shingles (nothing to compare)."""
        shingles = self.shingles(normalized, language)
        if not shingles:
            return []
        return self.band_hashes(self.signature(shingles))
