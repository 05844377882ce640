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

import uuid

import numpy as np
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from ccforge.hashing import file_index, stable_hash64
from ccforge.parquet_rows import RowGroupWriter
from ccforge.tokenize.encoding import TokenizerInfo
from ccforge.tokenize.shards import ROW_KEY, ShardWriter, shard_name

KEY = ROW_KEY  # the placement key column of document and token rows
DOCUMENTS = "documents"
# Rows per row group of a documents file: readers fetch a row group at a time, writers
# hold one (about 10 MB of text at FineWeb's average page).
DOCUMENT_ROW_GROUP_ROWS = 1024
# Column order that breaks ties between rows with equal keys (one WARC given twice
# under two names yields equal ids).
_DOCUMENT_ORDER = (KEY, "id", "url", "date", "file_path", "text")
_TOKEN_ORDER = (KEY, "id", "tokens")


def document_key(doc_id: str) -> int:
    """A document's 63-bit key: where its row goes and its place in the file."""
    return stable_hash64(doc_id, "documents") >> 1


def document_rows_schema(document_schema: pa.Schema) -> pa.Schema:
    return document_schema.append(pa.field(KEY, pa.uint64()))


def sort_rows(table: pa.Table) -> pa.Table:
    """Rows of one kind in their file order (key, then the tie-breaking columns)."""
    order = _TOKEN_ORDER if "tokens" in table.column_names else _DOCUMENT_ORDER
    return table.sort_by([(name, "ascending") for name in order])


def runs(values: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of equal values in a sorted array."""
    if not len(values):
        return []
    cuts = (np.flatnonzero(np.diff(values)) + 1).tolist()
    return list(zip([0, *cuts], [*cuts, len(values)]))


def split_by_file(table: pa.Table, n_files: int) -> list[tuple[int, pa.Table]]:
    """(file index, rows) runs of a key-sorted table: consecutive, as the keys are sorted."""
    indexes = file_index(table.column(KEY).to_numpy(), n_files)
    return [(int(indexes[start]), table.slice(start, end - start)) for start, end in runs(indexes)]


class AtomicFile:
    """A file written through FileSystems under a unique temporary name (a retried bundle
    may write the same file at the same time), renamed into place by `commit`."""

    def __init__(self, path: str):
        self.path = path
        self.temp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        self.stream = FileSystems.create(self.temp)

    def commit(self) -> None:
        self.stream.close()
        FileSystems.rename([self.temp], [self.path])


class DocumentFileWriter:
    """documents-NNNNN-of-MMMMM.parquet from key-sorted document rows (with KEY)."""

    def __init__(self, directory: str, index: int, n_files: int, schema: pa.Schema, compression: str):
        self.output = AtomicFile(FileSystems.join(directory, f"documents-{index:05d}-of-{n_files:05d}.parquet"))
        self.path = self.output.path
        self.rows = RowGroupWriter(self.output.stream, schema, DOCUMENT_ROW_GROUP_ROWS, compression,
                                   lambda rows: rows.drop_columns([KEY]).cast(schema))

    def add(self, rows: pa.Table) -> None:
        self.rows.add(rows)

    def close(self) -> str:
        self.rows.close()
        self.output.commit()
        return self.path


class ShardFileWriter:
    """tokens/{split}-NNNNN.parquet from key-sorted token rows; `close` returns the manifest entry."""

    def __init__(self, run_dir: str, split: str, index: int, info: TokenizerInfo, compression: str,
                 row_group_rows: int):
        self.output = AtomicFile(FileSystems.join(run_dir, "tokens", shard_name(split, index)))
        self.shard = ShardWriter(self.output.stream, split, index, info, compression, row_group_rows)

    def add(self, rows: pa.Table) -> None:
        self.shard.add(rows)

    def close(self) -> dict:
        entry = self.shard.close()
        self.output.commit()
        return entry
