"""Parquet written row group by row group from Arrow tables, to any binary stream.

The one writer behind every sorted output (documents files, token shards): rows arrive
in their final order in pieces of any size and leave as row groups of exactly
`row_group_rows` rows (the last may be shorter), so memory holds one row group and the
bytes depend only on the rows, never on how they were cut into pieces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq


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
        self.closed = True  # the owner of the underlying stream closes it


class RowGroupWriter:
    """Tables in (`add`), fixed-size Parquet row groups out; `close` finishes the file.

    `to_file_table` turns a slice of the rows added into what the file stores (dropping
    sort keys, building list columns). `sha256` and `bytes` describe the file written.
    """

    def __init__(self, stream, schema: pa.Schema, row_group_rows: int, compression: str,
                 to_file_table: Callable[[pa.Table], pa.Table] = lambda table: table, **parquet_options):
        self.row_group_rows = row_group_rows
        self.to_file_table = to_file_table
        self._stream = _HashingStream(stream)
        self._writer = pq.ParquetWriter(self._stream, schema, compression=compression, **parquet_options)
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.rows = 0

    def add(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self.rows += table.num_rows
        if self._pending_rows >= self.row_group_rows:
            self._write(self._pending_rows - self._pending_rows % self.row_group_rows)

    def close(self) -> None:
        if self._pending_rows:
            self._write(self._pending_rows)
        self._writer.close()

    @property
    def sha256(self) -> str:
        return self._stream.sha256.hexdigest()

    @property
    def bytes(self) -> int:
        return self._stream.bytes

    def _write(self, rows: int) -> None:
        # One chunk per column, whatever the pieces: the writer's pages follow the chunks.
        table = pa.concat_tables(self._pending).combine_chunks()
        self._writer.write_table(self.to_file_table(table.slice(0, rows)), row_group_size=self.row_group_rows)
        rest = table.slice(rows)
        self._pending, self._pending_rows = ([rest], rest.num_rows) if rest.num_rows else ([], 0)
