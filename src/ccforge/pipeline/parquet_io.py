"""Parquet in and out of the pipeline: phase-A chunk files and the documents output.

Files go through Beam's FileSystems, so the same code writes to a local folder,
gs:// or s3://. Every file is written under a temporary name and renamed, and a
writer reports the paths it finished: outputs of a retried bundle are discarded by
Beam, so only files of successful bundles are ever listed.
"""

from __future__ import annotations

import json
import uuid

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from ccforge.document import Document
from ccforge.hashing import file_index
from ccforge.pipeline.output_files import (
    KEY,
    AtomicFile,
    DocumentFileWriter,
    document_key,
    document_rows_schema,
    sort_rows,
)

# The document fields both Parquet kinds share, in the order of FineWeb's release.
_DOCUMENT_FIELDS = [
    ("text", pa.string()),
    ("id", pa.string()),
    ("dump", pa.string()),
    ("url", pa.string()),
    ("date", pa.string()),
    ("file_path", pa.string()),
    ("language", pa.string()),
    ("language_score", pa.float64()),
]

# The documents output: FineWeb's columns, then ccforge's own. `contamination` (decontaminate's
# `action: flag`) lists the benchmarks a document shares n-grams with, null when none.
DOCUMENT_SCHEMA = pa.schema(
    _DOCUMENT_FIELDS
    + [("token_count", pa.int64()), ("minhash_cluster_size", pa.int64()), ("quality_score", pa.float64()),
       ("contamination", pa.list_(pa.string()))]
)

# Phase-A output: the documents that passed the per-document filters, with the
# dedup keys phase B shuffles (never the text) and the rest of their metadata.
CHUNK_SCHEMA = pa.schema(
    _DOCUMENT_FIELDS
    + [("record_offset", pa.int64()), ("exact_hash", pa.int64()), ("minhash_bands", pa.list_(pa.int64())),
       ("metadata", pa.string())]
)
# (file_path, record_offset) tells copies of one record apart (dedup/keep.py).
DEDUP_KEY_COLUMNS = ["id", "url", "date", "file_path", "record_offset", "language", "exact_hash", "minhash_bands"]
DOCUMENT_COLUMNS = [name for name in CHUNK_SCHEMA.names if name not in ("exact_hash", "minhash_bands")]
_KEY_METADATA = ("record_offset", "exact_hash", "minhash_bands")
ROW_GROUP_BYTES = 8 * 1024 * 1024  # text per row group of a phase-A chunk file


def chunk_row(doc: Document) -> dict:
    rest = {k: v for k, v in doc.metadata.items() if k not in _KEY_METADATA}
    return {
        "text": doc.text,
        "id": doc.id,
        "dump": doc.dump,
        "url": doc.url,
        "date": doc.date,
        "file_path": doc.file_path,
        "language": doc.language,
        "language_score": float(doc.language_score),
        "record_offset": doc.metadata.get("record_offset"),
        "exact_hash": doc.metadata.get("exact_hash"),
        "minhash_bands": doc.metadata.get("minhash_bands"),
        "metadata": json.dumps(rest, ensure_ascii=False, sort_keys=True) if rest else "",
    }


def document_from_chunk_row(row: dict) -> Document:
    """Phase B's document: the dedup keys stay behind in the chunk file."""
    metadata = json.loads(row["metadata"]) if row.get("metadata") else {}
    metadata["record_offset"] = row.get("record_offset")
    return Document(
        id=row["id"],
        url=row["url"],
        date=row["date"],
        dump=row["dump"],
        file_path=row["file_path"],
        text=row["text"],
        language=row["language"],
        language_score=row["language_score"],
        metadata=metadata,
    )


def document_row(doc: Document) -> dict:
    return {
        "text": doc.text,
        "id": doc.id,
        "dump": doc.dump,
        "url": doc.url,
        "date": doc.date,
        "file_path": doc.file_path,
        "language": doc.language,
        "language_score": float(doc.language_score),
        "token_count": doc.metadata.get("token_count"),
        "minhash_cluster_size": doc.metadata.get("minhash_cluster_size", 1),
        "quality_score": doc.metadata.get("quality_score"),  # null when no classifier scored it
        "contamination": doc.metadata.get("contamination"),
    }


def keyed_document_row(doc: Document) -> dict:
    """The documents row with its placement key (pipeline/output_files.py)."""
    return {**document_row(doc), KEY: document_key(doc.id)}


class PartsWriter:
    """Rows in, Parquet files out under `directory`, written as they come.

    Rows are held only until `row_group_bytes` of text have gathered, then written as one
    row group of the open file; a new file starts after `target_bytes`. Memory stays at
    one row group however many rows come. Row groups are also phase B's unit of parallel
    reading. Each file is written under a temporary name and renamed when complete.
    """

    def __init__(self, directory: str, schema: pa.Schema, target_bytes: int, compression: str,
                 name_of, row_group_bytes: int = ROW_GROUP_BYTES):
        self.directory = directory
        self.schema = schema
        self.target_bytes = target_bytes
        self.compression = compression
        self.name_of = name_of  # file index -> file name
        self.row_group_bytes = min(row_group_bytes, target_bytes)
        self.text_chars = 0
        self.finished: list[dict] = []  # {"name", "rows", "row_groups"} of every closed file
        self._rows: list[dict] = []
        self._group_bytes = 0
        self._file_bytes = 0
        self._file = None  # (AtomicFile, ParquetWriter, entry) of the open file

    def add(self, row: dict) -> str | None:
        """Adds one row; returns the path of a file this row completed, if any."""
        self._rows.append(row)
        text_chars = len(row["text"]) if "text" in row else 0
        self.text_chars += text_chars
        size = text_chars + 256
        self._group_bytes += size
        self._file_bytes += size
        if self._group_bytes >= self.row_group_bytes:
            self._write_row_group()
        if self._file_bytes >= self.target_bytes:
            return self._close_file()
        return None

    def close(self) -> str | None:
        """Finishes the open file (if any rows came since the last); returns its path."""
        if self._rows or self._file is not None:
            return self._close_file()
        return None

    def _write_row_group(self) -> None:
        if not self._rows:
            return
        if self._file is None:
            name = self.name_of(len(self.finished))
            output = AtomicFile(FileSystems.join(self.directory, name))
            writer = pq.ParquetWriter(output.stream, self.schema, compression=self.compression)
            self._file = (output, writer, {"name": name, "rows": 0, "row_groups": 0})
        output, writer, entry = self._file
        writer.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
        entry["rows"] += len(self._rows)
        entry["row_groups"] += 1
        self._rows, self._group_bytes = [], 0

    def _close_file(self) -> str:
        self._write_row_group()
        output, writer, entry = self._file
        writer.close()
        output.commit()
        self.finished.append(entry)
        self._file, self._file_bytes = None, 0
        return output.path


class WriteParquetBundles(beam.DoFn):
    """Writes rows as they come (PartsWriter), a file per `target_bytes` of text or per
    bundle, under unique names; yields the path of every file it finished. Used for the
    band index, where order does not matter."""

    def __init__(self, directory: str, schema: pa.Schema, to_row, target_bytes: int, compression: str,
                 row_group_bytes: int = ROW_GROUP_BYTES):
        self.directory = directory
        self.schema = schema
        self.to_row = to_row
        self.target_bytes = target_bytes
        self.compression = compression
        self.row_group_bytes = row_group_bytes

    def start_bundle(self):
        self._writer = PartsWriter(self.directory, self.schema, self.target_bytes, self.compression,
                                   lambda _: f"part-{uuid.uuid4().hex}.parquet", self.row_group_bytes)

    def process(self, element):
        done = self._writer.add(self.to_row(element))
        if done is not None:
            yield done

    def finish_bundle(self):
        done = self._writer.close()
        if done is not None:
            yield WindowedValue(done, MIN_TIMESTAMP, [GlobalWindow()])


class WriteDocuments(beam.PTransform):
    """Final documents Parquet through a shuffle: `num_files` files, byte-identical across runs.

    A document goes to a file by a stable hash of its id (pipeline/output_files.py), and
    each file is sorted by that hash, then by every column that could tell two rows apart.
    The driver picks `num_files` from phase A's text volume and the target file size.
    (The local runner writes the same files through pipeline/spill.py instead.)
    """

    def __init__(self, directory: str, num_files: int, compression: str = "zstd"):
        super().__init__()
        self.directory = directory
        self.num_files = max(1, num_files)
        self.compression = compression

    def expand(self, docs):
        num_files, directory, compression = self.num_files, self.directory, self.compression
        rows_schema = document_rows_schema(DOCUMENT_SCHEMA)

        def keyed_row(doc: Document):
            row = keyed_document_row(doc)
            return file_index(row[KEY], num_files), row

        def write_file(item):
            index, rows = item
            writer = DocumentFileWriter(directory, index, num_files, DOCUMENT_SCHEMA, compression)
            writer.add(sort_rows(pa.Table.from_pylist(list(rows), schema=rows_schema)))
            return writer.close()

        return (
            docs
            | "to rows" >> beam.Map(keyed_row)
            | "group by file" >> beam.GroupByKey()
            | "write files" >> beam.Map(write_file)
        )


def row_groups(paths: list[str]) -> list[tuple[str, int]]:
    """(path, row group) pairs: the unit of parallel reading in phase B."""
    pieces = []
    for path in paths:
        with FileSystems.open(path) as stream:
            count = pq.ParquetFile(stream).num_row_groups
        pieces.extend((path, index) for index in range(count))
    return pieces


class ReadRowGroup(beam.DoFn):
    """(path, row group) -> row dicts with the given columns (all when None)."""

    def __init__(self, columns: list[str] | None = None):
        self.columns = columns

    def process(self, piece):
        path, index = piece
        with FileSystems.open(path) as stream:
            table = pq.ParquetFile(stream).read_row_group(index, columns=self.columns)
        yield from table.to_pylist()
