"""Punctuation sets of datatrove's FineWeb filters (datatrove, Apache-2.0, utils/text.py).

`PUNCTUATION_CHARS` decides which words are 'symbols' for Gopher's quality rules;
`TERMINAL_PUNCTUATION` which lines end a sentence for FineWeb's line rules. The
terminal set is spaCy's sentence-ending marks plus a few more scripts' full stops.
"""

from __future__ import annotations

from ccforge.filters.words import SENTENCE_END_TOKENS

TERMINAL_PUNCTUATION = SENTENCE_END_TOKENS | frozenset(
    "\u061d\u061e\u0837\u0839\u083d\u083e\u17d4\u17d5\u17d6\u17d9\u17da\u1b7d\u1b7e\u2e53\u2e54\U00010f55\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86\U00010f87\U00010f88\U00010f89\U00011944\U00011946\U00011ef7\U00011ef8\U00011f43\U00011f44\U00016e98"
)

# Visible marks, the C0/C1 control characters (tab and newline excepted), and the above.
PUNCTUATION_CHARS = (
    frozenset(
        '!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„\';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_."}►»'
        + "".join(map(chr, (x for a, b in ((0, 9), (11, 13), (13, 32), (127, 160)) for x in range(a, b))))
    )
    | TERMINAL_PUNCTUATION
)

_DROP_PUNCTUATION = dict.fromkeys(map(ord, PUNCTUATION_CHARS))


def is_punctuation_word(word: str) -> bool:
    """A word made of punctuation marks only (a 'symbol' to Gopher's quality rules)."""
    return not word.translate(_DROP_PUNCTUATION)
