"""Gopher repetition filter (Rae et al. 2021, table A1): duplicate lines, paragraphs and n-grams.

Same rules and reasons as datatrove's `GopherRepetitionFilter`. N-grams are compared
by 64-bit hashes of word-id sequences, computed with numpy for every n at once,
instead of joining strings per position. In languages written without spaces (zh, ja)
the most frequent n-gram's characters are its words' characters; elsewhere the joining
spaces count too, as in FineWeb.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ccforge.document import Document, Drop
from ccforge.filters.per_language import Measure, PerLanguageStage, check_language_overrides, first_failure
from ccforge.filters.text_stats import TextStats, text_stats

_PARAGRAPH_BREAK = re.compile(r"\n{2,}")
_LINE_BREAK = re.compile(r"\n+")


@dataclass
class GopherRepetitionConfig:
    """Upper bounds; a value of null (or 0) turns that rule off. N-gram keys are n."""

    section: ClassVar[str] = "gopher_repetition"

    enabled: bool = True
    dup_line_frac: float | None = 0.3  # lines that repeat an earlier line / lines
    dup_para_frac: float | None = 0.3  # same for paragraphs (split at blank lines)
    dup_line_char_frac: float | None = 0.2  # characters in repeated lines / all characters
    dup_para_char_frac: float | None = 0.2
    # characters covered by the most frequent n-gram (times its count) / all characters
    top_ngram_frac: dict[str, float] = field(default_factory=lambda: {"2": 0.20, "3": 0.18, "4": 0.16})
    # characters in n-grams that repeat an earlier one / all characters
    dup_ngram_frac: dict[str, float] = field(
        default_factory=lambda: {"5": 0.15, "6": 0.14, "7": 0.13, "8": 0.12, "9": 0.11, "10": 0.10}
    )
    languages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_ngram_keys(self.top_ngram_frac, "top_ngram_frac")
        _check_ngram_keys(self.dup_ngram_frac, "dup_ngram_frac")
        check_language_overrides(self, self.section)


class GopherRepetitionFilter(PerLanguageStage):
    name = "gopher_repetition"
    config_section = GopherRepetitionConfig.section

    def judge(self, doc: Document, config: GopherRepetitionConfig, language: str) -> Document | Drop:
        reason = repetition_drop_reason(doc.text, config, text_stats(doc.text, language))
        return doc if reason is None else Drop(reason)


def repetition_drop_reason(text: str, config: GopherRepetitionConfig, stats: TextStats) -> str | None:
    if not text:
        return "empty"
    return first_failure(repetition_measures(text, config, stats))


def repetition_measures(text: str, config: GopherRepetitionConfig, stats: TextStats) -> Iterator[Measure]:
    """The rules that are on, in Gopher's order, each computed only when reached (`text` not empty)."""
    paragraphs = _PARAGRAPH_BREAK.split(text.strip())
    repeated, repeated_chars = find_duplicates(paragraphs)
    if config.dup_para_frac:
        yield Measure("dup_para_frac", "dup_para_frac", repeated / len(paragraphs), config.dup_para_frac, False)
    if config.dup_para_char_frac:
        yield Measure("dup_para_char_frac", "dup_para_char_frac", repeated_chars / len(text),
                      config.dup_para_char_frac, False)  # fmt: skip

    lines = _LINE_BREAK.split(text)
    repeated, repeated_chars = find_duplicates(lines)
    if config.dup_line_frac:
        yield Measure("dup_line_frac", "dup_line_frac", repeated / len(lines), config.dup_line_frac, False)
    if config.dup_line_char_frac:
        yield Measure("dup_line_char_frac", "dup_line_char_frac", repeated_chars / len(text),
                      config.dup_line_char_frac, False)  # fmt: skip

    ngrams: _NGrams | None = None
    for n, frac in config.top_ngram_frac.items():
        if frac:
            ngrams = ngrams or _NGrams(stats)
            share = ngrams.top_ngram_chars(int(n)) / len(text)
            yield Measure(f"top_ngram_frac.{n}", f"top_{n}_gram", share, frac, False)
    for n, frac in config.dup_ngram_frac.items():
        if frac:
            ngrams = ngrams or _NGrams(stats)
            share = ngrams.repeated_ngram_chars(int(n)) / len(text)
            yield Measure(f"dup_ngram_frac.{n}", f"duplicated_{n}_n_grams", share, frac, False)


def find_duplicates(items: list[str]) -> tuple[int, int]:
    """(items equal to an earlier item, their characters)."""
    seen: set[str] = set()
    repeated = repeated_chars = 0
    for item in items:
        if item in seen:
            repeated += 1
            repeated_chars += len(item)
        else:
            seen.add(item)
    return repeated, repeated_chars


class _NGrams:
    """N-gram hashes of a page's words, built up from shorter n-grams as needed."""

    _MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, stats: TextStats):
        self.joiner = 0 if stats.words_kind in ("jieba", "script_runs") else 1
        self.lengths = stats.word_lengths
        self.cumulative = np.concatenate(([0], np.cumsum(self.lengths)))
        with np.errstate(over="ignore"):
            self.unigrams = _mix(stats.word_ids)
        self._hashes = {1: self.unigrams}
        self._repeated: dict[int, np.ndarray] = {}

    def hashes(self, n: int) -> np.ndarray:
        if n not in self._hashes:
            shorter = self.hashes(n - 1)
            count = max(len(self.unigrams) - n + 1, 0)
            with np.errstate(over="ignore"):
                self._hashes[n] = shorter[:count] * self._MULTIPLIER + self.unigrams[n - 1 : n - 1 + count]
        return self._hashes[n]

    def chars(self, n: int, joiner: int) -> np.ndarray:
        """Characters of each n-gram: its words' plus `joiner` per gap between them."""
        count = max(len(self.unigrams) - n + 1, 0)
        return self.cumulative[n : n + count] - self.cumulative[:count] + joiner * (n - 1)

    def top_ngram_chars(self, n: int) -> int:
        """Characters of the most frequent n-gram (the first seen, on ties) times its count."""
        hashes = self.hashes(n)
        if len(hashes) == 0:
            return 0
        # A plain sort and run lengths: np.unique's first-index bookkeeping needs a
        # stable argsort, which costs more than finding the first position afterwards.
        ordered = np.sort(hashes)
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        counts = np.diff(np.append(starts, len(ordered)))
        best = int(counts.max())
        if best == 1:
            position = 0
        else:
            values = ordered[starts[counts == best]]
            position = int(np.argmax(hashes == values[0] if len(values) == 1 else np.isin(hashes, values)))
        return int(self.chars(n, self.joiner)[position]) * best

    def repeated_ngram_chars(self, n: int) -> int:
        """Characters of n-grams that repeat one seen before, skipping past each repeat (Gopher's count).

        Gopher walks every position; only positions whose n-gram occurs more than once
        can change the walk (the others are 'new, step one'), so only those are visited.
        """
        candidates = self.repeated_positions(n)
        if len(candidates) == 0:
            return 0
        hashes = self.hashes(n)
        chars = self.chars(n, 0)[candidates].tolist()  # Gopher counts these without the spaces
        seen: set[int] = set()
        repeated = 0
        position = 0
        for candidate, value, size in zip(candidates.tolist(), hashes[candidates].tolist(), chars):
            if candidate < position:  # inside a repeat just counted
                continue
            if value in seen:
                repeated += size
                position = candidate + n
            else:
                seen.add(value)
                position = candidate + 1
        return repeated

    def repeated_positions(self, n: int) -> np.ndarray:
        """Positions whose n-gram occurs more than once.

        A repeated n-gram's (n-1)-gram repeats too, so once the shorter n-gram's positions
        are known only those are looked at (few, on most pages).
        """
        if n in self._repeated:
            return self._repeated[n]
        hashes = self.hashes(n)
        shorter = self._repeated.get(n - 1)
        positions = shorter[shorter < len(hashes)] if shorter is not None else np.arange(len(hashes))
        if len(positions) < 2:
            repeated = positions[:0]
        else:
            values = hashes[positions]
            order = np.argsort(values)
            ordered = values[order]
            same = ordered[1:] == ordered[:-1]
            in_run = np.zeros(len(values), dtype=bool)  # sorted values equal to a neighbour
            in_run[1:] |= same
            in_run[:-1] |= same
            repeats = np.empty(len(values), dtype=bool)
            repeats[order] = in_run
            repeated = positions[repeats]
        self._repeated[n] = repeated
        return repeated


def _mix(ids: np.ndarray) -> np.ndarray:
    """splitmix64 of each word id, so word-id sequences hash without structure."""
    z = ids + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _check_ngram_keys(fractions: dict[str, float], key: str) -> None:
    for n in fractions:
        if not str(n).isdigit() or int(n) < 1:
            from ccforge.config import ConfigError

            raise ConfigError(f"config key 'gopher_repetition.{key}' needs whole numbers (n) as keys, got '{n}'")
