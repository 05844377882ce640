"""The items of an evaluation benchmark, read from the files it is published in.

A benchmark is a JSONL (optionally gzipped, or one JSON array), Parquet or CSV file, or a
directory written by Hugging Face `datasets` (`save_to_disk`: one split, with `state.json`
naming its Arrow files, or several, with `dataset_dict.json` naming the splits). Paths
are local, http(s) or anything Beam's FileSystems reads (gs://, s3://), all through
`read.sources.open_input`; a `datasets` directory is read from the file names its JSON
lists, so no listing of a remote folder is needed, and its Arrow files are read with
pyarrow (the `datasets` package is not needed).

An item's text is the strings of the chosen columns in order (list and nested values
flattened, numbers left out), joined by newlines; no columns chosen means every column.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import os
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ccforge.read.errors import ReadError
from ccforge.read.reader import ReadConfig
from ccforge.read.sources import local_path, open_input, scheme

FORMATS = "a JSONL(.gz), Parquet or CSV file, or a directory saved by Hugging Face datasets"
_BATCH_ROWS = 1024


def benchmark_format(path: str) -> str:
    """"jsonl", "parquet", "csv" or "datasets" (a directory), from the path's name."""
    name = path.rstrip("/").lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".csv"):
        return "csv"
    if not scheme(path) and os.path.isfile(local_path(path)):
        raise ReadError(f"cannot tell the format of benchmark file {path}: name it .jsonl(.gz), .parquet or .csv")
    return "datasets"


class BenchmarkFile:
    """One benchmark file (or `datasets` directory); `texts()` yields one text per item.

    Rows that cannot be read (a line that is not JSON) are skipped and counted in
    `bad_rows`; a file that cannot be opened or lacks a chosen column is a one-line
    ReadError.
    """

    def __init__(self, path: str, columns: list[str] | None = None, splits: list[str] | None = None,
                 read_config: ReadConfig | None = None):
        self.path = path
        self.columns = list(columns or [])
        self.splits = list(splits or [])
        self.read_config = read_config or ReadConfig()
        self.format = benchmark_format(path)
        self.bad_rows = 0
        if self.splits and self.format != "datasets":
            raise ReadError(f"benchmark {path} is one file: splits apply only to a directory saved by datasets")

    def texts(self) -> Iterator[str]:
        rows = {"jsonl": self._jsonl_rows, "parquet": self._parquet_rows, "csv": self._csv_rows,
                "datasets": self._datasets_rows}[self.format]()
        for row in rows:
            text = "\n".join(part for part in item_strings(row, self.columns) if part.strip())
            if text:
                yield text

    # ---- formats ------------------------------------------------------------------------

    def _jsonl_rows(self) -> Iterator[dict]:
        seen: set[str] = set()
        with self._open_text(self.path) as stream:
            first = stream.readline()
            if first.lstrip().startswith("["):  # one JSON array rather than lines
                rows = self._parse(first + stream.read())
                for row in rows if isinstance(rows, list) else []:
                    yield from self._object(row, seen)
            else:
                for line in itertools.chain([first], stream):
                    if line.strip():
                        yield from self._object(self._parse(line), seen)
        if seen:  # a column no row has is a mistake in the config
            self._check_columns(sorted(seen))

    def _csv_rows(self) -> Iterator[dict]:
        with self._open_text(self.path) as stream:
            reader = csv.DictReader(stream)
            self._check_columns(reader.fieldnames or [])
            yield from reader

    def _parquet_rows(self) -> Iterator[dict]:
        with self._open(self.path) as stream:
            try:
                parquet = pq.ParquetFile(stream)
            except (pa.ArrowInvalid, OSError) as exc:
                raise ReadError(f"benchmark {self.path} is not a readable Parquet file ({exc})") from None
            self._check_columns(parquet.schema_arrow.names)
            for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=self.columns or None):
                yield from batch.to_pylist()

    def _datasets_rows(self) -> Iterator[dict]:
        base = self.path.rstrip("/")
        splits = self._load_json(f"{base}/dataset_dict.json", missing_ok=True)
        if splits is None:
            if self.splits:
                raise ReadError(f"benchmark {self.path} holds one split (no dataset_dict.json): leave splits empty")
            yield from self._arrow_split(base)
            return
        known = list(splits.get("splits", []))
        for split in self.splits:
            if split not in known:
                raise ReadError(f"benchmark {self.path} has no split '{split}' (splits: {', '.join(known)})")
        for split in self.splits or known:
            yield from self._arrow_split(f"{base}/{split}")

    def _arrow_split(self, directory: str) -> Iterator[dict]:
        state = self._load_json(f"{directory}/state.json")
        for entry in state.get("_data_files", []):
            path = f"{directory}/{entry['filename']}"
            with self._open(path) as stream:
                try:
                    reader = pa.ipc.open_stream(stream)
                except (pa.ArrowInvalid, OSError) as exc:
                    raise ReadError(f"benchmark file {path} is not an Arrow stream ({exc})") from None
                self._check_columns(reader.schema.names, path)
                for batch in reader:
                    if self.columns:
                        batch = batch.select(self.columns)
                    yield from batch.to_pylist()

    # ---- helpers -------------------------------------------------------------------------

    def _open(self, path: str) -> io.BufferedReader:
        return open_input(path, self.read_config)

    def _open_text(self, path: str) -> io.TextIOWrapper:
        stream = self._open(path)
        binary = gzip.GzipFile(fileobj=stream) if path.lower().endswith(".gz") else stream
        return io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline="")

    def _load_json(self, path: str, missing_ok: bool = False) -> Any:
        try:
            with self._open(path) as stream:
                data = stream.read()
        except ReadError:
            if missing_ok:
                return None
            raise ReadError(f"benchmark {self.path} is not {FORMATS}: cannot read {path}") from None
        try:
            return json.loads(data)
        except ValueError:
            raise ReadError(f"benchmark file {path} is not valid JSON") from None

    def _parse(self, text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            self.bad_rows += 1
            return None

    def _object(self, row: Any, seen: set[str]) -> Iterator[dict]:
        if not isinstance(row, dict):
            if row is not None:
                self.bad_rows += 1
            return
        seen.update(row)
        yield row

    def _check_columns(self, names: list[str], path: str | None = None) -> None:
        missing = [c for c in self.columns if c not in names]
        if missing:
            raise ReadError(f"benchmark {path or self.path} has no column '{missing[0]}' "
                            f"(columns: {', '.join(names) or 'none'})")


def item_strings(value: Any, columns: list[str] | None = None) -> Iterator[str]:
    """The strings in a row's chosen columns (all when none), lists and mappings flattened."""
    if columns and isinstance(value, dict):
        for column in columns:
            yield from item_strings(value.get(column))
    elif isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from item_strings(inner)
    elif isinstance(value, (list, tuple)):
        for inner in value:
            yield from item_strings(inner)

