"""Domain and URL blocklists in UT1's format, held compactly.

A UT1 list is a plain file of one domain (`domains`) or one scheme-less URL (`urls`)
a line, shipped per category as a tar.gz (`adult/domains`, `adult/urls`, ...) or
unpacked in folders. UT1's adult list has 4.5 million domains: as a Python set of
strings that is over 400 MB per worker, so entries are kept as a sorted array of
64-bit hashes instead (8 bytes each, looked up by binary search), read from the
archive in blocks without unpacking it. A false hit needs a 64-bit collision
(about 1 in 4 * 10^12 lookups against the full list).

Python's `hash` is salted per process, so a `HashSet` is only valid in the process
that built it: stages build theirs in `setup()` and never pickle them.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

LIST_NAMES = ("domains", "urls")
_BLOCK = 1 << 22


class HashSet:
    """A read-only set of byte strings, stored as their sorted 64-bit hashes."""

    def __init__(self, hashes: np.ndarray):
        """Takes ownership of `hashes` (sorted in place)."""
        hashes.sort()  # (np.unique is many times slower on millions of values)
        if len(hashes) > 1:
            repeats = hashes[1:] == hashes[:-1]
            if repeats.any():
                hashes = hashes[np.concatenate(([True], ~repeats))]
        self._hashes = hashes

    @classmethod
    def of(cls, items: Iterable[str]) -> HashSet:
        return cls(np.fromiter((hash(item.strip().lower().encode("utf-8")) for item in items), dtype=np.int64))

    def __len__(self) -> int:
        return len(self._hashes)

    def __contains__(self, item: str) -> bool:
        if not item or not len(self._hashes):
            return False
        value = hash(item.encode("utf-8"))
        position = int(np.searchsorted(self._hashes, value))
        return position < len(self._hashes) and int(self._hashes[position]) == value

    @property
    def nbytes(self) -> int:
        return self._hashes.nbytes

    @staticmethod
    def union(sets: Iterable[HashSet]) -> HashSet:
        filled = [s for s in sets if len(s)]
        if len(filled) == 1:
            return filled[0]  # read-only: sharing is safe, and a copy of millions is not free
        return HashSet(_concatenate([s._hashes for s in filled]).copy())


def load_ut1(paths: Iterable[str | Path]) -> dict[str, HashSet]:
    """{'domains': ..., 'urls': ...} from UT1 tar.gz files and folders (entries lowercased).

    A folder may hold `domains`/`urls` itself or in category subfolders; a tar.gz is
    read member by member, so nothing is unpacked to disk.
    """
    parts: dict[str, list[np.ndarray]] = {name: [] for name in LIST_NAMES}
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"blocklist '{path}' does not exist; run `ccforge blocklist fetch` or fix the path")
        if path.is_dir():
            for name in LIST_NAMES:
                for file in sorted([*path.glob(name), *path.glob(f"*/{name}")]):
                    with open(file, "rb") as handle:
                        parts[name].append(_hash_entries(handle))
        elif tarfile.is_tarfile(path):
            with tarfile.open(path, "r:*") as archive:
                for member in archive:
                    name = member.name.rsplit("/", 1)[-1]
                    if member.isfile() and name in LIST_NAMES:
                        parts[name].append(_hash_entries(archive.extractfile(member)))
        else:
            raise ValueError(f"blocklist '{path}' is neither a folder nor a tar archive of UT1 lists")
    return {name: HashSet(_concatenate(parts.pop(name))) for name in LIST_NAMES}


def _concatenate(arrays: list[np.ndarray]) -> np.ndarray:
    if len(arrays) == 1:
        return arrays[0]
    return np.concatenate(arrays) if arrays else np.empty(0, np.int64)


def _hash_entries(handle: BinaryIO) -> np.ndarray:
    return _concatenate(list(_hashed_blocks(handle)))


def _hashed_blocks(handle: BinaryIO) -> Iterator[np.ndarray]:
    """Hashes of the entries, a block of the file at a time (bounded memory)."""
    rest = b""
    while True:
        block = handle.read(_BLOCK)
        if not block:
            break
        block = rest + block.lower()
        cut = block.rfind(b"\n") + 1  # a block ends mid-line: keep the tail for the next one
        block, rest = block[:cut], block[cut:]
        yield _hash_block(block)
    if rest:
        yield _hash_block(rest)


def _hash_block(block: bytes) -> np.ndarray:
    if b"#" in block:  # comment lines: drop them one by one (UT1's own lists have none)
        block = b"\n".join(line for line in block.split(b"\n") if not line.lstrip().startswith(b"#"))
    # Entries hold no spaces: splitting on any whitespace also strips '\r' and blank lines.
    entries = block.split()
    return np.fromiter(map(hash, entries), dtype=np.int64, count=len(entries))
