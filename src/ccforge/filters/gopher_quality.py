"""Gopher quality filter (Rae et al. 2021): word counts, word length, symbols, bullets, stop words.

Same rules, order and reasons as datatrove's `GopherQualityFilter`. Words come from the
document language's splitter (`words.py`), so a Chinese page is counted in jieba words,
never as one long 'word'.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ccforge.document import Document, Drop
from ccforge.filters.per_language import Measure, PerLanguageStage, check_language_overrides, first_failure
from ccforge.filters.stopwords import stop_words_for
from ccforge.filters.text_stats import TextStats, text_stats


@dataclass
class GopherQualityConfig:
    """Bounds; null (or 0) turns a rule off."""

    section: ClassVar[str] = "gopher_quality"

    enabled: bool = True
    min_doc_words: int | None = 50  # words with a non-punctuation character
    max_doc_words: int | None = 100_000
    min_avg_word_length: float | None = 3  # mean characters of those words
    max_avg_word_length: float | None = 10
    max_symbol_word_ratio: float | None = 0.1  # '#' per word, and '...'/'…' per word
    max_bullet_lines_ratio: float | None = 0.9  # lines starting with '•' or '-'
    max_ellipsis_lines_ratio: float | None = 0.3  # lines ending with '...' or '…'
    min_alpha_words_ratio: float | None = 0.8  # words with a letter (datatrove: max_non_alpha_words_ratio)
    min_stop_words: int | None = 2  # distinct stop words on the page
    stop_words: list[str] | None = None  # null: the language's built-in list (stopwords.py)
    languages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_language_overrides(self, self.section)


class GopherQualityFilter(PerLanguageStage):
    name = "gopher_quality"
    config_section = GopherQualityConfig.section

    def __init__(self, config: GopherQualityConfig):
        super().__init__(config)
        self._stop_words: dict[str, frozenset[str] | None] = {}

    def judge(self, doc: Document, config: GopherQualityConfig, language: str) -> Document | Drop:
        if config.stop_words is not None:
            stop_words: frozenset[str] | None = frozenset(config.stop_words)
        else:
            if language not in self._stop_words:
                self._stop_words[language] = stop_words_for(language)
            stop_words = self._stop_words[language]
        reason = quality_drop_reason(doc.text, config, text_stats(doc.text, language), stop_words)
        return doc if reason is None else Drop(reason)


def quality_drop_reason(
    text: str, config: GopherQualityConfig, stats: TextStats, stop_words: frozenset[str] | None
) -> str | None:
    return first_failure(quality_measures(text, config, stats, stop_words))


def quality_measures(
    text: str, config: GopherQualityConfig, stats: TextStats, stop_words: frozenset[str] | None
) -> Iterator[Measure]:
    """The rules that are on, in datatrove's order, each computed only when reached."""
    summary = stats.word_summary
    if config.min_doc_words:
        yield Measure("min_doc_words", "gopher_short_doc", summary.non_symbol_words, config.min_doc_words, True)
    if config.max_doc_words:
        yield Measure("max_doc_words", "gopher_long_doc", summary.non_symbol_words, config.max_doc_words, False)

    if summary.non_symbol_words:
        mean_length = summary.non_symbol_chars / summary.non_symbol_words
        if config.min_avg_word_length:
            yield Measure("min_avg_word_length", "gopher_below_avg_threshold", mean_length,
                          config.min_avg_word_length, True)  # fmt: skip
        if config.max_avg_word_length:
            yield Measure("max_avg_word_length", "gopher_above_avg_threshold", mean_length,
                          config.max_avg_word_length, False)  # fmt: skip

    words = max(summary.words, 1)
    if config.max_symbol_word_ratio:
        bound = config.max_symbol_word_ratio
        yield Measure("max_symbol_word_ratio", "gopher_too_many_hashes", text.count("#") / words, bound, False)
        ellipses = text.count("...") + text.count("…")
        yield Measure("max_symbol_word_ratio", "gopher_too_many_ellipsis", ellipses / words, bound, False)

    lines = stats.lines
    if lines:
        if config.max_bullet_lines_ratio:
            bullets = sum(1 for line in lines if line.lstrip().startswith(("•", "-")))
            yield Measure("max_bullet_lines_ratio", "gopher_too_many_bullets", bullets / len(lines),
                          config.max_bullet_lines_ratio, False)  # fmt: skip
        if config.max_ellipsis_lines_ratio:
            ellipses = sum(1 for line in lines if line.rstrip().endswith(("...", "…")))
            yield Measure("max_ellipsis_lines_ratio", "gopher_too_many_end_ellipsis", ellipses / len(lines),
                          config.max_ellipsis_lines_ratio, False)  # fmt: skip

    if config.min_alpha_words_ratio:
        yield Measure("min_alpha_words_ratio", "gopher_below_alpha_threshold", summary.alpha_words / words,
                      config.min_alpha_words_ratio, True)  # fmt: skip

    # A language with no stop-word list (and none configured) skips this rule.
    if config.min_stop_words and stop_words is not None:
        found = sum(1 for word in stop_words if word in stats.word_counts)
        # datatrove's reason: gopher_enough_stop_words
        yield Measure("min_stop_words", "gopher_too_few_stop_words", found, config.min_stop_words, True)
