"""Token shards: Parquet files with one row per document, `id` and `tokens`.

Each row's tokens are `encode_ordinary(text)` followed by the end-of-text id, so the
concatenated rows of a shard are documents separated by EOT. Where a document goes is
a pure function of its id: the split from an unseeded hash (changing the shuffle seed
never moves a document between train and val), the shard and the order inside it from
a seeded hash. So shard contents and order do not depend on how a runner bundles work.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ccforge.parquet_rows import RowGroupWriter
from ccforge.tokenize.encoding import TokenizerInfo

SPLITS = ("train", "val")
SHARD_FILE = re.compile(r"^(train|val)-(\d{5})\.parquet$")
SCHEMA_METADATA_KEY = b"ccforge"
FORMAT = "ccforge-tokens/1"


def split_of(doc_id: str, val_fraction: float) -> str:
    """`val` for a stable `val_fraction` share of ids, else `train`."""
    digest = hashlib.blake2b(doc_id.encode(), digest_size=8, person=b"ccforge-split").digest()
    return "val" if int.from_bytes(digest, "big") < val_fraction * 2**64 else "train"


def order_key(doc_id: str, seed: int) -> int:
    """A seeded 63-bit hash of the id: picks the shard and the order inside it."""
    digest = hashlib.blake2b(
        doc_id.encode(), digest_size=8, key=seed.to_bytes(8, "big", signed=True), person=b"ccforge-order"
    ).digest()
    return int.from_bytes(digest, "big") >> 1


def shard_count(total_tokens: int, shard_tokens: int) -> int:
    return max(1, math.ceil(total_tokens / max(1, shard_tokens)))


def shard_name(split: str, index: int) -> str:
    return f"{split}-{index:05d}.parquet"


def shard_schema(info: TokenizerInfo, split: str) -> pa.Schema:
    metadata = {"format": FORMAT, "split": split, "tokenizer": info.to_dict()}
    return pa.schema(
        [("id", pa.string()), ("tokens", pa.list_(pa.from_numpy_dtype(np.dtype(info.dtype))))],
        metadata={SCHEMA_METADATA_KEY: json.dumps(metadata, sort_keys=True).encode()},
    )


def shard_table(
    ids: Sequence[str], token_bytes: Sequence[bytes], info: TokenizerInfo, split: str, rows_per_chunk: int = 8192
) -> pa.Table:
    """The shard's table from ids and each row's tokens as raw bytes in the shard dtype."""
    schema = shard_schema(info, split)
    itemsize = np.dtype(info.dtype).itemsize
    chunks = []
    # List offsets are int32: chunking keeps each chunk's values far below 2**31.
    for start in range(0, max(1, len(ids)), max(1, rows_per_chunk)):
        part = token_bytes[start : start + rows_per_chunk]
        lengths = np.fromiter((len(b) // itemsize for b in part), dtype=np.int64, count=len(part))
        offsets = np.zeros(len(part) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        values = np.frombuffer(b"".join(part), dtype=info.dtype)
        chunks.append(pa.ListArray.from_arrays(pa.array(offsets), pa.array(values)))
    return pa.Table.from_arrays(
        [pa.array(list(ids), pa.string()), pa.chunked_array(chunks, schema.field("tokens").type)], schema=schema
    )


def document_tokens(ids: list[int], eot: int, dtype: np.dtype) -> np.ndarray:
    """One row's tokens: the document's ids followed by end-of-text."""
    tokens = np.empty(len(ids) + 1, dtype=dtype)
    tokens[:-1] = ids
    tokens[-1] = eot
    return tokens


# Shard rows before they are written: the seeded order key, the id, the tokens as raw bytes.
ROW_KEY = "_key"
TOKEN_ROWS_SCHEMA = pa.schema([(ROW_KEY, pa.uint64()), ("id", pa.string()), ("tokens", pa.binary())])


class ShardWriter:
    """One shard to a binary stream from token rows (TOKEN_ROWS_SCHEMA) added in key order;
    `close` returns its manifest entry."""

    def __init__(self, stream, split: str, index: int, info: TokenizerInfo, compression: str, row_group_rows: int):
        self.info = info
        self.split = split
        self.path = f"tokens/{shard_name(split, index)}"
        self.tokens = 0
        self._rows = RowGroupWriter(stream, shard_schema(info, split), row_group_rows, compression, self._file_table,
                                    use_dictionary=False)

    def add(self, rows: pa.Table) -> None:
        self._rows.add(rows)

    def close(self) -> dict:
        self._rows.close()
        return {
            "path": self.path,
            "split": self.split,
            "rows": self._rows.rows,
            "tokens": self.tokens,
            "sha256": self._rows.sha256,
            "bytes": self._rows.bytes,
        }

    def _file_table(self, rows: pa.Table) -> pa.Table:
        token_bytes = rows.column("tokens").to_pylist()
        self.tokens += sum(map(len, token_bytes)) // np.dtype(self.info.dtype).itemsize
        return shard_table(rows.column("id").to_pylist(), token_bytes, self.info, self.split, self._rows.row_group_rows)


def shard_row(doc_id: str, tokens: np.ndarray, val_fraction: float, seed: int) -> tuple[str, tuple[int, str, bytes]]:
    """Where a document's tokens go: its split, and its (order key, id, token bytes) row."""
    return split_of(doc_id, val_fraction), (order_key(doc_id, seed), doc_id, tokens.tobytes())


def token_rows(rows: Sequence[tuple[int, str, bytes]]) -> pa.Table:
    """(order key, id, token bytes) tuples as a TOKEN_ROWS_SCHEMA table."""
    keys, ids, tokens = zip(*rows) if rows else ((), (), ())
    return pa.Table.from_arrays(
        [pa.array(keys, pa.uint64()), pa.array(ids, pa.string()), pa.array(tokens, pa.binary())],
        schema=TOKEN_ROWS_SCHEMA,
    )


def encode_shard(
    split: str,
    index: int,
    rows: list[tuple[int, str, bytes]],
    info: TokenizerInfo,
    compression: str,
    row_group_rows: int,
) -> tuple[bytes, dict]:
    """One shard's file bytes and its manifest entry, from (order key, id, token bytes) rows in any order."""
    sink = io.BytesIO()
    writer = ShardWriter(sink, split, index, info, compression, row_group_rows)
    writer.add(token_rows(sorted(rows)))  # by (order key, id, tokens): a total order, whatever order they came in
    entry = writer.close()
    return sink.getvalue(), entry


def read_shard(path: str | Path) -> pa.Table:
    return pq.read_table(path)


def shard_metadata(schema: pa.Schema) -> dict:
    """The ccforge metadata stored in a shard's schema ({} for a foreign file)."""
    raw = (schema.metadata or {}).get(SCHEMA_METADATA_KEY)
    return json.loads(raw) if raw else {}


def row_lengths(table: pa.Table) -> np.ndarray:
    """Tokens per row, end-of-text included."""
    return pc.list_value_length(table.column("tokens")).to_numpy(zero_copy_only=False).astype(np.int64)


def iter_rows(table: pa.Table) -> Iterator[tuple[str, np.ndarray]]:
    """(id, tokens) per row, tokens as numpy views into the table's buffers."""
    ids = table.column("id").to_pylist()
    row = 0
    for chunk in table.column("tokens").chunks:
        offsets = chunk.offsets.to_numpy()
        values = chunk.values.to_numpy(zero_copy_only=False)
        for i in range(len(chunk)):
            yield ids[row], values[offsets[i] : offsets[i + 1]]
            row += 1


def all_tokens(table: pa.Table) -> np.ndarray:
    """Every row's tokens concatenated in row order: documents separated by EOT."""
    column = table.column("tokens")
    dtype = column.type.value_type.to_pandas_dtype()
    parts = [chunk.flatten().to_numpy(zero_copy_only=False) for chunk in column.chunks]
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)
