"""FineWeb's own quality rules: terminal punctuation, short lines, duplicated lines, lists.

Same rules, order and reasons as datatrove's `FineWebQualityFilter`. It runs after C4
has rewritten the text, so its words come from a fresh analysis of the new text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ccforge.document import Document, Drop
from ccforge.filters.gopher_repetition import find_duplicates
from ccforge.filters.per_language import Measure, PerLanguageStage, check_language_overrides, first_failure
from ccforge.filters.punctuation import TERMINAL_PUNCTUATION
from ccforge.filters.text_stats import text_stats


@dataclass
class FineWebQualityConfig:
    section: ClassVar[str] = "fineweb_quality"

    enabled: bool = True
    line_punct_thr: float = 0.12  # min share of lines ending in terminal punctuation
    line_punct_exclude_zero: bool = False  # true: a page with no such line passes that rule
    stop_chars: list[str] | None = None  # null: every script's sentence-ending marks
    short_line_thr: float = 0.67  # max share of lines of at most short_line_length characters
    short_line_length: int = 30
    char_duplicates_ratio: float = 0.01  # max characters in repeated lines / characters
    new_line_ratio: float = 0.3  # max newlines per word (list-like pages)
    languages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_language_overrides(self, self.section)


_DEFAULT_STOP_CHARS = tuple(TERMINAL_PUNCTUATION)


class FineWebQualityFilter(PerLanguageStage):
    name = "fineweb_quality"
    config_section = FineWebQualityConfig.section

    def judge(self, doc: Document, config: FineWebQualityConfig, language: str) -> Document | Drop:
        reason = fineweb_drop_reason(doc.text, config, language)
        return doc if reason is None else Drop(reason)


def fineweb_drop_reason(text: str, config: FineWebQualityConfig, language: str) -> str | None:
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return "empty"
    return first_failure(fineweb_measures(text, lines, config, language))


def fineweb_measures(text: str, lines: list[str], config: FineWebQualityConfig, language: str) -> Iterator[Measure]:
    """The rules in datatrove's order, each computed only when reached; `lines` are the non-blank lines."""
    stop_chars = tuple(config.stop_chars) if config.stop_chars is not None else _DEFAULT_STOP_CHARS
    ratio = sum(1 for line in lines if line.endswith(stop_chars)) / len(lines)
    if not (ratio == 0 and config.line_punct_exclude_zero):
        yield Measure("line_punct_thr", "line_punct_ratio", ratio, config.line_punct_thr, True)

    ratio = sum(1 for line in lines if len(line) <= config.short_line_length) / len(lines)
    yield Measure("short_line_thr", "short_line_ratio", ratio, config.short_line_thr, False)

    ratio = find_duplicates(lines)[1] / max(len(text) - text.count("\n"), 1)
    yield Measure("char_duplicates_ratio", "char_dup_ratio", ratio, config.char_duplicates_ratio, False)

    words = len(text_stats(text, language).words)
    yield Measure("new_line_ratio", "list_ratio", text.count("\n") / max(words, 1), config.new_line_ratio, False)
