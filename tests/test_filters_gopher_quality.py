"""Gopher quality: every threshold at its edge, in English and in Chinese.

Each test keeps one rule at its FineWeb default (or, for Chinese word lengths, the
`multilingual` config's value), turns the others off, and checks a page at the
threshold (kept) and one just past it (dropped with the rule's reason).
"""

import pytest

from ccforge.config import load_config
from ccforge.document import Document
from ccforge.filters.gopher_quality import GopherQualityConfig, GopherQualityFilter
from ccforge.filters.words import split_words

OFF = dict(
    min_doc_words=None, max_doc_words=None, min_avg_word_length=None, max_avg_word_length=None,
    max_symbol_word_ratio=None, max_bullet_lines_ratio=None, max_ellipsis_lines_ratio=None,
    min_alpha_words_ratio=None, min_stop_words=None,
)  # fmt: skip
DEFAULTS = GopherQualityConfig()


def only(**rule) -> GopherQualityConfig:
    return GopherQualityConfig(**{**OFF, **rule})


def verdict(text: str, config: GopherQualityConfig, language: str = "en") -> str:
    result = GopherQualityFilter(config).process(Document(id="d", url="", text=text, language=language))
    return "kept" if isinstance(result, Document) else result.reason


def test_defaults_are_gophers():
    assert (DEFAULTS.min_doc_words, DEFAULTS.max_doc_words) == (50, 100_000)
    assert (DEFAULTS.min_avg_word_length, DEFAULTS.max_avg_word_length) == (3, 10)
    assert (DEFAULTS.max_symbol_word_ratio, DEFAULTS.max_bullet_lines_ratio) == (0.1, 0.9)
    assert (DEFAULTS.max_ellipsis_lines_ratio, DEFAULTS.min_alpha_words_ratio, DEFAULTS.min_stop_words) == (0.3, 0.8, 2)


@pytest.mark.parametrize("language, word", [("en", "word"), ("zh", "学生")])
def test_min_doc_words_edge(language, word):
    config = only(min_doc_words=50)
    assert verdict(" ".join([word] * 50) + " .", config, language) == "kept"  # '.' is not a word here
    assert verdict(" ".join([word] * 49) + " .", config, language) == "gopher_short_doc"


def test_chinese_without_spaces_is_counted_in_words():
    config = only(min_doc_words=50)
    assert verdict("学生" * 50, config, "zh") == "kept"  # 100 characters, 50 words: not one 'word'
    assert verdict("学生" * 49, config, "zh") == "gopher_short_doc"


def test_max_doc_words_edge():
    config = only(max_doc_words=100_000)
    assert verdict("word " * 100_000, config) == "kept"
    assert verdict("word " * 100_001, config) == "gopher_long_doc"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_mean_word_length_edges(language):
    if language == "en":
        short, shorter, long_, longer = "abc", "ab", "abcdefghij", "abcdefghijk"
        low, high = 3, 10
    else:  # the multilingual config's Chinese bounds (bench_language_calibration.py)
        zh = load_config("multilingual").gopher_quality.languages["zh"]
        low, high = zh["min_avg_word_length"], zh["max_avg_word_length"]
        assert (low, high) == (1.251, 4.171)
    if language == "en":
        at_low, past_low = [short] * 10, [short] * 9 + [shorter]
        at_high, past_high = [long_] * 10, [long_] * 9 + [longer]
    else:
        at_low, past_low = ["书", "书", "学生"], ["书", "书", "书", "学生"]  # 4/3 = 1.33, 5/4 = 1.25
        nation, library = "中华人民共和国", "图书馆"  # 7 and 3 characters
        at_high = [nation, nation] + [library] * 3 + ["学生"]  # 25/6 = 4.17
        past_high = [nation, nation] + [library] * 4  # 26/6 = 4.33
    assert verdict(" ".join(at_low), only(min_avg_word_length=low), language) == "kept"
    assert verdict(" ".join(past_low), only(min_avg_word_length=low), language) == "gopher_below_avg_threshold"
    assert verdict(" ".join(at_high), only(max_avg_word_length=high), language) == "kept"
    assert verdict(" ".join(past_high), only(max_avg_word_length=high), language) == "gopher_above_avg_threshold"


@pytest.mark.parametrize("language, word", [("en", "word"), ("zh", "学生")])
@pytest.mark.parametrize("symbol, reason", [("#", "gopher_too_many_hashes"), ("…", "gopher_too_many_ellipsis")])
def test_symbol_to_word_ratio_edge(language, word, symbol, reason):
    # 2 symbols among 20 words (symbols are words too) = 0.1 (kept); among 19 (dropped)
    config = only(max_symbol_word_ratio=0.1)
    assert verdict(" ".join([word] * 18 + [symbol] * 2), config, language) == "kept"
    assert verdict(" ".join([word] * 17 + [symbol] * 2), config, language) == reason


@pytest.mark.parametrize("language, line", [("en", "a line of words"), ("zh", "我们学习中文")])
def test_bullet_lines_edge(language, line):
    config = only(max_bullet_lines_ratio=0.9)
    assert verdict("\n".join([f"- {line}"] * 9 + [line]), config, language) == "kept"
    assert verdict("\n".join([f"• {line}"] * 10), config, language) == "gopher_too_many_bullets"


@pytest.mark.parametrize("language, line", [("en", "a line of words"), ("zh", "我们学习中文")])
def test_ellipsis_lines_edge(language, line):
    config = only(max_ellipsis_lines_ratio=0.3)
    assert verdict("\n".join([f"{line}..."] * 3 + [line] * 7), config, language) == "kept"
    assert verdict("\n".join([f"{line}…"] * 4 + [line] * 6), config, language) == "gopher_too_many_end_ellipsis"


@pytest.mark.parametrize("language, word", [("en", "word"), ("zh", "学生")])
def test_alpha_words_edge(language, word):
    # 8 words with a letter in 10 = 0.8 (kept); 7 in 9 (dropped)
    config = only(min_alpha_words_ratio=0.8)
    assert verdict(" ".join([word] * 8 + ["1999", "2024"]), config, language) == "kept"
    assert verdict(" ".join([word] * 7 + ["1999", "2024"]), config, language) == "gopher_below_alpha_threshold"


def test_chinese_punctuation_counts_as_non_alphabetic_words():
    config = only(min_alpha_words_ratio=0.8)
    assert split_words("学生学生学生学生，学生。", "zh").count("，") == 1
    assert verdict("学生学生学生学生，", config, "zh") == "kept"  # 4 of 5
    assert verdict("学生学生学生，。", config, "zh") == "gopher_below_alpha_threshold"  # 3 of 5


@pytest.mark.parametrize(
    "language, two, one",
    [("en", "the cat of the house", "the cat in the house"), ("zh", "学生的书了", "学生的书")],
)
def test_stop_words_edge(language, two, one):
    config = only(min_stop_words=2)
    assert verdict(two, config, language) == "kept"
    assert verdict(one, config, language) == "gopher_too_few_stop_words"


def test_configured_stop_words_replace_the_builtin_list():
    config = only(min_stop_words=2, stop_words=["cat", "house"])
    assert verdict("the cat in the house", config) == "kept"
    assert verdict("the dog of the house", config) == "gopher_too_few_stop_words"


def test_a_language_without_a_stop_word_list_skips_that_rule():
    assert verdict("kalimat ini tidak punya kata umum", only(min_stop_words=2), "xx") == "kept"


def test_ordinary_prose_is_kept_in_english_and_chinese():
    english = (
        "The river has shaped the valley for thousands of years. Farmers came to the banks because "
        "the floods renewed the soil with every spring, and towns grew where the water was calm enough "
        "to cross. Today the old mills are museums, and the bridges carry cars instead of carts, but the "
        "river still decides where the roads go and how the fields are drawn on the map of the region."
    )
    chinese = (
        "这条河流塑造了山谷几千年。农民来到河岸，因为每年春天的洪水都会让土地变得肥沃，城镇也在水流平缓的地方发展起来。"
        "如今，古老的磨坊成了博物馆，桥梁上跑的是汽车而不是马车，但是这条河仍然决定着道路的走向，也决定着田野在地图上的样子。"
        "我们可以说，这个地区的历史就是一条河的历史，人们的生活和工作都离不开它。"
    )
    assert verdict(english, DEFAULTS) == "kept"
    zh_config = GopherQualityFilter(load_config("multilingual").gopher_quality).config_for("zh")
    assert verdict(chinese, zh_config, "zh") == "kept"
    assert verdict(chinese, DEFAULTS, "zh") == "gopher_below_avg_threshold"  # why zh has its own bounds
