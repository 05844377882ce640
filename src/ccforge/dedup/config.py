"""Dedup settings: FineWeb's word 5-grams and 112 hashes, cut into 16 bands of 7 rather than its 14 of 8."""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMES = ("affine32", "legacy")
SHINGLE_HASHES = ("xxh32", "sha1")


@dataclass
class ExactDedupConfig:
    enabled: bool = True
    # Before the text hash: of all captures of one URL, the newest (WARC-Date) wins.
    url_dedup: bool = True


@dataclass
class MinhashDedupConfig:
    enabled: bool = True
    n_grams: int = 5  # words per shingle
    # 112 hashes as FineWeb's, as 16 bands of 7 (50% detection at Jaccard ~0.67) where FineWeb
    # has 14 of 8 (~0.72): a copy with 2% of its words replaced (Jaccard ~0.84) is then found
    # 99% of the time, not 95% (README, "The cluster rule"); 14 and 8 reproduce FineWeb exactly.
    num_bands: int = 16
    rows_per_band: int = 7  # hashes per band; num_bands * rows_per_band hashes in all
    seed: int = 1  # datasketch's default seed; it picks the hash permutations
    # datasketch's permutation schemes: "affine32" (its default since 2.0: fmix32, a*h+b mod 2^32)
    # or "legacy" ((a*h+b) mod (2^61-1) & 0xffffffff, as before 2.0 and in datatrove).
    scheme: str = "affine32"
    # How a shingle becomes 32 bits before the permutations: "xxh32" (xxHash, several times
    # faster per shingle) or "sha1" (datasketch's default `sha1_hash32`). Signatures equal
    # datasketch's MinHash given the same function (`hashfunc=xxhash.xxh32_intdigest` for xxh32).
    shingle_hash: str = "xxh32"
    # Languages written without spaces between words get character shingles; so does any
    # text whose letters are mostly CJK, whatever its language label.
    char_n_grams: int = 5
    char_shingle_languages: list[str] = field(
        default_factory=lambda: ["zh", "ja", "ko", "yue", "wuu", "th", "lo", "km", "my", "bo"]
    )
    # Rounds of the connected-components shuffles on remote runners (each a large-star and
    # a small-star step over the edges); 0: enough for the run's size, log2(documents) + 2.
    cc_rounds: int = 0
    # Earlier run directories (or band-index Parquet globs) to deduplicate against:
    # a document sharing a band bucket with any of them is a near duplicate.
    against: list[str] = field(default_factory=list)

    @property
    def num_perm(self) -> int:
        return self.num_bands * self.rows_per_band

    def rounds_for(self, documents: int) -> int:
        """Connected-components rounds for a run of this many documents: a chain of n
        documents (the worst case met in tests) settles in about log2(n) rounds."""
        return self.cc_rounds or max(1, documents).bit_length() + 2

    def validate(self) -> None:
        """Raise a one-line ValueError for settings that cannot make signatures."""
        for name in ("n_grams", "num_bands", "rows_per_band", "char_n_grams"):
            if getattr(self, name) < 1:
                raise ValueError(f"minhash_dedup.{name} must be at least 1, got {getattr(self, name)}")
        if self.scheme not in SCHEMES:
            raise ValueError(f"minhash_dedup.scheme must be one of {', '.join(SCHEMES)}, got '{self.scheme}'")
        if self.shingle_hash not in SHINGLE_HASHES:
            raise ValueError(f"minhash_dedup.shingle_hash must be one of {', '.join(SHINGLE_HASHES)}, "
                             f"got '{self.shingle_hash}'")

    def signature_params(self) -> dict:
        """What band hashes depend on: band indexes made with other values cannot be compared."""
        return {
            "n_grams": self.n_grams,
            "num_bands": self.num_bands,
            "rows_per_band": self.rows_per_band,
            "seed": self.seed,
            "scheme": self.scheme,
            "shingle_hash": self.shingle_hash,
            "char_n_grams": self.char_n_grams,
            "char_shingle_languages": sorted(self.char_shingle_languages),
            "char_script": "simplified",  # CJK shingles over text converted to simplified
        }
