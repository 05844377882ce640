"""Phase B's two outputs as sorted runs of rows: documents files and token shards.

Where a row goes and in which order is a pure function of the row, so the files are
the same bytes whatever the runner does with bundles:
- every row has a 63-bit key: for documents a stable hash of the id, for tokens the
  seeded `order_key`; output file `i` of `n` holds the keys of the i-th of n equal key
  ranges (`file_index`), and rows are written in key order (ties broken by the other
  columns);
- files are written row group by row group as the sorted rows come, through one writer
  per file, so memory holds one row group, not one file.

Both ways of getting rows to a file (pipeline/phase_b.py: a GroupByKey per file on
remote runners, sorted spill files on the local one) go through `sort_rows` and these
writers, so they give identical files.
"""

from __future__ import annotations

import hashlib
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from ccforge.hashing import file_index, stable_hash64
from ccforge.tokenize.encoding import TokenizerInfo
from ccforge.tokenize.shards import shard_name, shard_schema, shard_table

KEY = "_key"
DOCUMENTS = "documents"
# Rows per row group of a documents file: readers fetch a row group at a time, writers
# hold one (about 10 MB of text at FineWeb's average page).
DOCUMENT_ROW_GROUP_ROWS = 1024
# Column order that breaks ties between rows with equal keys (one WARC given twice
# under two names yields equal ids).
_DOCUMENT_ORDER = (KEY, "id", "url", "date", "file_path", "text")
_TOKEN_ORDER = (KEY, "id", "tokens")
TOKEN_ROW_SCHEMA = pa.schema([(KEY, pa.uint64()), ("id", pa.string()), ("tokens", pa.binary())])


def document_key(doc_id: str) -> int:
    """A document's 63-bit key: where its row goes and its place in the file."""
    return stable_hash64(doc_id, "documents") >> 1


def document_rows_schema(document_schema: pa.Schema) -> pa.Schema:
    return document_schema.append(pa.field(KEY, pa.uint64()))


def sort_rows(table: pa.Table) -> pa.Table:
    """Rows of one kind in their file order (key, then the tie-breaking columns)."""
    order = _TOKEN_ORDER if "tokens" in table.column_names else _DOCUMENT_ORDER
    return table.sort_by([(name, "ascending") for name in order])


def split_by_file(table: pa.Table, n_files: int) -> list[tuple[int, pa.Table]]:
    """(file index, rows) runs of a key-sorted table: consecutive, as the keys are sorted."""
    if not table.num_rows:
        return []
    indexes = file_index(table.column(KEY).to_numpy(), n_files)
    cuts = np.flatnonzero(np.diff(indexes)) + 1
    starts = [0, *cuts.tolist()]
    ends = [*cuts.tolist(), table.num_rows]
    return [(int(indexes[start]), table.slice(start, end - start)) for start, end in zip(starts, ends)]


class _HashingStream:
    """A write-only stream that passes bytes on and keeps their SHA-256 and count."""

    def __init__(self, stream):
        self.stream = stream
        self.sha256 = hashlib.sha256()
        self.bytes = 0
        self.closed = False

    def write(self, data) -> int:
        data = bytes(data)
        self.sha256.update(data)
        self.bytes += len(data)
        self.stream.write(data)
        return len(data)

    def flush(self) -> None:
        self.stream.flush()

    def tell(self) -> int:
        return self.bytes

    def close(self) -> None:
        if not self.closed:
            self.stream.close()
            self.closed = True


class _RowGroupWriter:
    """One Parquet file written under a temporary name, `row_group_rows` rows at a time,
    renamed into place on `close`."""

    def __init__(self, path: str, schema: pa.Schema, row_group_rows: int, compression: str, **options):
        self.path = path
        self.temp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        self.row_group_rows = row_group_rows
        self.stream = _HashingStream(FileSystems.create(self.temp))
        self.writer = pq.ParquetWriter(self.stream, schema, compression=compression, **options)
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.rows = 0

    def add(self, table: pa.Table) -> None:
        self.pending.append(table)
        self.pending_rows += table.num_rows
        self.rows += table.num_rows
        if self.pending_rows >= self.row_group_rows:
            self._write(self.pending_rows - self.pending_rows % self.row_group_rows)

    def close(self) -> None:
        if self.pending_rows:
            self._write(self.pending_rows)
        self.writer.close()
        self.stream.close()
        FileSystems.rename([self.temp], [self.path])

    def _write(self, rows: int) -> None:
        # One chunk per column, whatever the pieces: the writer's pages follow the chunks.
        rows_table = pa.concat_tables(self.pending).combine_chunks()
        self.writer.write_table(self._to_file_table(rows_table.slice(0, rows)), row_group_size=self.row_group_rows)
        rest = rows_table.slice(rows)
        self.pending, self.pending_rows = ([rest], rest.num_rows) if rest.num_rows else ([], 0)

    def _to_file_table(self, rows: pa.Table) -> pa.Table:
        return rows


class DocumentFileWriter(_RowGroupWriter):
    """documents-NNNNN-of-MMMMM.parquet from key-sorted document rows."""

    def __init__(self, directory: str, index: int, n_files: int, schema: pa.Schema, compression: str):
        self.schema = schema
        path = FileSystems.join(directory, f"documents-{index:05d}-of-{n_files:05d}.parquet")
        super().__init__(path, schema, DOCUMENT_ROW_GROUP_ROWS, compression)

    def _to_file_table(self, rows: pa.Table) -> pa.Table:
        return rows.drop_columns([KEY]).cast(self.schema)


class ShardFileWriter(_RowGroupWriter):
    """tokens/{split}-NNNNN.parquet from key-sorted (key, id, token bytes) rows; `close`
    returns the manifest entry."""

    def __init__(self, run_dir: str, split: str, index: int, info: TokenizerInfo, compression: str,
                 row_group_rows: int):
        self.info = info
        self.split = split
        self.entry_path = f"tokens/{shard_name(split, index)}"
        self.tokens = 0
        # As tokenize.shards.shard_bytes writes a whole shard: the same bytes.
        super().__init__(FileSystems.join(run_dir, self.entry_path), shard_schema(info, split), row_group_rows,
                         compression, use_dictionary=False)

    def _to_file_table(self, rows: pa.Table) -> pa.Table:
        token_bytes = rows.column("tokens").to_pylist()
        self.tokens += sum(map(len, token_bytes)) // np.dtype(self.info.dtype).itemsize
        return shard_table(rows.column("id").to_pylist(), token_bytes, self.info, self.split, self.row_group_rows)

    def close(self) -> dict:
        super().close()
        return {
            "path": self.entry_path,
            "split": self.split,
            "rows": self.rows,
            "tokens": self.tokens,
            "sha256": self.stream.sha256.hexdigest(),
            "bytes": self.stream.bytes,
        }
