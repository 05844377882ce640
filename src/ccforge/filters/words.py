"""Words and sentences per language, for the quality filters.

Languages written with spaces are split as datatrove's FineWeb filters split them
(spaCy's rule-based tokenizer, ported in `_split_spaced` with spaCy's own rules from
`spacy_rules`), so thresholds tuned on FineWeb mean the same here. Chinese is cut into
words with rjieba (jieba's dictionary, as spaCy's Chinese tokenizer does) after
traditional characters are converted to simplified (OpenCC, `chinese_script`): jieba's
dictionary is simplified, and a page's words, stop words and n-grams must not depend on
the script it was written in. Japanese has
no segmenter among our dependencies: it is split into runs of one script (kanji,
hiragana, katakana, Latin letters, digits), which puts particles such as の, に, は
between content words into tokens of their own; a run is a crude word but never the
whole page.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from ccforge.chinese_script import to_simplified
from ccforge.filters.spacy_rules import INFIX_PATTERN, PREFIX_PATTERN, SPECIAL_CASES, SUFFIX_PATTERN, URL_PATTERN


def _for_ascii(pattern: str) -> str:
    """`pattern` with each character class cut down to its ASCII members: the same matches
    on ASCII text, and a few characters for `re` to test at each position instead of
    hundreds of Unicode ranges (spaCy's letter classes), several times faster."""
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if pattern[i] != "[":
            out.append(pattern[i])
            i += 1
            continue
        end = i + 1 + (pattern[i + 1] == "^")
        end += pattern[end] == "]"  # a ']' first is a member
        while pattern[end] != "]":
            end += 2 if pattern[end] == "\\" else 1
        members = re.compile(pattern[i : end + 1]).fullmatch
        ascii_members = "".join(re.escape(chr(c)) for c in range(128) if members(chr(c)))
        out.append(f"[{ascii_members}]" if ascii_members else "[^\\x00-\\x7f]")  # empty: no ASCII char
        i = end + 1
    return "".join(out)


@dataclass(frozen=True)
class _Rules:
    """spaCy's affix, infix and URL patterns, compiled for one kind of text."""

    # Every prefix alternative is anchored with '^', so `match` finds what spaCy's `search`
    # does without scanning the whole chunk.
    prefix_match: Callable
    suffix_search: Callable
    infix_finditer: Callable
    url_match: Callable

    @classmethod
    def compile(cls, convert: Callable[[str], str] = str) -> _Rules:
        return cls(re.compile(convert(PREFIX_PATTERN)).match, re.compile(convert(SUFFIX_PATTERN)).search,
                   re.compile(convert(INFIX_PATTERN)).finditer, re.compile(convert(URL_PATTERN)).match)


_RULES = _Rules.compile()
_ASCII_RULES = _Rules.compile(_for_ascii)  # for chunks of ASCII characters only (most, in English)
# No suffix alternative is longer than this (units such as 'km/h', 'US$'), except runs
# of dots: `_find_suffix` starts its search this far from the end.
_LONGEST_SUFFIX = 8

# Languages cut by a dictionary segmenter, and those split into script runs.
JIEBA_LANGUAGES = frozenset({"zh", "yue", "wuu", "gan", "lzh", "cmn"})
SCRIPT_RUN_LANGUAGES = frozenset({"ja"})

# spaCy's sentencizer: a sentence ends after one of these tokens (datatrove counts C4's
# sentences this way, in every language).
SENTENCE_END_TOKENS = frozenset(
    "! . ? ։ ؟ ۔ ܀ ܁ ܂ ߹ । ॥ ၊ ။ ። ፧ ፨ ᙮ ᜵ ᜶ ᠃ ᠉ ᥄ ᥅ ᪨ ᪩ ᪪ ᪫ ᭚ ᭛ ᭞ ᭟ ᰻ ᰼ ᱾ ᱿ ‼ ‽ ⁇ ⁈ ⁉ ⸮ ⸼ ꓿ ꘎ ꘏ "
    "꛳ ꛷ ꡶ ꡷ ꣎ ꣏ ꤯ ꧈ ꧉ ꩝ ꩞ ꩟ ꫰ ꫱ ꯫ ﹒ ﹖ ﹗ ！ ． ？ 𐩖 𐩗 𑁇 𑁈 𑂾 𑂿 𑃀 𑃁 𑅁 𑅂 𑅃 𑇅 𑇆 𑇍 𑇞 𑇟 𑈸 𑈹 𑈻 "
    "𑈼 𑊩 𑑋 𑑌 𑗂 𑗃 𑗉 𑗊 𑗋 𑗌 𑗍 𑗎 𑗏 𑗐 𑗑 𑗒 𑗓 𑗔 𑗕 𑗖 𑗗 𑙁 𑙂 𑜼 𑜽 𑜾 𑩂 𑩃 𑪛 𑪜 𑱁 𑱂 𖩮 𖩯 𖫵 𖬷 𖬸 𖭄 "
    "𛲟 𝪈 ｡ 。".split()
)

# One token per run of a script; anything else (punctuation, symbols) one char a token.
_SCRIPT_RUN = re.compile(
    r"[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff\U00020000-\U0002ffff々〆ヶ]+"  # kanji
    r"|[\u3041-\u309f]+"  # hiragana
    r"|[\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9fー]+"  # katakana (full and half width)
    r"|[^\W\d_]+"  # other letters (Latin, ...)
    r"|\d+(?:[.,]\d+)*"  # numbers
    r"|\S"
)


def words_kind(language: str) -> str:
    """How `language` (a fastText/ISO code such as 'en', 'zh', 'zh-Hant') is split."""
    base = language.replace("_", "-").split("-")[0].lower()
    if base in JIEBA_LANGUAGES:
        return "jieba"
    if base in SCRIPT_RUN_LANGUAGES:
        return "script_runs"
    return "spaced"


def split_words(text: str, language: str = "en") -> list[str]:
    """The words of `text` (punctuation marks are words too, as in datatrove; Chinese in simplified characters)."""
    return split_words_by_kind(text, words_kind(language))


def split_words_by_kind(text: str, kind: str) -> list[str]:
    """`split_words` for a `words_kind` result ('spaced', 'jieba' or 'script_runs')."""
    if kind == "jieba":
        import rjieba

        return [w for w in (t.strip() for t in rjieba.cut(to_simplified(text))) if w]
    if kind == "script_runs":
        return _SCRIPT_RUN.findall(text)
    return _split_spaced(text)


def count_sentences(words: list[str]) -> int:
    """Sentences in a run of words, by spaCy's sentencizer rule (datatrove's C4 count).

    A new sentence starts at the first word that is not punctuation after a
    sentence-ending mark, so '?!' or '." ' end one sentence, and 'e.g.' ends none.
    """
    if not words:
        return 0
    sentences = 1
    seen_end = False
    for word in words:
        if word in SENTENCE_END_TOKENS:
            seen_end = True
        elif seen_end and not _is_punct(word):
            sentences += 1
            seen_end = False
    return sentences


def _is_punct(word: str) -> bool:
    """spaCy's `is_punct`: every character is in a Unicode punctuation category."""
    return all(unicodedata.category(c).startswith("P") for c in word)


# Marks that spaCy always splits off the end of a word ('word,' -> 'word' ','), and '.'
# after a lower-case ASCII letter ('end.'; 'A.' stays whole). Checked against the full
# rules in tests/test_filters_words.py.
_PLAIN_SUFFIXES = frozenset(',:;!?)"')


def _split_spaced(text: str) -> list[str]:
    """spaCy's tokenizer algorithm on whitespace-separated chunks (spacy/tokenizer.pyx)."""
    out: list[str] = []
    append, extend, special = out.append, out.extend, SPECIAL_CASES.get
    remembered = _CHUNK_PIECES.get
    for chunk in text.split():
        if chunk.isalpha():  # the common case: no affix or infix rule can apply
            pieces = special(chunk)
            if pieces is None:
                append(chunk)
            else:
                extend(pieces)
        elif _is_word_then_mark(chunk) and chunk not in SPECIAL_CASES and chunk[:-1] not in SPECIAL_CASES:
            # The next commonest: a plain word and one closing mark (half of the rest).
            # A special-case word goes the long way: its last piece may join the mark ('d.').
            append(chunk[:-1])
            append(chunk[-1])
        else:
            pieces = remembered(chunk)
            if pieces is None:
                pieces = _remember(chunk)
            extend(pieces)
    return out


# The pieces of every other chunk ('(word', "it's,", '10:30') this process has split, as
# spaCy's tokenizer caches them: such chunks recur across pages. A plain dict, not an LRU
# (whose bookkeeping costs more than the lookups save); cleared when it grows past the limit.
_CHUNK_PIECES: dict[str, tuple[str, ...]] = {}
_CHUNK_PIECES_LIMIT = 1 << 17


def _remember(chunk: str) -> tuple[str, ...]:
    if len(_CHUNK_PIECES) >= _CHUNK_PIECES_LIMIT:
        _CHUNK_PIECES.clear()
    pieces = _CHUNK_PIECES[chunk] = _split_chunk_by_rules(chunk)
    return pieces


def _split_chunk_by_rules(chunk: str) -> tuple[str, ...]:
    """One chunk through spaCy's full rules: special cases, affixes, URLs, infixes."""
    special = SPECIAL_CASES.get(chunk)
    if special is not None:
        return special
    pieces: list[str] = []
    _split_chunk(chunk, pieces, True)
    return tuple(_merge_special_spans(pieces) if len(pieces) > 1 else pieces)


def _is_word_then_mark(chunk: str) -> bool:
    last = chunk[-1]
    if last in _PLAIN_SUFFIXES:
        return chunk[:-1].isalpha()
    return last == "." and len(chunk) > 1 and "a" <= chunk[-2] <= "z" and chunk[:-1].isalpha()


def _split_chunk(string: str, out: list[str], with_special_cases: bool) -> None:
    specials = SPECIAL_CASES if with_special_cases else {}
    rules = _ASCII_RULES if string.isascii() else _RULES  # its pieces are ASCII too
    prefixes: list[str] = []
    suffixes: list[str] = []
    last_size = 0
    while string and len(string) != last_size:
        if string in specials:
            break
        last_size = len(string)
        pre_len = _find_prefix(string, rules)
        if pre_len:
            prefix, minus_pre = string[:pre_len], string[pre_len:]
            if minus_pre and minus_pre in specials:
                string = minus_pre
                prefixes.append(prefix)
                break
        suf_len = _find_suffix(string[pre_len:], rules)
        if suf_len:
            suffix, minus_suf = string[-suf_len:], string[:-suf_len]
            if minus_suf and minus_suf in specials:
                string = minus_suf
                suffixes.append(suffix)
                break
        if pre_len and suf_len and pre_len + suf_len <= len(string):
            string = string[pre_len:-suf_len]
            prefixes.append(prefix)
            suffixes.append(suffix)
        elif pre_len:
            string = minus_pre
            prefixes.append(prefix)
        elif suf_len:
            string = minus_suf
            suffixes.append(suffix)
    out.extend(prefixes)
    if string:
        special = specials.get(string)
        if special is not None:
            out.extend(special)
        elif "." in string and rules.url_match(string):  # every URL the pattern knows has a dot
            out.append(string)
        elif string.isalnum():  # each infix rule's match starts at a mark or symbol
            out.append(string)
        else:
            _split_infixes(string, out, rules)
    out.extend(reversed(suffixes))


def _find_prefix(string: str, rules: _Rules) -> int:
    """Length of the first prefix rule match at the start of `string` (0 if none)."""
    # Prefixes are marks and symbols, and the currencies 'US$', 'C$', 'A$'.
    if string[0].isalnum() and not string.startswith(("US$", "C$", "A$")):
        return 0
    match = rules.prefix_match(string)
    return match.end() if match else 0


def _find_suffix(string: str, rules: _Rules) -> int:
    """Length of the longest suffix rule match at the end of `string` (0 if none)."""
    if not string:
        return 0
    last = string[-1]
    if last.isalnum() and last.isascii():
        # Suffixes ending in a letter or digit are only "'s" and units after a number.
        if not string.endswith(("'s", "'S", "’s", "’S")) and not (
            last.isalpha() and any(c.isdigit() for c in string[-7:-1])
        ):
            return 0
    start = len(string) - _LONGEST_SUFFIX
    if start > 0 and string.endswith(".."):
        start = len(string.rstrip(".")) - 1
    match = rules.suffix_search(string, max(start, 0))
    return match.end() - match.start() if match else 0


def _split_infixes(string: str, out: list[str], rules: _Rules) -> None:
    start = 0
    for match in rules.infix_finditer(string):
        infix_start, infix_end = match.start(), match.end()
        if infix_start == 0:
            continue
        if infix_start != start:
            out.append(string[start:infix_start])
        if infix_start != infix_end:
            out.append(string[infix_start:infix_end])
        start = infix_end
    if string[start:]:
        out.append(string[start:])


def _affix_patterns() -> dict[str, dict[tuple[str, ...], str]]:
    """Special cases that affix rules would split, by first piece (spaCy's special matcher)."""
    patterns: dict[str, dict[tuple[str, ...], str]] = {}
    for orth in SPECIAL_CASES:
        pieces: list[str] = []
        _split_chunk(orth, pieces, False)
        if len(pieces) > 1:
            patterns.setdefault(pieces[0], {})[tuple(pieces)] = orth
    return patterns


_SPECIAL_SPANS = _affix_patterns()
_LONGEST_SPECIAL_SPAN = max(len(p) for group in _SPECIAL_SPANS.values() for p in group)


def _merge_special_spans(pieces: list[str]) -> list[str]:
    """Re-split runs of pieces that spell a special case (e.g. ')' ':' -> '):')."""
    matches = []
    for start, piece in enumerate(pieces):
        group = _SPECIAL_SPANS.get(piece)
        if group is None:
            continue
        for end in range(start + 2, min(len(pieces), start + _LONGEST_SPECIAL_SPAN) + 1):
            orth = group.get(tuple(pieces[start:end]))
            if orth is not None:
                matches.append((start, end, orth))
    if not matches:
        return pieces
    # spaCy keeps the longest spans first, then the later ones, skipping overlaps.
    matches.sort(key=lambda m: (m[1] - m[0], m[0]))
    seen: set[int] = set()
    chosen = {}
    for start, end, orth in reversed(matches):
        if start not in seen and end - 1 not in seen:
            chosen[start] = (end, orth)
        seen.update(range(start, end))
    out: list[str] = []
    i = 0
    while i < len(pieces):
        if i in chosen:
            end, orth = chosen[i]
            out.extend(SPECIAL_CASES[orth])
            i = end
        else:
            out.append(pieces[i])
            i += 1
    return out
