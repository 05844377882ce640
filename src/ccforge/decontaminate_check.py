"""`ccforge decontaminate-check BENCH_FILE RUN`: which documents of a finished run share
n-grams with a benchmark, with examples, without rewriting anything.

The same n-grams and normalisation as the `decontaminate` stage; the run's documents
Parquet (local, gs:// or s3://) is read a row group at a time, text, id and url only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from ccforge.filters.decontaminate import BenchmarkSpec, DecontaminateConfig, load_index
from ccforge.read.reader import ReadConfig
from ccforge.read.sources import beam_glob, is_beam_filesystem, open_input

DOCUMENTS_GLOB = "documents/*.parquet"


@dataclass
class Example:
    id: str
    url: str
    shared_ngrams: int
    ngram: str  # one shared n-gram, normalised


@dataclass
class CheckResult:
    benchmark: str
    items: int
    short_items: int
    ngrams: int
    documents: int = 0
    contaminated: int = 0
    examples: list[Example] = field(default_factory=list)


def check_run(spec: BenchmarkSpec, run_dir: str, n_grams: int = 13, char_n_grams: int = 50,
              max_examples: int = 5) -> CheckResult:
    """Count the run's documents sharing at least one n-gram with the benchmark."""
    config = DecontaminateConfig(benchmarks=[spec], n_grams=n_grams, char_n_grams=char_n_grams)
    config.validate()
    paths = document_files(run_dir)
    index = load_index(config)
    result = CheckResult(spec.name, index.items[spec.name], index.short_items[spec.name], len(index))
    for path in paths:
        with open_input(path, ReadConfig()) as stream:
            parquet = pq.ParquetFile(stream)
            for batch in parquet.iter_batches(columns=["text", "id", "url"], batch_size=256):
                for row in batch.to_pylist():
                    result.documents += 1
                    found = index.matches(row["text"] or "").get(spec.name)
                    if found:
                        result.contaminated += 1
                        if len(result.examples) < max_examples:
                            result.examples.append(Example(row["id"], row["url"], found[0], found[1]))
    return result


def document_files(run_dir: str) -> list[str]:
    """The documents Parquet files of a run directory; a one-line error when there are none."""
    pattern = f"{run_dir.rstrip('/')}/{DOCUMENTS_GLOB}"
    if is_beam_filesystem(run_dir):
        paths = [path for path, _ in beam_glob(pattern)]
    else:
        paths = sorted(str(p) for p in Path(run_dir, "documents").glob("*.parquet"))
    if not paths:
        where = run_dir if os.path.isdir(run_dir) or is_beam_filesystem(run_dir) else f"{run_dir} (no such directory)"
        raise ValueError(f"no documents Parquet in {where}: give the directory of a finished ccforge run")
    return paths


def format_result(result: CheckResult, bench_path: str, run_dir: str) -> str:
    share = result.contaminated / result.documents if result.documents else 0.0
    lines = [
        f"benchmark {result.benchmark} ({bench_path}): {result.items:,} items "
        f"({result.short_items:,} shorter than one n-gram), {result.ngrams:,} n-grams",
        f"run {run_dir}: {result.documents:,} documents, {result.contaminated:,} ({share:.2%}) "
        f"share n-grams with {result.benchmark}",
    ]
    for example in result.examples:
        lines.append(f"  {example.url}  {example.id}  {example.shared_ngrams} shared n-grams, e.g. \"{example.ngram}\"")
    return "\n".join(lines)
