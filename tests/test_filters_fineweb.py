"""FineWeb quality: every threshold at its edge, in English and in Chinese."""

import pytest

from ccforge.config import load_config
from ccforge.document import Document
from ccforge.filters.fineweb_quality import FineWebQualityConfig, FineWebQualityFilter
from ccforge.filters.words import split_words

OFF = dict(line_punct_thr=0.0, short_line_thr=1.0, char_duplicates_ratio=1.0, new_line_ratio=1e9)
DEFAULTS = FineWebQualityConfig()


def only(**rule) -> FineWebQualityConfig:
    return FineWebQualityConfig(**{**OFF, **rule})


def verdict(text: str, config: FineWebQualityConfig, language: str = "en") -> str:
    result = FineWebQualityFilter(config).process(Document(id="d", url="", text=text, language=language))
    return "kept" if isinstance(result, Document) else result.reason


def numbered(template: str, count: int) -> list[str]:
    return [template.format(f"{i:03d}") for i in range(count)]


def test_defaults_are_finewebs():
    assert (DEFAULTS.line_punct_thr, DEFAULTS.line_punct_exclude_zero) == (0.12, False)
    assert (DEFAULTS.short_line_thr, DEFAULTS.short_line_length) == (0.67, 30)
    assert (DEFAULTS.char_duplicates_ratio, DEFAULTS.new_line_ratio) == (0.01, 0.3)


def test_blank_text_is_empty():
    assert verdict(" \n\n \n", DEFAULTS) == "empty"


@pytest.mark.parametrize(
    "language, ended, open_", [("en", "Line {} ends here.", "Line {} does not"), ("zh", "第{}行结束了。", "第{}行没有结束")]
)
def test_line_punctuation_edge(language, ended, open_):
    # 3 of 25 lines end a sentence = 0.12 (kept); 2 of 25 (dropped)
    config = only(line_punct_thr=0.12)
    assert verdict("\n".join(numbered(ended, 3) + numbered(open_, 22)), config, language) == "kept"
    assert verdict("\n".join(numbered(ended, 2) + numbered(open_, 23)), config, language) == "line_punct_ratio"
    zero = "\n".join(numbered(open_, 25))
    assert verdict(zero, config, language) == "line_punct_ratio"
    assert verdict(zero, only(line_punct_thr=0.12, line_punct_exclude_zero=True), language) == "kept"


def test_short_line_edge_english():
    config = only(short_line_thr=0.67, short_line_length=30)
    short = numbered("Short line number {} is here.", 68)  # exactly 30 characters
    long_ = numbered("A longer line, number {}, is over the limit.", 33)
    assert {len(line) for line in short} == {30}
    assert verdict("\n".join(short[:67] + long_), config) == "kept"  # 67 of 100
    assert verdict("\n".join(short[:68] + long_[:32]), config) == "short_line_ratio"  # 68 of 100
    not_short = [line + "!" for line in short]  # 31 characters
    assert verdict("\n".join(not_short + long_[:32]), config) == "kept"


def test_short_line_edge_chinese_uses_its_own_length():
    zh = FineWebQualityFilter(load_config("multilingual").fineweb_quality).config_for("zh")
    assert zh.short_line_length == 15 and zh.short_line_thr == 0.849  # bench_language_calibration.py
    short = numbered("这是第{}行，一共十五个字。", 850)  # 15 characters
    long_ = numbered("这是比较长的第{}行，超过了十五个字的限制。", 151)
    assert {len(line) for line in short} == {15}
    zh = FineWebQualityConfig(**{**OFF, "short_line_thr": 0.849, "short_line_length": 15})
    assert verdict("\n".join(short[:849] + long_), zh, "zh") == "kept"  # 849 of 1000
    assert verdict("\n".join(short[:850] + long_[:150]), zh, "zh") == "short_line_ratio"  # 850 of 1000


@pytest.mark.parametrize("language, unit", [("en", "abcde "), ("zh", "我们学习中文")])
def test_duplicated_line_characters_edge(language, unit):
    # one repeated line of L characters among 100 L characters (newlines aside) = 0.01
    config = only(char_duplicates_ratio=0.01)
    repeated = unit * 2  # 12 characters
    size = len(repeated)
    filler_total = 100 * size - 2 * size
    fillers = [f"{i:02d}" + "x" * (size * 7 - 2) for i in range(14)]  # 14 distinct lines of 7L
    assert sum(map(len, fillers)) == filler_total
    at_edge = "\n".join([repeated, repeated] + fillers)
    assert verdict(at_edge, config, language) == "kept"
    assert verdict(at_edge[:-1], config, language) == "char_dup_ratio"


@pytest.mark.parametrize("language, word", [("en", "word"), ("zh", "学生")])
def test_newlines_per_word_edge(language, word):
    # 9 newlines for 30 words = 0.3 (kept); for 29 words (dropped)
    config = only(new_line_ratio=0.3)
    lines = [" ".join([word] * 3)] * 10
    at_edge = "\n".join(lines)
    assert len(split_words(at_edge, language)) == 30
    assert verdict(at_edge, config, language) == "kept"
    assert verdict(at_edge.rsplit(" ", 1)[0], config, language) == "list_ratio"


def test_ordinary_prose_is_kept():
    text = (
        "The river has shaped the valley for thousands of years.\n"
        "Farmers came to its banks because the floods renewed the soil every spring.\n"
        "Towns grew where the water was calm enough to cross, and bridges followed."
    )
    assert verdict(text, DEFAULTS) == "kept"
