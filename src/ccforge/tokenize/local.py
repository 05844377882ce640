"""Token shards without Beam: the same files, byte for byte, as the pipeline's WriteTokenShards.

For texts that fit one process (tests, small corpora, other tools); the Beam steps in
ccforge.pipeline.tokenize_steps do the same placement with a shuffle.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ccforge.hashing import file_index
from ccforge.tokenize.config import TokenizeConfig
from ccforge.tokenize.encoding import describe_encoding, load_encoding
from ccforge.tokenize.manifest import sort_shards
from ccforge.tokenize.shards import (
    SHARD_FILE,
    document_tokens,
    encode_shard,
    shard_count,
    shard_row,
)


def write_token_shards(
    documents: Iterable[tuple[str, str]], run_dir: str | Path, config: TokenizeConfig
) -> tuple[list[dict], dict[str, int]]:
    """Tokenize (id, text) pairs into run_dir/tokens; return the shard entries and each id's token count.

    Documents whose text encodes to nothing are left out, as the pipeline drops them.
    """
    config.check()
    run_dir = Path(run_dir)
    encoding = load_encoding(config.encoding)
    info = describe_encoding(config.encoding, encoding)
    dtype = np.dtype(info.dtype)
    rows: dict[str, list[tuple[int, str, bytes]]] = {}
    token_counts: dict[str, int] = {}
    batch: list[tuple[str, str]] = []

    def flush() -> None:
        encoded = encoding.encode_ordinary_batch([text for _, text in batch], num_threads=config.threads)
        for (doc_id, _), ids in zip(batch, encoded):
            if not ids:
                continue
            split, row = shard_row(doc_id, document_tokens(ids, encoding.eot_token, dtype), config.val_fraction,
                                   config.seed)
            rows.setdefault(split, []).append(row)
            token_counts[doc_id] = len(ids)
        batch.clear()

    for document in documents:
        batch.append(document)
        if len(batch) >= config.batch_size:
            flush()
    flush()

    tokens_dir = run_dir / "tokens"
    tokens_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for split, split_rows in rows.items():
        total = sum(len(r[2]) for r in split_rows) // dtype.itemsize
        n_shards = shard_count(total, config.shard_tokens)
        by_shard: dict[int, list] = {}
        for row in split_rows:
            by_shard.setdefault(file_index(row[0], n_shards), []).append(row)
        for index, shard_rows in sorted(by_shard.items()):
            data, entry = encode_shard(split, index, shard_rows, info, config.compression, config.row_group_rows)
            temp = tokens_dir / f".{Path(entry['path']).name}.tmp"
            temp.write_bytes(data)
            os.replace(temp, run_dir / entry["path"])
            entries.append(entry)
    written = {Path(e["path"]).name for e in entries}
    for path in tokens_dir.glob("*.parquet"):
        if SHARD_FILE.match(path.name) and path.name not in written:
            path.unlink()
    return sort_shards(entries), token_counts
