"""C4's line cleaning and document rules (Raffel et al. 2020); rewrites the text.

Same rules, order and reasons as datatrove's `C4QualityFilter`, with FineWeb's
setting: the 'line must end in terminal punctuation' rule is off (FineWeb's own line
rules replace it). Lines are cleaned one by one; a page is dropped for 'lorem ipsum'
or '{' on a kept line, or for fewer than `min_num_sentences` sentences left.
Sentences are counted as spaCy's sentencizer does, with words split per language;
Chinese and Japanese lines count their words with their own splitter, not by spaces.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ccforge.document import Document, Drop
from ccforge.filters.per_language import PerLanguageStage, check_language_overrides
from ccforge.filters.punctuation import is_punctuation_word
from ccforge.filters.text_stats import text_stats
from ccforge.filters.words import count_sentences, split_words, words_kind

CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
POLICY_PHRASES = ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies"]
END_PUNCTUATION = [".", "?", "!", '"', "'"]
# Full-width marks and closing quotes end sentences in Chinese and Japanese.
CJK_END_PUNCTUATION = END_PUNCTUATION + ["。", "！", "？", "．", "”", "’", "」", "』"]


@dataclass
class C4Config:
    section: ClassVar[str] = "c4"

    enabled: bool = True
    remove_citations: bool = True  # drop '[1]', '[edit]', '[citation needed]' from lines
    filter_no_terminal_punct: bool = False  # C4 drops lines not ending in end_punctuation; FineWeb does not
    end_punctuation: list[str] | None = None  # null: the language's ('.', '?', '!', quotes; 。！？ for zh/ja)
    min_num_sentences: int = 5  # -1 turns it off
    min_words_per_line: int = 3  # shorter lines are removed; -1 turns it off
    max_word_length: int = 1000  # lines with a longer word are removed; -1 turns it off
    filter_lorem_ipsum: bool = True  # drop the page
    filter_javascript: bool = True  # remove lines that mention javascript
    filter_curly_bracket: bool = True  # drop the page
    filter_policy: bool = True  # remove lines with a policy phrase
    policy_phrases: list[str] = field(default_factory=lambda: list(POLICY_PHRASES))  # lowercase
    languages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_language_overrides(self, self.section)


class C4Filter(PerLanguageStage):
    name = "c4"
    config_section = C4Config.section

    def judge(self, doc: Document, config: C4Config, language: str) -> Document | Drop:
        result = clean_c4(doc.text, config, language, self._counts)
        if isinstance(result, Drop):
            return result
        # A new document, not the input changed in place (Beam's rule for elements).
        return dataclasses.replace(doc, text=result)


def clean_c4(text: str, config: C4Config, language: str, line_counts: Counter[str] | None = None) -> str | Drop:
    """The cleaned text, or a Drop. `line_counts` (a Counter) gets removed lines by reason."""
    kind = words_kind(language)
    spaced = kind == "spaced"
    if config.end_punctuation is not None:
        end_punctuation = tuple(config.end_punctuation)
    else:
        end_punctuation = tuple(END_PUNCTUATION if spaced else CJK_END_PUNCTUATION)
    max_word_length = config.max_word_length
    removed: Counter[str] = Counter()
    sentences = 0
    kept: list[str] = []
    for line in text_stats(text, language).lines:
        line = line.strip()
        # C4 counts a line's words by spaces; Chinese and Japanese need their splitter.
        words = line.split() if spaced else split_words(line, language)
        if max_word_length != -1 and len(line) > max_word_length and any(len(w) > max_word_length for w in words):
            removed["too_long_word"] += 1
            continue
        if config.remove_citations and "[" in line:
            cited, line = line, CITATION.sub("", line)
            if not spaced and line != cited:
                words = split_words(line, language)
        if config.filter_no_terminal_punct and (not line.endswith(end_punctuation) or line.endswith("...")):
            removed["no_terminal_punct"] += 1
            continue
        # A word, as C4's space-separated words are, never a punctuation mark on its own:
        # jieba and script runs make each mark a token ('图为张三。' is two words).
        counted = len(words) if spaced else sum(1 for w in words if not is_punctuation_word(w))
        if counted < config.min_words_per_line:
            removed["too_few_words"] += 1
            continue
        lowered = line.lower()
        if config.filter_lorem_ipsum and "lorem ipsum" in lowered:
            return Drop("lorem_ipsum")
        if config.filter_javascript and "javascript" in lowered:
            removed["javascript"] += 1
            continue
        if config.filter_curly_bracket and "{" in line:
            return Drop("curly_bracket")
        if config.filter_policy and any(phrase in lowered for phrase in config.policy_phrases):
            removed["policy"] += 1
            continue
        # Counting stops once the page has enough: the rest cannot change the verdict.
        if sentences < config.min_num_sentences:
            sentences += count_sentences(split_words(line, language) if spaced else words)
        kept.append(line)
    if sentences < config.min_num_sentences:
        return Drop("too_few_sentences")
    if line_counts is not None:
        line_counts.update({f"lines_removed:{reason}": count for reason, count in removed.items()})
    return "\n".join(kept).strip()
