"""Word and sentence splitting per language (ccforge.filters.words)."""

from ccforge.filters.text_stats import text_stats
from ccforge.filters.words import count_sentences, split_words, words_kind


def test_english_is_split_as_spacy_splits_it():
    assert split_words("Don't stop, Mr. Smith: it's well-known (e.g. $2.5 or 3-4 km).") == [
        "Do", "n't", "stop", ",", "Mr.", "Smith", ":", "it", "'s", "well", "-", "known",
        "(", "e.g.", "$", "2.5", "or", "3", "-", "4", "km", ")", ".",
    ]  # fmt: skip


def test_english_keeps_urls_and_special_cases_whole():
    assert split_words("see https://example.com/a?b=1, :) ok") == ["see", "https://example.com/a?b=1", ",", ":)", "ok"]
    assert split_words("smile:)") == ["smile", ":)"]  # spaCy's special-case matcher re-joins the emoticon


def test_chinese_is_cut_into_jieba_words_never_one_word():
    assert split_words("他说这是一个非常重要的问题。", "zh") == ["他", "说", "这", "是", "一个", "非常", "重要", "的", "问题", "。"]
    assert split_words("我们学习 Python", "zh-Hant") == ["我们", "学习", "Python"]


def test_japanese_is_split_into_script_runs():
    assert split_words("東京の大学に行きました。カタカナ", "ja") == ["東京", "の", "大学", "に", "行", "きました", "。", "カタカナ"]


def test_words_kind_follows_the_base_language():
    assert [words_kind(code) for code in ("en", "de", "zh", "zh-Hant", "zh_Hans", "yue", "ja")] == [
        "spaced", "spaced", "jieba", "jieba", "jieba", "jieba", "script_runs",
    ]  # fmt: skip


def test_sentences_are_counted_as_spacys_sentencizer_does():
    assert count_sentences(split_words("Hello world. Mr. Smith is here! OK then")) == 3
    assert count_sentences(split_words('He said "stop." Then left.')) == 2  # the quote belongs to the first
    assert count_sentences(split_words("Wait... what e.g. this")) == 1  # '...' and 'e.g.' end nothing
    assert count_sentences(split_words("我爱你。你好吗？好！", "zh")) == 3
    assert count_sentences([]) == 0


def test_text_stats_are_shared_per_text_and_language():
    text = "The same words, the same page."
    assert text_stats(text, "en") is text_stats(text, "en-GB")  # same splitter, same analysis
    assert text_stats(text, "zh") is not text_stats(text, "en")
    summary = text_stats(text, "en").word_summary
    assert (summary.words, summary.non_symbol_words, summary.alpha_words) == (8, 6, 6)


def test_word_then_mark_shortcut_matches_the_full_rules():
    # `_split_spaced` cuts 'word,' and 'word.' without the affix machinery; it must give
    # what spaCy's full rules (`_split_chunk_by_rules`) give, special cases included.
    from ccforge.filters.words import SPECIAL_CASES, _split_chunk_by_rules

    special_words = [w for w in SPECIAL_CASES if w.isalpha()][:300]
    words = special_words + ["word", "A", "I", "US", "Mr", "Dr", "etc", "café", "naïve", "straße", "Ωmega",
                             "ΑΘΗΝΑ", "Москва", "日本語", "x", "e", "pm", "Inc", "vs", "gonna", "cannot"]
    checked = 0
    for word in words:
        for mark in ',:;!?)".':
            chunk = word + mark
            assert split_words(chunk) == list(_split_chunk_by_rules(chunk)), chunk
            checked += 1
    assert checked > 300


def test_ascii_rules_split_ascii_chunks_as_the_full_rules_do():
    # `_ASCII_RULES` cut spaCy's character classes down to their ASCII members; on ASCII
    # text every rule must find what the full patterns find.
    import random

    from ccforge.filters.words import _ASCII_RULES, _RULES, _find_prefix, _find_suffix

    parts = ["word", "A", "Mr", "e.g", "12", "3.5", "km", "kg", "'s", "n't", "$", "US$", "%", ".", "..", ",", ":",
             ";", "!", "?", "-", "--", "~", "/", "+", "*", "^", "=", "<", ">", "(", ")", "[", "]", '"', "'", "`",
             "#", "&", "_", "@", "http://", "www", "com", "x", "Z", "0"]
    rng = random.Random(7)
    for _ in range(3000):
        chunk = "".join(rng.choice(parts) for _ in range(rng.randint(1, 5)))
        assert _find_prefix(chunk, _ASCII_RULES) == _find_prefix(chunk, _RULES), chunk
        assert _find_suffix(chunk, _ASCII_RULES) == _find_suffix(chunk, _RULES), chunk
        assert [m.span() for m in _ASCII_RULES.infix_finditer(chunk)] == [m.span() for m in _RULES.infix_finditer(chunk)]
        assert bool(_ASCII_RULES.url_match(chunk)) == bool(_RULES.url_match(chunk)), chunk


def test_infix_rules_never_start_at_a_letter_or_digit():
    # `_split_chunk` keeps a letters-and-digits remainder whole without running the infix
    # rules: no infix match may start at such a character, in any script.
    from ccforge.filters.words import _RULES

    for code in range(0x30, 0x10000):  # the Basic Multilingual Plane
        char = chr(code)
        if char.isalnum():
            for left, right in (("a", "a"), ("0", "0"), ("a", "A"), ("0", "a")):
                assert not any(m.start() == 1 for m in _RULES.infix_finditer(left + char + right)), hex(code)


def test_urls_need_a_dot():
    # `_split_chunk` tries the URL rule only on remainders with a '.' in them.
    from ccforge.filters.words import _RULES

    for chunk in ("localhost", "http://localhost:8080/x", "user@host", "10:30", "abc://def", "a/b/c", "x@y:80"):
        assert not _RULES.url_match(chunk), chunk
    assert _RULES.url_match("example.com") and _RULES.url_match("https://a.org/c")
