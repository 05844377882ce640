"""Phase A's dedup keys: the exact hash and the MinHash band hashes of each document.

Computed where the text is (per chunk, in parallel) so that phase B shuffles only these
small integers, never text.
"""

from __future__ import annotations

import hashlib

from ccforge.dedup.config import ExactDedupConfig, MinhashDedupConfig
from ccforge.dedup.minhash import MinHasher
from ccforge.dedup.normalize import normalize_text
from ccforge.document import Document
from ccforge.stage import Stage


def text_hash(normalized: str) -> int:
    """A signed int64 of a normalised text (BLAKE2b, 8 bytes): equal texts, equal hashes."""
    return int.from_bytes(hashlib.blake2b(normalized.encode(), digest_size=8).digest(), "little", signed=True)


class DedupKeys(Stage):
    """Sets `metadata["exact_hash"]` and `metadata["minhash_bands"]`; never drops.

    With minhash_dedup disabled the bands are [] (nothing to compute or to shuffle).
    """

    name = "dedup_keys"

    def __init__(self, exact_cfg: ExactDedupConfig, minhash_cfg: MinhashDedupConfig):
        minhash_cfg.validate()
        self.exact_cfg = exact_cfg
        self.minhash_cfg = minhash_cfg
        self._hasher: MinHasher | None = None

    def setup(self) -> None:
        self._hasher = MinHasher(self.minhash_cfg)

    def process(self, doc: Document) -> Document:
        if self._hasher is None:
            self.setup()
        normalized = normalize_text(doc.text)
        doc.metadata["exact_hash"] = text_hash(normalized)
        doc.metadata["minhash_bands"] = (
            self._hasher.bands(normalized, doc.language) if self.minhash_cfg.enabled else []
        )
        return doc
