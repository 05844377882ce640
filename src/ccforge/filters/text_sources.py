"""Texts for training, evaluating and calibrating quality classifiers, from a SPEC.

A SPEC is a documents Parquet file, a folder of them, a run directory (its
`documents/*.parquet`), a JSONL(.gz) file with a text field, or a plain text file
holding one document per line; a glob of any of these also works. Local paths only:
these are read on the machine that trains, or once per worker for calibration.
"""

from __future__ import annotations

import glob
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

_BATCH_ROWS = 1024


class TextSourceError(ValueError):
    """A SPEC that names nothing readable; the message is one line."""


@dataclass(frozen=True)
class SourceText:
    text: str
    language: str = ""  # "" when the source has no language field


def read_texts(spec: str, text_column: str = "text", language: str = "", limit: int | None = None
               ) -> Iterator[SourceText]:
    """The non-empty texts of `spec`, in file order; with `language`, only rows of that
    language (rows of a source without a language field are all kept)."""
    emitted = 0
    for path in spec_files(spec):
        for item in _read_file(path, text_column):
            if not item.text.strip() or (language and item.language and not _same_language(item.language, language)):
                continue
            yield item
            emitted += 1
            if limit is not None and emitted >= limit:
                return


def spec_files(spec: str) -> list[Path]:
    """The files a SPEC names, sorted; a one-line error when it names none."""
    if any(ch in spec for ch in "*?["):
        paths = sorted(Path(p) for p in glob.glob(spec) if Path(p).is_file())
    else:
        path = Path(spec)
        if path.is_dir():
            folder = path / "documents" if (path / "documents").is_dir() else path
            paths = sorted(folder.glob("*.parquet"))
        elif path.is_file():
            paths = [path]
        else:
            raise TextSourceError(f"{spec} does not exist; give a Parquet file or folder, a run directory, "
                                  "a JSONL(.gz) file or a text file")
    if not paths:
        raise TextSourceError(f"{spec} holds no files to read (a folder needs *.parquet or documents/*.parquet)")
    return paths


def _read_file(path: Path, text_column: str) -> Iterator[SourceText]:
    name = path.name.lower()
    if name.endswith(".parquet"):
        yield from _read_parquet(path, text_column)
    elif name.endswith((".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")):
        yield from _read_jsonl(path, text_column)
    else:
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                yield SourceText(line.rstrip("\n"))


def _read_parquet(path: Path, text_column: str) -> Iterator[SourceText]:
    parquet = pq.ParquetFile(path)
    names = parquet.schema_arrow.names
    if text_column not in names:
        raise TextSourceError(f"{path} has no column '{text_column}' (columns: {', '.join(names)}); "
                              "pass --text-column")
    columns = [text_column] + (["language"] if "language" in names else [])
    for batch in parquet.iter_batches(columns=columns, batch_size=_BATCH_ROWS):
        texts = batch.column(text_column).to_pylist()
        languages = batch.column("language").to_pylist() if "language" in names else [""] * len(texts)
        for text, language in zip(texts, languages):
            if text:
                yield SourceText(text, language or "")


def _read_jsonl(path: Path, text_column: str) -> Iterator[SourceText]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise TextSourceError(f"{path} line {number} is not JSON; a .jsonl file holds one object per line") from None
            if not isinstance(row, dict) or text_column not in row:
                raise TextSourceError(f"{path} line {number} has no field '{text_column}'; pass --text-column")
            text = row[text_column]
            if isinstance(text, str):
                yield SourceText(text, str(row.get("language") or ""))


def _same_language(found: str, wanted: str) -> bool:
    return found == wanted or found.replace("_", "-").split("-")[0] == wanted
