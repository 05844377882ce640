"""One analysis of a page's text, shared by the quality filters that run on it in a row.

Gopher repetition and Gopher quality both need the page's words; splitting English the
way spaCy does is the costliest step of either. `text_stats(text, language)` keeps the
last few analyses (keyed on the text itself, so once C4 rewrites a page FineWeb's rules
see a fresh one), and each property is computed on first use only. Nothing here is
stored on the document, whose metadata must stay plain JSON.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from ccforge.filters.punctuation import is_punctuation_word
from ccforge.filters.words import split_words_by_kind, words_kind


@dataclass(frozen=True)
class WordSummary:
    """Counts over a page's words that Gopher's quality rules use."""

    words: int  # all words, punctuation marks included
    non_symbol_words: int  # words with at least one character that is not punctuation
    non_symbol_chars: int  # characters in those words
    alpha_words: int  # words with at least one alphabetic character


class TextStats:
    """Lazily computed facts about one text in one language's word splitting."""

    def __init__(self, text: str, words_kind: str):
        self.text = text
        self.words_kind = words_kind

    @cached_property
    def words(self) -> list[str]:
        return split_words_by_kind(self.text, self.words_kind)

    @cached_property
    def word_counts(self) -> Counter[str]:
        return Counter(self.words)

    @cached_property
    def word_summary(self) -> WordSummary:
        non_symbol = non_symbol_chars = alpha = 0
        for word, count in self.word_counts.items():
            if word.isalpha():  # most words: no punctuation, some letter
                non_symbol += count
                non_symbol_chars += count * len(word)
                alpha += count
                continue
            if not is_punctuation_word(word):
                non_symbol += count
                non_symbol_chars += count * len(word)
            if any(map(str.isalpha, word)):
                alpha += count
        return WordSummary(len(self.words), non_symbol, non_symbol_chars, alpha)

    @cached_property
    def word_ids(self) -> np.ndarray:
        """Each word's position in `word_counts` (equal words, equal ids), for n-gram hashing."""
        index = {word: i for i, word in enumerate(self.word_counts)}
        return np.fromiter(map(index.__getitem__, self.words), dtype=np.uint64, count=len(self.words))

    @cached_property
    def word_lengths(self) -> np.ndarray:
        return np.fromiter(map(len, self.words), dtype=np.int64, count=len(self.words))

    @cached_property
    def lines(self) -> list[str]:
        """`str.splitlines()`, as Gopher quality and C4 split lines."""
        return self.text.splitlines()


def text_stats(text: str, language: str) -> TextStats:
    """The shared analysis of `text` for a page in `language` (e.g. 'en', 'zh')."""
    return _cached_stats(text, words_kind(language))


@lru_cache(maxsize=4)
def _cached_stats(text: str, kind: str) -> TextStats:
    # A few slots, not one: a worker may interleave pages (threads), and the cost of a
    # miss is only a second split.
    return TextStats(text, kind)
