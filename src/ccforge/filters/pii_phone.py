"""Phone numbers: the phonenumbers library, run only where digits could be a phone.

`PhoneNumberMatcher` is pure Python and slow, so a cheap regex first finds runs of
7 to 17 digits joined by phone-like separators; only those windows go to the
matcher, once per default region until one finds a valid number. International
numbers (`+44 ...`, `0044 ...`) match whatever the region; national formats need
their region in `regions`. The matcher's own checks are followed by ours against
what web text is full of: dates, times, ISBNs, identifiers in lists.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from ccforge.filters.pii_patterns import Span, follows_iban_head, looks_like_isbn

_GAP = r"(?:[ \u00a0]?[-./][ \u00a0]?|[ \u00a0]|\)[ \u00a0]?|[ \u00a0]?\(|\)-)"
CANDIDATE = re.compile(
    rf"(?<![0-9A-Za-z/=#%&?._+$\u20ac\u00a3\u00a5-])(?:\+[ \u00a0]?|\b00)?\(?[0-9](?:{_GAP}?[0-9]){{6,16}}"
)
DATE_LIKE = re.compile(
    r"(?:(?:19|20)[0-9]{2}([-./])[0-9]{1,2}\1[0-9]{1,2}|[0-9]{1,2}([-./])[0-9]{1,2}\2(?:19|20)?[0-9]{2})(?![0-9])"
)
NOT_A_PHONE_BEFORE = re.compile(
    r"(?i)(?:isbn|issn|pmid|doi|arxiv|eprint|patent|sku|upc|ean|gtin|iban|bic|swift)[^0-9\n]{0,12}\Z"
)
PHONE_WORDS = re.compile(
    r"(?i)(?:\b(?:tel|telephone|phone|fon|fax|call|mobile?|mob|cell|cellphone|contact|kontakt|whatsapp|sms|"
    r"hotline|ph|t\u00e9l|t\u00e9l\u00e9phone|telefon|telefono|tel\u00e9fono|telefone|handy|ruf|m\u00f3vil|cel|"
    r"celular)\b|\u7535\u8bdd|\u624b\u673a|\u8054\u7cfb|\u96fb\u8a71|\u643a\u5e2f)"
)
YEAR_SPAN = re.compile(r"(?:1[5-9]|20)[0-9]{2} ?[-/] ?(?:1[5-9]|20)[0-9]{2}")
DECIMAL = re.compile(r"[0-9]+[.,][0-9]+")  # one dot or comma: a number, not a phone
SLASHED_PAIR = re.compile(r"[1-9][0-9]*/[0-9]+")  # "68000/16000"; German "030/1234567" has its 0
ZIP_PLUS_4 = re.compile(r"[0-9]{5}-[0-9]{4}")
SSN_SHAPE = re.compile(r"[0-9]{3}-[0-9]{2}-[0-9]{4}")
DOTTED_QUAD = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")  # an IP address, public or not
CARD_SHAPE = re.compile(r"[0-9]{4}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{4}")
NOT_PHONE_SHAPES = (YEAR_SPAN, DECIMAL, SLASHED_PAIR, ZIP_PLUS_4, SSN_SHAPE, DOTTED_QUAD, CARD_SHAPE)
HOUR_AFTER_DATE = re.compile(r"(?:[ \u00a0][0-9]{1,2})?")


class PhoneFinder:
    def __init__(self, regions: list[str]):
        unknown = [r for r in regions if r.upper() not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(
                f"pii.phone_regions: unknown region code(s) {', '.join(unknown)}; use ISO codes like US, GB, DE"
            )
        self.regions = [r.upper() for r in regions] or ["US"]

    def find(self, text: str, pos: int = 0, endpos: int | None = None) -> list[Span]:
        """Phones in text[pos:endpos]; give the whole run of digits: a run cut short
        by `endpos` can look like a shorter valid number."""
        spans: list[Span] = []
        for candidate in CANDIDATE.finditer(text, pos, len(text) if endpos is None else endpos):
            start, end = candidate.span()
            if NOT_A_PHONE_BEFORE.search(text, max(0, start - 20), start) or follows_iban_head(text, start):
                continue
            # The same rules before the (slow) matcher, on the whole run of digits ...
            if not looks_like_phone(text, start, end, whole_run=True):
                continue
            window_start = max(0, start - 2)
            window = text[window_start : end + 2]
            regions = self.regions[:1] if text[start] == "+" else self.regions
            for region in regions:
                # ... and after it, on the number it found inside the run.
                found = [
                    _without_open_paren(text, window_start + m.start, window_start + m.end)
                    for m in PhoneNumberMatcher(window, region, leniency=Leniency.VALID)
                    if looks_like_phone(text, window_start + m.start, window_start + m.end)
                ]
                if found:
                    spans.extend(found)
                    break
        return spans


def _without_open_paren(text: str, start: int, end: int) -> Span:
    """"(1-866-426-3778" loses its "(" so the replacement keeps the pair "(...)" whole."""
    if text[start] == "(" and ")" not in text[start:end]:
        start += 1
    return Span(start, end, "phone")


def _phone_word_before(text: str, start: int) -> bool:
    """A phone word shortly before `start`, on the same line."""
    line_start = text.rfind("\n", 0, start) + 1
    return PHONE_WORDS.search(text, max(line_start, start - 30), start) is not None


def looks_like_phone(text: str, start: int, end: int, whole_run: bool = False) -> bool:
    """Our checks against what web text is full of; `whole_run` keeps only the rules that
    cannot reject a phone number sitting inside a longer run of digits."""
    raw = text[start:end].lstrip("(")
    if any(p.fullmatch(raw) for p in NOT_PHONE_SHAPES):
        return False  # "1600-1998", "3.14159265", "94103-1234", "168-00-6024", "10.12.130.7", "4925 9400 ..."
    if (start and text[start - 1].isdigit()) or (end < len(text) and text[end].isdigit()):
        return False  # the matcher took a piece of a longer number ("601[1 6830 9977 6597]")
    if end < len(text) - 1 and text[end] == ":" and text[end + 1].isdigit():
        return False  # "2020-08-01 15:13": a date then a time
    date = DATE_LIKE.match(raw)
    if date and HOUR_AFTER_DATE.fullmatch(raw, date.end()):
        return False  # a date, perhaps with the hour of a time after it
    groups = [g for g in re.split(r"[^0-9]+", raw) if g]
    if raw.startswith("+"):
        return whole_run or not looks_like_isbn(raw)
    if raw.startswith("00") and len(groups) > 1:
        return True
    if raw.startswith("00"):  # "00527349073525" is as often a GTIN as a call to Mexico
        return _phone_word_before(text, start)
    if not 9 <= sum(len(g) for g in groups) <= 13:
        return False  # national numbers this short are mostly codes ("08537-014"), this long ids
    if len(groups) == 1:
        # An undivided run of digits is more often an id than a phone: ask for a word.
        return _phone_word_before(text, start)
    if whole_run:
        return True
    if any(len(g) == 1 for g in groups[1:]) or (len(groups[0]) == 1 and len(groups[1]) < 3):
        return False  # "7 11 27 28 8 30", "1 47 48 10 45 45": numbers in a list, not a phone
    return not looks_like_isbn(raw)
