"""Tokenizer and token-shard settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenizeConfig:
    enabled: bool = True
    # A name tiktoken knows (cl100k_base works offline; gpt2, o200k_base where tiktoken can
    # fetch them or finds them cached) or the path of a .tiktoken BPE file.
    encoding: str = "cl100k_base"
    batch_size: int = 256  # documents per encode_ordinary_batch call
    threads: int = 8  # threads of one encode_ordinary_batch call (tiktoken's default)
    shard_tokens: int = 100_000_000  # target tokens per shard, as llm.c's FineWeb shards
    val_fraction: float = 0.01  # share of documents in the val split, chosen by a hash of the id
    seed: int = 1234  # seeds the document order inside the shards
    compression: str = "zstd"
    # Rows (documents) per Parquet row group: readers stream a shard a row group at a time
    # and writers hold one (about 2M tokens, 8 MB, at FineWeb's average document).
    row_group_rows: int = 1024

    def check(self) -> None:
        """Raise ValueError (one line, naming the key) for settings no run can use."""
        for key in ("batch_size", "threads", "shard_tokens", "row_group_rows"):
            if getattr(self, key) < 1:
                raise ValueError(f"tokenize.{key} must be at least 1, got {getattr(self, key)}")
        if not 0.0 <= self.val_fraction <= 1.0:
            raise ValueError(f"tokenize.val_fraction must be between 0 and 1, got {self.val_fraction}")
