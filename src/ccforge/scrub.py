"""`ccforge scrub-pii`: scrub PII from an existing JSONL or Parquet file, streaming.

For datasets that never went through the crawl pipeline. Only the text column
changes; every other field and the row order stay as they are. JSONL (optionally
gzipped) is read line by line, Parquet one row group at a time, so memory stays
bounded by one row group whatever the file size. The output is written beside its
final name and renamed into place only when complete.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import Counter
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq

from ccforge.filters.pii import PiiConfig, PiiScrubber

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
PARQUET_SUFFIXES = (".parquet", ".pq")


def file_format(path: str | os.PathLike) -> str:
    """"jsonl" or "parquet" from the file name (a trailing .gz is allowed for JSONL)."""
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
        if name.endswith(JSONL_SUFFIXES):
            return "jsonl"
    elif name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    elif name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise ValueError(f"cannot tell the format of '{path}': name it .jsonl, .jsonl.gz or .parquet")


def scrub_file(
    in_path: str | os.PathLike,
    out_path: str | os.PathLike,
    text_column: str = "text",
    config: PiiConfig | None = None,
) -> dict[str, int]:
    """Scrub `text_column` of every row; returns `rows`, `rows_changed` and `found:<kind>` counts."""
    in_path, out_path = Path(in_path), Path(out_path)
    in_format, out_format = file_format(in_path), file_format(out_path)
    if in_format != out_format:
        raise ValueError(f"input is {in_format} but output '{out_path}' is {out_format}: use the same format for both")
    if not in_path.is_file():
        raise ValueError(f"no such input file: '{in_path}'")
    if in_path.resolve() == out_path.resolve():
        raise ValueError("the output must be a different file from the input")
    scrubber = PiiScrubber(config or PiiConfig())
    scrubber.setup()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".partial")
    try:
        if in_format == "jsonl":
            counts = _scrub_jsonl(in_path, partial, out_path, text_column, scrubber)
        else:
            counts = _scrub_parquet(in_path, partial, text_column, scrubber)
        os.replace(partial, out_path)
    finally:
        scrubber.teardown()
        partial.unlink(missing_ok=True)
    return counts


def _open_text(path: Path, mode: str, gzipped: bool) -> IO[str]:
    if gzipped:
        return gzip.open(path, mode + "t", encoding="utf-8", newline="\n")
    return open(path, mode, encoding="utf-8", newline="\n")


def _scrub_jsonl(
    in_path: Path, partial: Path, out_path: Path, text_column: str, scrubber: PiiScrubber
) -> dict[str, int]:
    counts: Counter[str] = Counter()
    gzipped_in, gzipped_out = (str(p).lower().endswith(".gz") for p in (in_path, out_path))
    with _open_text(in_path, "r", gzipped_in) as source, _open_text(partial, "w", gzipped_out) as sink:
        for line_number, line in enumerate(source, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{in_path}:{line_number}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{in_path}:{line_number}: each line must be a JSON object")
            if text_column not in row:
                fields = ", ".join(row) or "none"
                raise ValueError(
                    f"{in_path}:{line_number}: no field '{text_column}' (fields: {fields}); choose with --text-column"
                )
            text = row[text_column]
            counts["rows"] += 1
            if text is not None:
                if not isinstance(text, str):
                    raise ValueError(
                        f"{in_path}:{line_number}: field '{text_column}' is {type(text).__name__}, not a string"
                    )
                scrubbed, found = scrubber.scrub(text)
                if found:
                    row[text_column] = scrubbed
                    counts["rows_changed"] += 1
                    counts.update(found)
                    line = json.dumps(row, ensure_ascii=False) + "\n"
            sink.write(line if line.endswith("\n") else line + "\n")
    return {"rows": 0, "rows_changed": 0, **counts}


def _scrub_parquet(in_path: Path, partial: Path, text_column: str, scrubber: PiiScrubber) -> dict[str, int]:
    try:
        source = pq.ParquetFile(in_path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"'{in_path}' is not a readable Parquet file ({exc})") from None
    schema = source.schema_arrow
    if text_column not in schema.names:
        raise ValueError(
            f"'{in_path}' has no column '{text_column}' (columns: {', '.join(schema.names)}); choose with --text-column"
        )
    index = schema.get_field_index(text_column)
    field_type = schema.field(index).type
    if not (pa.types.is_string(field_type) or pa.types.is_large_string(field_type)):
        raise ValueError(f"column '{text_column}' of '{in_path}' holds {field_type}, not strings")
    counts: Counter[str] = Counter()
    with pq.ParquetWriter(partial, schema, compression=_compression(source)) as sink:
        for group in range(source.num_row_groups):
            table = source.read_row_group(group)
            texts = table.column(index).to_pylist()
            for i, text in enumerate(texts):
                if text is None:
                    continue
                scrubbed, found = scrubber.scrub(text)
                if found:
                    texts[i] = scrubbed
                    counts["rows_changed"] += 1
                    counts.update(found)
            counts["rows"] += len(texts)
            table = table.set_column(index, schema.field(index), pa.array(texts, type=field_type))
            sink.write_table(table)
    return {"rows": 0, "rows_changed": 0, **counts}


def _compression(source: pq.ParquetFile) -> str:
    """The input's codec, so the output is about the same size; zstd for empty files."""
    metadata = source.metadata
    if metadata.num_row_groups and metadata.num_columns:
        codec = metadata.row_group(0).column(0).compression.lower()
        return "none" if codec == "uncompressed" else codec
    return "zstd"
