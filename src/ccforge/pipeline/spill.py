"""Phase B's outputs on the local runner, through sorted spill files instead of a shuffle.

Beam's local engine holds every element of a GroupByKey in the driver's memory, so
grouping whole documents and their tokens made phase B's memory grow with the run. Here
only file names travel through the shuffle:
1. `SpillRows` writes each bundle's rows, every `SPILL_BYTES`, to an Arrow IPC file on
   local disk: one record batch per key range (the 63-bit key space cut into 2**bits
   equal ranges), and emits one small reference per file.
2. `WriteFromSpill` takes all references of one output kind (documents, train tokens,
   val tokens), walks the key ranges in order, sorts one range at a time and streams it
   into the output files (pipeline/output_files.py), one file open at a time.
Memory is one bundle's spill buffer plus one key range, whatever the size of the run.
Files are the same bytes as the shuffle path gives.
"""

from __future__ import annotations

import math
import os
import uuid
from collections import defaultdict

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.transforms.window import GlobalWindows

from ccforge.document import Document
from ccforge.pipeline.output_files import (
    DOCUMENTS,
    KEY,
    DocumentFileWriter,
    ShardFileWriter,
    document_rows_schema,
    runs,
    sort_rows,
    split_by_file,
)
from ccforge.pipeline.parquet_io import DOCUMENT_SCHEMA, keyed_document_row
from ccforge.tokenize.config import TokenizeConfig
from ccforge.tokenize.manifest import tokenizer_info
from ccforge.tokenize.shards import shard_count, shard_row, token_rows

SPILL_BYTES = 16 * 1024 * 1024  # text and tokens a bundle holds before it spills
RANGE_CHARS = 4 * 1024 * 1024  # about this much text per key range
MAX_RANGE_BITS = 10
_DOCUMENT_ROWS_SCHEMA = document_rows_schema(DOCUMENT_SCHEMA)


def range_bits(text_chars: int) -> int:
    """Key ranges for a run with this much text: 2**bits ranges of about RANGE_CHARS each."""
    ranges = max(1, -(-text_chars // RANGE_CHARS))
    return min(MAX_RANGE_BITS, math.ceil(math.log2(ranges)))


class SpillRows(beam.DoFn):
    """Documents (with tokens) -> references (kind, spill file, key range of each batch, tokens)."""

    def __init__(self, spill_dir: str, bits: int, tokenize: TokenizeConfig | None):
        self.spill_dir = spill_dir
        self.bits = bits
        self.tokenize = tokenize

    def setup(self):
        # Bytes per token id in the shards (uint16 or uint32), to count tokens per spill file.
        self.token_bytes = np.dtype(tokenizer_info(self.tokenize).dtype).itemsize if self.tokenize else 0

    def start_bundle(self):
        self.rows: dict[str, list] = defaultdict(list)
        self.held = 0

    def process(self, doc: Document):
        self.rows[DOCUMENTS].append(keyed_document_row(doc))
        self.held += len(doc.text) + 256
        tokens = doc.metadata.get("tokens") if self.tokenize is not None else None
        if tokens is not None:
            split, row = shard_row(doc.id, tokens, self.tokenize.val_fraction, self.tokenize.seed)
            self.rows[split].append(row)
            self.held += tokens.nbytes
        if self.held >= SPILL_BYTES:
            yield from self._spill()

    def finish_bundle(self):
        for ref in self._spill():
            yield GlobalWindows.windowed_value(ref)

    def _spill(self):
        rows, self.rows, self.held = self.rows, defaultdict(list), 0
        for kind, kind_rows in rows.items():
            table = self._table(kind, kind_rows)
            ranges = table.column(KEY).to_numpy() >> np.uint64(63 - self.bits)
            order = np.argsort(ranges, kind="stable")
            table, ranges = table.take(order), ranges[order]
            range_runs = runs(ranges)
            os.makedirs(self.spill_dir, exist_ok=True)
            path = os.path.join(self.spill_dir, f"{kind}-{uuid.uuid4().hex}.arrow")
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                for start, end in range_runs:  # one record batch per key range
                    writer.write_table(table.slice(start, end - start), max_chunksize=end - start)
            tokens = sum(len(r[2]) for r in kind_rows) // self.token_bytes if kind != DOCUMENTS else 0
            yield kind, (path, [int(ranges[start]) for start, _ in range_runs], tokens)

    def _table(self, kind: str, rows: list) -> pa.Table:
        if kind == DOCUMENTS:
            return pa.Table.from_pylist(rows, schema=_DOCUMENT_ROWS_SCHEMA)
        return token_rows(rows)


class WriteFromSpill(beam.DoFn):
    """(kind, references) -> the kind's files, written in key order one range at a time.

    Yields documents file paths, and token shard manifest entries on the `shards` output.
    """

    SHARDS = "shards"

    def __init__(self, run_dir: str, documents_dir: str, n_document_files: int, compression: str,
                 tokenize: TokenizeConfig | None):
        self.run_dir = run_dir
        self.documents_dir = documents_dir
        self.n_document_files = max(1, n_document_files)
        self.compression = compression
        self.tokenize = tokenize

    def setup(self):
        self.info = tokenizer_info(self.tokenize) if self.tokenize is not None else None

    def process(self, element):
        kind, refs = element
        batches = defaultdict(list)  # key range -> (spill file, batch index)
        tokens = 0
        for path, ranges, ref_tokens in refs:
            tokens += ref_tokens
            for index, key_range in enumerate(ranges):
                batches[key_range].append((path, index))
        if kind == DOCUMENTS:
            n_files = self.n_document_files
        else:
            n_files = shard_count(tokens, self.tokenize.shard_tokens)
        writer, writer_index = None, -1
        for key_range in sorted(batches):
            table = sort_rows(pa.Table.from_batches([_read_batch(path, i) for path, i in sorted(batches[key_range])]))
            for index, part in split_by_file(table, n_files):
                if index != writer_index:
                    if writer is not None:
                        yield self._close(kind, writer)
                    writer, writer_index = self._open(kind, index, n_files), index
                writer.add(part)
        if writer is not None:
            yield self._close(kind, writer)

    def _open(self, kind: str, index: int, n_files: int):
        if kind == DOCUMENTS:
            return DocumentFileWriter(self.documents_dir, index, n_files, DOCUMENT_SCHEMA, self.compression)
        config = self.tokenize
        return ShardFileWriter(self.run_dir, kind, index, self.info, config.compression, config.row_group_rows)

    def _close(self, kind: str, writer):
        if kind == DOCUMENTS:
            return writer.close()
        return beam.pvalue.TaggedOutput(self.SHARDS, writer.close())


def _read_batch(path: str, index: int) -> pa.RecordBatch:
    # Not closed here: the batch's buffers are views of the mapping, which lives as long as they do.
    return pa.ipc.open_file(pa.memory_map(path)).get_batch(index)


class WriteOutputsFromSpill(beam.PTransform):
    """Documents with tokens -> (documents file paths, token shard entries or None)."""

    def __init__(self, spill_dir: str, bits: int, run_dir: str, n_document_files: int, compression: str,
                 tokenize: TokenizeConfig | None):
        super().__init__()
        self.spill_dir = spill_dir
        self.bits = bits
        self.run_dir = run_dir
        self.n_document_files = n_document_files
        self.compression = compression
        self.tokenize = tokenize

    def expand(self, docs):
        written = (
            docs
            | "SpillRows" >> beam.ParDo(SpillRows(self.spill_dir, self.bits, self.tokenize))
            | "GroupByKind" >> beam.GroupByKey()
            | "WriteInKeyOrder" >> beam.ParDo(
                WriteFromSpill(self.run_dir, f"{self.run_dir}/documents", self.n_document_files, self.compression,
                               self.tokenize)
            ).with_outputs(WriteFromSpill.SHARDS, main="documents")
        )
        return written.documents, (written.shards if self.tokenize is not None else None)
