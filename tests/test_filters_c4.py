"""C4: line cleaning and page rules at their edges, in English and in Chinese."""

import pytest

from ccforge.config import load_config
from ccforge.document import Document
from ccforge.filters.c4 import C4Config, C4Filter

EN_SENTENCES = [f"This is sentence number {n} of the page." for n in ("one", "two", "three", "four", "five")]
ZH_SENTENCES = ["我们今天学习中文。", "他说这是一个问题。", "今天天气很好。", "我们去公园散步。", "这本书非常有意思。"]
BODY = {"en": EN_SENTENCES, "zh": ZH_SENTENCES}


def run(text: str, config: C4Config | None = None, language: str = "en") -> str | Document:
    result = C4Filter(config or C4Config()).process(Document(id="d", url="", text=text, language=language))
    return result if isinstance(result, Document) else result.reason


def kept_text(text: str, config: C4Config | None = None, language: str = "en") -> str:
    result = run(text, config, language)
    assert isinstance(result, Document), f"dropped: {result}"
    return result.text


def test_defaults_are_finewebs():
    config = C4Config()
    assert (config.min_num_sentences, config.min_words_per_line, config.max_word_length) == (5, 3, 1000)
    assert config.filter_no_terminal_punct is False  # FineWeb turns this C4 rule off
    assert config.remove_citations and config.filter_lorem_ipsum and config.filter_javascript
    assert config.filter_curly_bracket and config.filter_policy


@pytest.mark.parametrize("language", ["en", "zh"])
def test_min_sentences_edge(language):
    sentences = BODY[language]
    assert kept_text("\n".join(sentences), language=language) == "\n".join(sentences)
    assert run("\n".join(sentences[:4]), language=language) == "too_few_sentences"


def test_sentences_within_one_line_count():
    assert isinstance(run(" ".join(EN_SENTENCES)), Document)
    # 'Mr.' and 'e.g.' end no sentence
    assert run(" ".join(EN_SENTENCES[:3] + ["Mr. Smith went e.g. home."])) == "too_few_sentences"
    assert isinstance(run("".join(ZH_SENTENCES), language="zh"), Document)


@pytest.mark.parametrize(
    "language, three_words, two_words",
    [("en", "Three words here", "Two words"), ("zh", "我们学习中文", "学习中文")],  # zh: 我们/学习/中文
)
def test_min_words_per_line_edge(language, three_words, two_words):
    text = "\n".join(BODY[language] + [three_words, two_words])
    assert kept_text(text, language=language) == "\n".join(BODY[language] + [three_words])


def test_chinese_punctuation_marks_are_not_words_of_a_line():
    # jieba makes '。' a token of its own; C4's words are space-separated, marks attached
    assert kept_text("\n".join(ZH_SENTENCES + ["学习中文。", "学习中文！"]), language="zh") == "\n".join(ZH_SENTENCES)
    assert kept_text("\n".join(ZH_SENTENCES + ["我们学习中文。"]), language="zh").endswith("我们学习中文。")


def test_chinese_lines_are_not_one_word():
    # by spaces, a Chinese line is one 'word' and C4 would remove every line
    assert kept_text("\n".join(ZH_SENTENCES), language="zh") == "\n".join(ZH_SENTENCES)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_max_word_length_edge(language):
    fits = "A long word " + "x" * 1000 + " fits."
    too_long = "A long word " + "y" * 1001 + " does not."
    text = "\n".join(BODY[language] + [fits, too_long])
    assert kept_text(text, language=language) == "\n".join(BODY[language] + [fits])


def test_citations_are_removed():
    text = "\n".join(EN_SENTENCES[:4] + ["Water boils at 100 degrees.[1][edit] It is known.[citation needed]"])
    assert kept_text(text).splitlines()[-1] == "Water boils at 100 degrees. It is known."
    assert kept_text(text, C4Config(remove_citations=False)).endswith("[citation needed]")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_lorem_ipsum_and_curly_bracket_drop_the_page(language):
    body = BODY[language]
    assert run("\n".join(body + ["Lorem ipsum dolor sit amet."]), language=language) == "lorem_ipsum"
    assert run("\n".join(body + ["function x() { return 1; }"]), language=language) == "curly_bracket"
    # on a line removed before those checks, they do not count (C4's order)
    assert isinstance(run("\n".join(body + ["{ }"]), language=language), Document)  # too few words


@pytest.mark.parametrize("language", ["en", "zh"])
def test_javascript_and_policy_lines_are_removed(language):
    body = BODY[language]
    text = "\n".join(body + ["Please enable JavaScript to view this.", "Read our Privacy Policy here."])
    assert kept_text(text, language=language) == "\n".join(body)


def test_chinese_policy_phrases_from_the_multilingual_config():
    config = C4Filter(load_config("multilingual").c4).config_for("zh")
    text = "\n".join(ZH_SENTENCES + ["请阅读我们的隐私政策。"])
    assert kept_text(text, config, "zh") == "\n".join(ZH_SENTENCES)
    assert kept_text(text, C4Config(), "zh") == text  # the default lists only English phrases


@pytest.mark.parametrize("language", ["en", "zh"])
def test_terminal_punctuation_rule_when_turned_on(language):
    config = C4Config(filter_no_terminal_punct=True)
    body = BODY[language]
    text = "\n".join(body + ["no end mark here", "it trails off..."])
    assert kept_text(text, config, language) == "\n".join(body)
    assert kept_text(text, C4Config(), language) == text


def test_line_removals_are_counted():
    stage = C4Filter(C4Config())
    stage.process(Document(id="d", url="", text="\n".join(EN_SENTENCES + ["Enable javascript now.", "Hi"]), language="en"))
    counts = stage.take_counts()
    assert counts == {"en:kept": 1, "lines_removed:javascript": 1, "lines_removed:too_few_words": 1}
    assert stage.take_counts() == {}
