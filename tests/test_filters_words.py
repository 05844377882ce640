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
    # what spaCy's full rules (`_split_chunk_cached`) give, special cases included.
    from ccforge.filters.words import SPECIAL_CASES, _split_chunk_cached

    special_words = [w for w in SPECIAL_CASES if w.isalpha()][:300]
    words = special_words + ["word", "A", "I", "US", "Mr", "Dr", "etc", "café", "naïve", "straße", "Ωmega",
                             "ΑΘΗΝΑ", "Москва", "日本語", "x", "e", "pm", "Inc", "vs", "gonna", "cannot"]
    checked = 0
    for word in words:
        for mark in ',:;!?)".':
            chunk = word + mark
            assert split_words(chunk) == list(_split_chunk_cached(chunk)), chunk
            checked += 1
    assert checked > 300
