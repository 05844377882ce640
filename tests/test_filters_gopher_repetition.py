"""Gopher repetition: every threshold at its edge, in English and in Chinese.

Each test keeps one rule at its FineWeb default and turns the others off, then builds
a page right at the threshold (kept: the rules drop only above it) and one just past
it (dropped, with the rule's reason).
"""

import math

import pytest

from ccforge.document import Document
from ccforge.filters.gopher_repetition import GopherRepetitionConfig, GopherRepetitionFilter
from ccforge.filters.words import split_words

OFF = dict(
    dup_line_frac=None, dup_para_frac=None, dup_line_char_frac=None, dup_para_char_frac=None,
    top_ngram_frac={}, dup_ngram_frac={},
)  # fmt: skip
DEFAULTS = GopherRepetitionConfig()


def only(**rule) -> GopherRepetitionConfig:
    return GopherRepetitionConfig(**{**OFF, **rule})


def verdict(text: str, config: GopherRepetitionConfig, language: str = "en") -> str:
    result = GopherRepetitionFilter(config).process(Document(id="d", url="", text=text, language=language))
    return "kept" if isinstance(result, Document) else result.reason


def filler(length: int, prefix: str = "q") -> str:
    """Distinct letter-only words (no repeated n-gram), exactly `length` characters."""
    words, size, i = [], -1, 0
    while size + 5 <= length:
        words.append(prefix + "".join(chr(97 + (i // 26**k) % 26) for k in range(3)))
        size += 5
        i += 1
    words[-1] += "z" * (length - size)
    text = " ".join(words)
    assert len(text) == length
    return text


def test_defaults_are_gophers():
    assert (DEFAULTS.dup_line_frac, DEFAULTS.dup_para_frac) == (0.3, 0.3)
    assert (DEFAULTS.dup_line_char_frac, DEFAULTS.dup_para_char_frac) == (0.2, 0.2)
    assert DEFAULTS.top_ngram_frac == {"2": 0.2, "3": 0.18, "4": 0.16}
    assert DEFAULTS.dup_ngram_frac == {"5": 0.15, "6": 0.14, "7": 0.13, "8": 0.12, "9": 0.11, "10": 0.10}


def test_empty_text_is_dropped():
    assert verdict("", DEFAULTS) == "empty"


@pytest.mark.parametrize(
    "language, unique, repeated",
    [("en", "A different paragraph number {}.", "The same paragraph."), ("zh", "第{}段不同的内容。", "同样的段落。")],
)
@pytest.mark.parametrize("unit, separator", [("para", "\n\n"), ("line", "\n")])
def test_duplicate_fraction_edge(language, unique, repeated, unit, separator):
    # 10 paragraphs (lines): 3 repeat an earlier one = 0.3 (kept); 4 = 0.4 (dropped)
    config = only(**{f"dup_{unit}_frac": 0.3})
    at_edge = [unique.format(i) for i in range(6)] + [repeated] * 4
    past_edge = [unique.format(i) for i in range(5)] + [repeated] * 5
    assert verdict(separator.join(at_edge), config, language) == "kept"
    assert verdict(separator.join(past_edge), config, language) == f"dup_{unit}_frac"


@pytest.mark.parametrize("language, repeated", [("en", "twenty chars, repeat"), ("zh", "这是重复的段落，一共有十个字")])
@pytest.mark.parametrize("unit, separator", [("para", "\n\n"), ("line", "\n")])
def test_duplicate_characters_edge(language, repeated, unit, separator):
    # one repeat of L characters in a text of 5L characters = 0.2 (kept); one character less drops
    config = only(**{f"dup_{unit}_char_frac": 0.2})
    size = len(repeated)
    rest = 5 * size - 2 * size - 2 * len(separator)
    at_edge = separator.join([repeated, repeated, "x" * rest])
    assert len(at_edge) == 5 * size
    assert verdict(at_edge, config, language) == "kept"
    assert verdict(at_edge[:-1], config, language) == f"dup_{unit}_char_frac"


@pytest.mark.parametrize("n, frac", [(2, 0.20), (3, 0.18), (4, 0.16)])
def test_top_ngram_edge_english(n, frac):
    # the n-gram 'aa bb ..' (3n - 1 characters with its spaces) twice, in distinct filler
    gram = " ".join(chr(97 + i) * 2 for i in range(n))
    covered = 2 * len(gram)
    length = math.ceil(covered / frac)
    head = f"{gram} {gram} "
    at_edge = head + filler(length - len(head))
    config = only(top_ngram_frac={str(n): frac})
    assert verdict(at_edge, config) == "kept"
    assert verdict(at_edge[:-1], config) == f"top_{n}_gram"


def test_top_ngram_edge_chinese_counts_characters_without_spaces():
    # '我们 学习' twice: 8 characters (no spaces in Chinese), so 40 characters is the edge
    head = "我们学习我们学习，"
    tail = "今天天气很好，他说这是一个非常重要的问题。"
    at_edge = head + tail + "x" * (40 - len(head) - len(tail))
    assert split_words(at_edge, "zh")[:4] == ["我们", "学习", "我们", "学习"]
    config = only(top_ngram_frac={"2": 0.2})
    assert verdict(at_edge, config, "zh") == "kept"
    assert verdict(at_edge[:-1], config, "zh") == "top_2_gram"


@pytest.mark.parametrize("n", [5, 6, 7, 8, 9, 10])
def test_duplicated_ngram_edge_english(n):
    frac = DEFAULTS.dup_ngram_frac[str(n)]
    gram = " ".join(chr(97 + i) * 3 for i in range(n))  # n distinct words of 3 letters
    repeated = 3 * n  # Gopher counts the repeat's characters without spaces
    length = math.ceil(repeated / frac)
    middle = length - 2 * len(gram) - 2
    at_edge = f"{gram} {filler(middle)} {gram}"
    config = only(dup_ngram_frac={str(n): frac})
    assert verdict(at_edge, config) == "kept"
    past_edge = f"{gram} {filler(middle - 1)} {gram}"
    assert verdict(past_edge, config) == f"duplicated_{n}_n_grams"


def test_duplicated_ngram_edge_chinese():
    # jieba: 他/说/这/是/一个 (6 characters) repeated; 6 / 0.15 = 40 characters
    gram = "他说这是一个"
    middle = "今天天气很好，我们去公园散步吧。"
    at_edge = gram + middle + "x" * (40 - 2 * len(gram) - len(middle) - 1) + "。" + gram
    assert split_words(gram, "zh") == ["他", "说", "这", "是", "一个"]
    config = only(dup_ngram_frac={"5": 0.15})
    assert len(at_edge) == 40
    assert verdict(at_edge, config, "zh") == "kept"
    assert verdict(at_edge.replace("xx", "x", 1), config, "zh") == "duplicated_5_n_grams"


def test_rules_run_in_gophers_order():
    # a page that breaks every rule is dropped by the first: repeated paragraphs
    text = "\n\n".join(["spam spam spam spam spam spam"] * 10)
    assert verdict(text, DEFAULTS) == "dup_para_frac"


def test_ordinary_prose_is_kept():
    text = (
        "Rivers shape the land they cross. Over centuries, water carves valleys and deposits rich soil.\n\n"
        "Farmers settled along their banks because the floods renewed the fields each spring.\n\n"
        "Cities followed, and with them bridges, mills and ports that still mark the map today."
    )
    assert verdict(text, DEFAULTS) == "kept"


def _reference_top_chars(words: list[str], n: int) -> int:
    """Gopher's top n-gram as datatrove computes it: joined strings, Counter, first seen on ties."""
    from collections import Counter

    grams = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0
    gram, count = Counter(grams).most_common(1)[0]
    return len(gram) * count


def _reference_repeated_chars(words: list[str], n: int) -> int:
    """Gopher's walk: a repeat adds its characters (no spaces) and skips past itself."""
    seen, repeated, i = set(), 0, 0
    while i < len(words) - n + 1:
        gram = tuple(words[i : i + n])
        if gram in seen:
            repeated += sum(map(len, gram))
            i += n
        else:
            seen.add(gram)
            i += 1
    return repeated


def test_ngram_counts_match_the_string_reference_on_random_repetitive_pages():
    """The hashed, vectorised n-gram counts equal the plain-string computation, ties included."""
    import random

    from ccforge.filters.gopher_repetition import _NGrams
    from ccforge.filters.text_stats import TextStats

    rng = random.Random(7)
    vocabulary = ["a", "to", "sea", "blue", "cat", "of", "the", "river", "x", "mm"]
    for _ in range(200):
        size = rng.randrange(0, 80)
        words = [rng.choice(vocabulary[: rng.randrange(2, len(vocabulary) + 1)]) for _ in range(size)]
        stats = TextStats(" ".join(words), "spaced")
        ngrams = _NGrams(stats)
        for n in (2, 3, 4):
            assert ngrams.top_ngram_chars(n) == _reference_top_chars(words, n)
        for n in range(5, 11):
            assert ngrams.repeated_ngram_chars(n) == _reference_repeated_chars(words, n)
