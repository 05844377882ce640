"""Hashed n-grams of normalised text, and a compact index of a benchmark's n-grams.

Text is first put in one form: traditional Chinese characters become simplified ones
(`ccforge.chinese_script`), then dedup's normaliser (`ccforge.dedup.normalize`) lowers
case, removes punctuation, maps numbers to "0", strips accents and collapses white space,
so a copy that differs in case, punctuation or line breaks has the same n-grams.
Spaced text is cut into word n-grams; text in scripts written without spaces (Chinese,
Japanese, Korean, Thai...) into character n-grams of its letters (spaces removed).

Every n-gram of a text is hashed at once with numpy: a polynomial hash of its code points
modulo 2**64, read off prefix sums (the base is odd, so its powers are invertible), then
mixed with the n-gram's length and kind. An index holds the hashes of every benchmark
as one sorted uint64 array (8 bytes per n-gram, plus 2 naming its benchmark): a lookup
is one binary search per n-gram of the document.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ccforge.chinese_script import to_simplified
from ccforge.dedup.normalize import char_script_share, has_char_script, normalize_text

WORDS, CHARACTERS = 0, 1
_BASE = 0x9E3779B97F4A7C15  # odd
_BASE_INVERSE = pow(_BASE, -1, 1 << 64)
_KIND_SALT = (np.uint64(0x2545F4914F6CDD1D), np.uint64(0x9FB21C651E98DF25))
_SPACE = ord(" ")
# A text whose letters are mostly in scripts without word spaces is cut into characters.
CHARACTER_TEXT_SHARE = 0.5


def prepare(text: str) -> str:
    """The form n-grams are taken from: simplified Chinese, then dedup's normalisation."""
    return normalize_text(to_simplified(text))


@dataclass
class Ngrams:
    """The n-grams of one text: hashes and where each sits in `source`."""

    hashes: np.ndarray  # uint64
    starts: np.ndarray
    ends: np.ndarray
    source: str  # normalised text (words) or its letters without spaces (characters)

    def text(self, index: int) -> str:
        return self.source[int(self.starts[index]):int(self.ends[index])]

    def __len__(self) -> int:
        return len(self.hashes)


def word_ngrams(normalized: str, n: int) -> Ngrams:
    """Every run of `n` consecutive words of a normalised text (words are single-space separated)."""
    codes = _code_points(normalized)
    if not len(codes):
        return _empty(normalized)
    spaces = np.flatnonzero(codes == _SPACE)
    word_starts = np.concatenate(([0], spaces + 1))
    word_ends = np.concatenate((spaces, [len(codes)]))
    count = len(word_starts) - n + 1
    if count <= 0:
        return _empty(normalized)
    starts, ends = word_starts[:count], word_ends[n - 1:]
    return Ngrams(_span_hashes(codes, starts, ends, WORDS), starts, ends, normalized)


def character_ngrams(normalized: str, n: int) -> Ngrams:
    """Every run of `n` consecutive characters of a normalised text, spaces left out
    (normalisation turned punctuation into spaces, which must not decide a match)."""
    letters = normalized.replace(" ", "")
    count = len(letters) - n + 1
    if count <= 0:
        return _empty(letters)
    starts = np.arange(count, dtype=np.int64)
    ends = starts + n
    return Ngrams(_span_hashes(_code_points(letters), starts, ends, CHARACTERS), starts, ends, letters)


def is_character_text(normalized: str) -> bool:
    return char_script_share(normalized) >= CHARACTER_TEXT_SHARE


class NgramIndex:
    """The n-grams of named benchmarks; which benchmarks a text shares n-grams with.

    `add(name, text)` one benchmark item at a time (an item is cut by words, or by
    characters when its letters are mostly CJK), then `freeze()` once.
    """

    def __init__(self, names: list[str], n_grams: int = 13, char_n_grams: int = 50):
        if not names or len(names) != len(set(names)):
            raise ValueError("benchmark names must be given and differ from each other")
        if n_grams < 1 or char_n_grams < 1:
            raise ValueError("n-gram sizes must be at least 1")
        self.names = list(names)
        self.n_grams = n_grams
        self.char_n_grams = char_n_grams
        self.items = dict.fromkeys(names, 0)
        self.short_items = dict.fromkeys(names, 0)  # fewer words (characters) than one n-gram
        self._pending: dict[str, list[np.ndarray]] = {name: [] for name in names}
        self._hashes = np.zeros(0, np.uint64)
        self._owners = np.zeros(0, np.uint16)
        self._bitmap = np.zeros(0, np.uint8)
        self._bitmap_shift = np.uint64(63)
        self.has_character_ngrams = False

    def add(self, name: str, text: str) -> None:
        normalized = prepare(text)
        if not normalized:
            return
        self.items[name] += 1
        if is_character_text(normalized):
            ngrams = character_ngrams(normalized, self.char_n_grams)
            self.has_character_ngrams |= len(ngrams) > 0
        else:
            ngrams = word_ngrams(normalized, self.n_grams)
        if not len(ngrams):
            self.short_items[name] += 1
            return
        self._pending[name].append(ngrams.hashes)

    def freeze(self) -> None:
        """Sort the n-grams of all benchmarks into one array (an n-gram of two benchmarks
        is held twice, once for each)."""
        hashes, owners = [self._hashes], [self._owners]
        for owner, name in enumerate(self.names):
            if self._pending[name]:
                unique = np.unique(np.concatenate(self._pending[name]))
                hashes.append(unique)
                owners.append(np.full(len(unique), owner, np.uint16))
            self._pending[name] = []
        all_hashes, all_owners = np.concatenate(hashes), np.concatenate(owners)
        order = np.argsort(all_hashes, kind="stable")
        self._hashes, self._owners = all_hashes[order], all_owners[order]
        # A bitmap of about 16 bits per n-gram, set at the top bits of each hash: most
        # n-grams of a document miss it (one memory access each), and only the ~6% that
        # hit go on to the binary search of the sorted array (about 20 accesses each).
        bits = max(1 << 16, 1 << int(16 * max(len(self._hashes), 1) - 1).bit_length())
        self._bitmap_shift = np.uint64(64 - (bits.bit_length() - 1))
        present = np.zeros(bits, bool)
        present[self._hashes >> self._bitmap_shift] = True
        self._bitmap = np.packbits(present, bitorder="little")

    def ngram_counts(self) -> dict[str, int]:
        counts = np.bincount(self._owners, minlength=len(self.names))
        return {name: int(counts[i]) for i, name in enumerate(self.names)}

    @property
    def nbytes(self) -> int:
        return self._hashes.nbytes + self._owners.nbytes + self._bitmap.nbytes

    def __len__(self) -> int:
        return len(self._hashes)

    def matches(self, text: str) -> dict[str, tuple[int, str]]:
        """Benchmark name -> (how many of the text's n-grams it holds, one such n-gram),
        in the order the benchmarks were named; empty for a clean text."""
        if not len(self._hashes):
            return {}
        normalized = prepare(text)
        found: dict[int, tuple[int, str]] = {}
        kinds = [word_ngrams(normalized, self.n_grams)]
        if self.has_character_ngrams and has_char_script(normalized):
            kinds.append(character_ngrams(normalized, self.char_n_grams))
        for ngrams in kinds:
            self._match(ngrams, found)
        return {self.names[owner]: found[owner] for owner in sorted(found)}

    def _match(self, ngrams: Ngrams, found: dict[int, tuple[int, str]]) -> None:
        if not len(ngrams):
            return
        bits = ngrams.hashes >> self._bitmap_shift
        maybe = np.flatnonzero((self._bitmap[bits >> np.uint64(3)] >> (bits & np.uint64(7)).astype(np.uint8)) & 1)
        if not len(maybe):
            return
        wanted = ngrams.hashes[maybe]
        positions = np.searchsorted(self._hashes, wanted)
        positions[positions == len(self._hashes)] = 0
        held = self._hashes[positions] == wanted
        if not held.any():
            return
        hit, starts = maybe[held], positions[held]
        # An n-gram may belong to several benchmarks: take its whole run of equal hashes.
        lengths = np.searchsorted(self._hashes, wanted[held], side="right") - starts
        run_offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        owners = self._owners[np.repeat(starts, lengths) + run_offsets]
        ngram_of = np.repeat(hit, lengths)
        counts = np.bincount(owners)
        matched, first = np.unique(owners, return_index=True)
        for owner, at in zip(matched.tolist(), first.tolist()):
            count, example = found.get(owner, (0, ""))
            found[owner] = (count + int(counts[owner]), example or ngrams.text(int(ngram_of[at])))


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(np.uint64)


def _empty(source: str) -> Ngrams:
    nothing = np.zeros(0, np.int64)
    return Ngrams(np.zeros(0, np.uint64), nothing, nothing, source)


_powers = np.ones(1, np.uint64)
_inverse_powers = np.ones(1, np.uint64)


def _power_tables(length: int) -> tuple[np.ndarray, np.ndarray]:
    """BASE**k and BASE**-k modulo 2**64 for k < length (grown by doubling, kept)."""
    global _powers, _inverse_powers
    if len(_powers) < length:
        size = max(length, 2 * len(_powers), 4096)
        # uint64 products wrap, which is exactly arithmetic modulo 2**64.
        _powers = _geometric(_BASE, size)
        _inverse_powers = _geometric(_BASE_INVERSE, size)
    return _powers, _inverse_powers


def _geometric(ratio: int, size: int) -> np.ndarray:
    values = np.full(size, ratio, np.uint64)
    values[0] = 1
    return np.cumprod(values, dtype=np.uint64)


def _span_hashes(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray, kind: int) -> np.ndarray:
    """The hash of codes[start:end] for each span: sum(codes[start + i] * BASE**i), mixed."""
    powers, inverse_powers = _power_tables(len(codes))
    prefix = np.zeros(len(codes) + 1, np.uint64)
    np.cumsum(codes * powers[: len(codes)], out=prefix[1:])
    hashes = (prefix[ends] - prefix[starts]) * inverse_powers[starts]
    hashes ^= (ends - starts).astype(np.uint64) * _KIND_SALT[kind]
    # MurmurHash3's 64-bit finaliser: every input bit reaches every output bit.
    hashes ^= hashes >> np.uint64(33)
    hashes *= np.uint64(0xFF51AFD7ED558CCD)
    hashes ^= hashes >> np.uint64(33)
    hashes *= np.uint64(0xC4CEB9FE1A85EC53)
    hashes ^= hashes >> np.uint64(33)
    return hashes
