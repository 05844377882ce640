"""Text normalisation for dedup: copies that differ only in case, punctuation, numbers
or accents hash alike (FineWeb's `simplify_text`: lower case, no punctuation, digits
normalised, diacritics stripped, whitespace collapsed)."""

from __future__ import annotations

import unicodedata

# `regex` (already required by tiktoken) knows Unicode categories, which `re` does not:
# combining marks must survive punctuation removal (Hindi, Arabic words stay whole).
import regex

# Bumped whenever the output of `normalize_text` changes: band indexes of earlier runs
# record it, and are refused when it differs.
NORMALIZE_VERSION = 1

_PUNCTUATION = regex.compile(r"[\p{P}\p{S}_]+")
_DIGITS = regex.compile(r"\d+")
# Accents of the Latin/Greek/Cyrillic diacritic blocks (the combining marks of other
# scripts, such as Devanagari vowel signs or kana voicing, carry meaning and stay), and
# invisible format characters (soft hyphens, zero-width spaces) inside words.
_DIACRITICS_AND_FORMAT = regex.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f\p{Cf}]+")
# Han (with extensions and compatibility), kana, Hangul, and Thai/Lao/Khmer/Myanmar/Tibetan
# letters: scripts that do not separate words by spaces (Hangul does, but short words
# make character shingles the better unit there too).
_CHAR_SCRIPTS = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}]")


def normalize_text(text: str) -> str:
    """Lower-cased words separated by single spaces: no punctuation, each number is "0",
    no accents; full-width forms and ligatures folded (NFKD)."""
    if not text.isascii():
        # NFKD splits accents off their letters (and folds full-width forms, ligatures);
        # NFC afterwards rebuilds what must stay composed, such as Hangul syllables.
        text = _DIACRITICS_AND_FORMAT.sub("", unicodedata.normalize("NFKD", text))
        text = unicodedata.normalize("NFC", text)
    text = _PUNCTUATION.sub(" ", text.lower())
    text = _DIGITS.sub("0", text)
    return " ".join(text.split())


def char_script_share(normalized: str) -> float:
    """The share of non-space characters written in a script without word spaces
    (judged on the first 10,000 characters: enough, and bounded on huge pages)."""
    if normalized.isascii():
        return 0.0
    sample = normalized[:10_000]
    letters = len(sample) - sample.count(" ")
    return len(_CHAR_SCRIPTS.findall(sample)) / letters if letters else 0.0


def has_char_script(normalized: str) -> bool:
    """Whether any character is in a script without word spaces (the whole text is searched)."""
    return not normalized.isascii() and _CHAR_SCRIPTS.search(normalized) is not None
