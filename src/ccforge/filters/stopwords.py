"""Stop words per language for Gopher's 'has at least N stop words' rule.

English is Gopher's (and FineWeb's) list. The others are short lists of each language's
most frequent function words, as a word splitter of `words.py` produces them (jieba
words for Chinese, script runs for Japanese); a real page has several of them, boilerplate
and keyword lists rarely do. A config's `stop_words` replaces the list for a language.
"""

from __future__ import annotations

STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset({"the", "be", "to", "of", "and", "that", "have", "with"}),
    "zh": frozenset(
        "的 了 是 在 和 有 我 不 这 也 就 都 一个 与 对 我们 中 为 他 而 及 或 被 从 到 说 要 会 可以 没有 你 她 它 "
        "他们 这个 那 上 着 很 但 所以 因为 如果 还".split()
    ),
    "ja": frozenset(
        "の に は を が で と も から まで より や へ な た て です ます した して する ない いる ある こと "
        "この その れる られ という".split()
    ),
    "de": frozenset("der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch".split()),
    "fr": frozenset("de la le et les des en un du une que est pour qui dans par sur au pas avec ce il".split()),
    "es": frozenset("de la que el en y a los del se las por un para con no una su al lo es como".split()),
    "it": frozenset("di e il la che in a per un del non è una da sono le si con i al".split()),
    "pt": frozenset("de a o que e do da em um para é com não uma os no se na por mais as".split()),
    "nl": frozenset("de en van het een in is dat op te zijn met voor niet aan er die".split()),
    "ru": frozenset("и в не на я что с по это он как а то к но из у за от о".split()),
    "pl": frozenset("i w z na się nie do to że jest o jak po co a od".split()),
}


def stop_words_for(language: str) -> frozenset[str] | None:
    """The built-in list for `language` ('zh-Hant' uses 'zh'), or None when there is none."""
    base = language.replace("_", "-").split("-")[0].lower() or "en"
    return STOP_WORDS.get(base)
