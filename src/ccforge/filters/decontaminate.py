"""Benchmark decontamination: drop (or flag) documents that share an n-gram with a test set.

A corpus holding a benchmark's questions and answers inflates every score measured on
it. As GPT-3 did, a document sharing one word 13-gram (Chinese, Japanese, Korean and
other unspaced text: one 50-character n-gram) with any item of a named benchmark is
contaminated; text on both sides is normalised first (`filters.ngram_index`), so case,
punctuation, line breaks and traditional against simplified characters do not hide a copy.

The stage is off until benchmarks are named. Each worker reads the benchmark files and
builds the n-gram index once, in `setup()`.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import ClassVar

from ccforge.document import Document, Drop
from ccforge.filters.ngram_index import NgramIndex
from ccforge.read.sources import local_path, scheme
from ccforge.stage import Stage

log = logging.getLogger(__name__)

ACTIONS = ("drop", "flag")
CONTAMINATION = "contamination"  # the metadata key, and the documents column, of `action: flag`


@dataclass
class BenchmarkSpec:
    name: str = ""  # in drop reasons (`contaminated:<name>`) and the `contamination` column
    path: str = ""  # JSONL(.gz), Parquet, CSV, or a directory saved by datasets; local, http(s), gs://, s3://
    columns: list[str] = field(default_factory=list)  # the text fields of an item; [] = every field
    splits: list[str] = field(default_factory=list)  # of a saved DatasetDict; [] = every split


@dataclass
class DecontaminateConfig:
    section: ClassVar[str] = "decontaminate"

    enabled: bool = True  # runs only when benchmarks are named as well
    benchmarks: list[BenchmarkSpec] = field(default_factory=list)
    action: str = "drop"  # drop: reason contaminated:<name>; flag: keep, list names in `contamination`
    n_grams: int = 13  # words per n-gram (GPT-3's 13)
    char_n_grams: int = 50  # characters per n-gram of text written without spaces

    @property
    def has_work(self) -> bool:
        return bool(self.benchmarks)

    def validate(self) -> None:
        """Raise a one-line ValueError for settings that cannot work."""
        if self.action not in ACTIONS:
            raise ValueError(f"decontaminate.action must be drop or flag, got '{self.action}'")
        for key in ("n_grams", "char_n_grams"):
            if getattr(self, key) < 1:
                raise ValueError(f"decontaminate.{key} must be at least 1, got {getattr(self, key)}")
        names = [spec.name for spec in self.benchmarks]
        for index, spec in enumerate(self.benchmarks):
            if not spec.name or not spec.path:
                raise ValueError(f"decontaminate.benchmarks[{index}] needs a name and a path")
            if ":" in spec.name or names.count(spec.name) > 1:
                raise ValueError(f"decontaminate.benchmarks: name '{spec.name}' must be unique and hold no ':'")


def load_index(config: DecontaminateConfig) -> NgramIndex:
    """Read every benchmark of the config into one n-gram index (logs what each holds)."""
    from ccforge.read.benchmark_files import BenchmarkFile  # reading is only needed here

    index = NgramIndex([spec.name for spec in config.benchmarks], config.n_grams, config.char_n_grams)
    for spec in config.benchmarks:
        started = time.perf_counter()
        source = BenchmarkFile(spec.path, spec.columns, spec.splits)
        for text in source.texts():
            index.add(spec.name, text)
        if not index.items[spec.name]:
            raise ValueError(f"benchmark '{spec.name}' ({spec.path}) has no text in columns "
                             f"{spec.columns or 'any'}; name its text columns in decontaminate.benchmarks")
        log.info("decontaminate: %s: %d items (%d shorter than one n-gram, %d unreadable rows) in %.1f s",
                 spec.name, index.items[spec.name], index.short_items[spec.name], source.bad_rows,
                 time.perf_counter() - started)
    index.freeze()
    log.info("decontaminate: %d n-grams, %.1f MB", len(index), index.nbytes / 1e6)
    return index


class DecontaminationFilter(Stage):
    """Drops a document sharing an n-gram with a benchmark as `contaminated:<name>` (the
    first benchmark named, of those it matches), or with `action: flag` keeps it and sets
    `metadata["contamination"]` to the names of every benchmark it matches."""

    name = "decontaminate"

    def __init__(self, config: DecontaminateConfig):
        config.validate()
        for spec in config.benchmarks:
            if scheme(spec.path) in ("", "file") and not os.path.exists(local_path(spec.path)):
                raise ValueError(f"benchmark '{spec.name}': no such file or directory {spec.path}")
        self.config = config
        self._index: NgramIndex | None = None
        self._counts: dict[str, int] = {}

    def setup(self) -> None:
        self._index = load_index(self.config)

    def process(self, doc: Document) -> Document | Drop:
        if self._index is None:
            self.setup()
        found = self._index.matches(doc.text)
        if not found:
            return doc
        for name in found:
            key = f"matched:{name}"
            self._counts[key] = self._counts.get(key, 0) + 1
        if self.config.action == "drop":
            return Drop(f"contaminated:{next(iter(found))}")
        doc.metadata[CONTAMINATION] = list(found)
        return doc

    def take_counts(self) -> dict[str, int]:
        counts, self._counts = self._counts, {}
        return counts
