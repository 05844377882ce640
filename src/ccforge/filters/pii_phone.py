"""Phone numbers: runs of digits that are written like one, or that a word calls one.

Whether digits are a phone number is decided by how they are written: a `+` or `00`
country code, an area code in brackets, a bracketed trunk prefix (`+41 (0)44 ...`), groups
joined by the separators phone numbers use, an extension (`x3319`, `ext. 12`); or by a word
before them on the same line (tel, phone, fax, Telefon, 电话, 手机, ...). An undivided run
of digits needs such a word: more often it is an id.

phonenumbers (libphonenumber's metadata) then says whether such a number is *possible*,
not whether it is assigned: `+1-415-155-0123` is a phone number to any reader though no
carrier holds it. International numbers need a country code that exists and a length that
country uses; national ones a number (after the trunk prefix) that fits the leading digits
and lengths of one of `phone_regions` (`all`: every region the library knows).

Web text is full of numbers written much like phone numbers; whole classes of them are
refused by their shape (`NOT_PHONE_SHAPES`, dates, times and opening hours, year ranges,
amounts grouped in thousands or next to a currency, ISBNs) or by a nearer word that names
another identifier (ISBN, order, invoice, ref, tracking, ...).
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from phonenumbers import PhoneMetadata
from stdnum import isbn as stdnum_isbn

from ccforge.filters.pii_context import nearest_label
from ccforge.filters.pii_patterns import Span, looks_like_isbn
from ccforge.filters.pii_payment import follows_iban_head

# Between digit groups: "-", "/", en dash (each with optional spaces), ".", a space, or
# brackets. Not ". ": that ends a sentence or a reference ("1991. 56-93").
_SEP = r"(?:[ \u00a0]?[-/\u2013][ \u00a0]?|\.|[ \u00a0]|[ \u00a0]?\([ \u00a0]?|[ \u00a0]?\)[ \u00a0]?|\)[-./]|-\()"
EXTENSION = re.compile(
    r"[ \u00a0]*,?[ \u00a0]*(?:x|X|ext\.?|Ext\.?|EXT\.?|extn\.?|extension|Durchwahl|DW|poste|доб\.?)[ \u00a0]*\d{1,6}(?!\d)"
)
# Not right after a digit and a separator either: a window may start inside a run.
CANDIDATE = re.compile(
    rf"(?<![\dA-Za-z+/=#%&?._$\u20ac\u00a3\u00a5@-])(?<!\d[ \u00a0./\-])(?:\+[ \u00a0]?\(?|\(\+?[ \u00a0]?|(?=00))?\d(?:{_SEP}?\d)+"
)

CURRENCY_BEFORE = re.compile(
    r"(?:[$\u20ac\u00a3\u00a5\u20b9\u20bd\u20a9\u20ab\u20ba\u20b4\u20a6\u20b1\ufdfc]|\b(?:USD|EUR|GBP|CHF|JPY|CNY|"
    r"RUB|INR|Rs\.?|R\$|kr\.?|zł|Ft|Kč|Lei|руб\.?|грн\.?|VND|TL|Fr\.))[ \u00a0]*\Z"
)
CURRENCY_AFTER = re.compile(
    r"[ \u00a0]*(?:[$\u20ac\u00a3\u00a5\u20b9\u20bd\u20a9\u20ab\u20ba\u20b4\u20a6\u20b1\ufdfc]|(?:USD|EUR|GBP|CHF|"
    r"JPY|CNY|RUB|INR|kr|zł|Ft|Kč|Lei|руб|р\.|грн|ден|VND|dong|TL|DA|AZN)(?![A-Za-z]))"
)
DATE_LIKE = re.compile(
    r"(?:(?:19|20)\d{2}([-./] ?| )(\d{1,2})\1(\d{1,2})|(\d{1,2})([-./] ?| )(\d{1,2})\5(?:19|20)?\d{2})(?!\d)"
)
HOUR_AFTER_DATE = re.compile(r"(?:[ \u00a0]\d{1,2})?")
DAYS_AND_YEAR = re.compile(r"\d{1,2}[-\u2013]\d{1,2},? (?:19|20)\d{2}")  # "Nov. 19-22 2003"
_YEAR = r"(?:1[5-9]|20)\d{2}(?:/\d{2})?"
YEAR_SPAN = re.compile(rf"{_YEAR}(?:(?: ?[-/\u2013] ?| ){_YEAR})+")  # "1990-2005", "1958 1960", "1987/88-1991/92"
TIME_RANGE = re.compile(r"[0-2]?\d[.:][0-5]\d ?[-\u2013] ?[0-2]?\d[.:][0-5]\d")
DECIMAL = re.compile(r"\d+[.,]\d+")  # one dot or comma: a number, not a phone
SLASHED_PAIR = re.compile(r"[1-9]\d*/\d+")  # "68000/16000"; German "030/1234567" has its 0
ZIP_PLUS_4 = re.compile(r"\d{5}-\d{4}")
SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}")
DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")  # an IP address, public or not
CARD_SHAPE = re.compile(r"\d{4}([ -])\d{4}\1\d{4}\1\d{4}")
NOT_PHONE_SHAPES = (YEAR_SPAN, DAYS_AND_YEAR, TIME_RANGE, DECIMAL, SLASHED_PAIR, ZIP_PLUS_4, SSN_SHAPE, DOTTED_QUAD, CARD_SHAPE)
# "1 299 000", "12.345.678": an amount or a count grouped in thousands.
UNIT_AFTER = re.compile(r"[ \u00a0]?(?:%|‰|percent|per cent|km|kg|mm|cm|kA|kW|MW|ms|Hz)(?![A-Za-z])")
# North American numbers with letters for digits: "855-543-DRUG", "(800) 813-HOPE".
VANITY_TAIL = re.compile(r"-[A-Z]{4,7}(?![A-Za-z0-9])")
THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:([ \u00a0.])\d{3})(?:\1\d{3})*")

ALL_REGIONS = "ALL"
POSSIBLE = (phonenumbers.ValidationResult.IS_POSSIBLE, phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY)


def ascii_digits(text: str) -> str:
    """The decimal digits of text as ASCII: "০১৭" (Bengali) -> "017"."""
    return "".join(c if c in "0123456789" else str(unicodedata.decimal(c)) for c in text if c.isdecimal())


class PhoneFinder:
    def __init__(self, regions: list[str]):
        wanted = [r.upper() for r in regions] or [ALL_REGIONS]
        unknown = [r for r in wanted if r != ALL_REGIONS and r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(
                f"pii.phone_regions: unknown region code(s) {', '.join(unknown)}; use ISO codes like US, GB, DE, or all"
            )
        if ALL_REGIONS in wanted:
            wanted = sorted(phonenumbers.SUPPORTED_REGIONS)
        self._national = [_national_rule(r) for r in wanted]
        self._possible: dict[str, bool] = {}
        self._checked: dict[int, Span | None] = {}
        self._checked_text: str | None = None

    def find(self, text: str, pos: int = 0, endpos: int | None = None) -> list[Span]:
        """Phones among the runs of digits that start in text[pos:endpos]."""
        if self._checked_text is not text:  # candidates seen from two windows are judged once
            self._checked, self._checked_text = {}, text
        endpos = len(text) if endpos is None else endpos
        spans: list[Span] = []
        for candidate in CANDIDATE.finditer(text, pos):
            start = candidate.start()
            if start >= endpos:
                break
            if start not in self._checked:
                self._checked[start] = self._judge(text, start, candidate.end())
            if self._checked[start] is not None:
                spans.append(self._checked[start])
        return spans

    def _judge(self, text: str, start: int, end: int) -> Span | None:
        raw = text[start:end]
        if raw.count("(") > raw.count(")"):
            if raw.startswith("(") and ")" not in raw:
                start, raw = start + 1, raw[1:]  # "(1-866-426-3778)": the number inside the brackets
            elif "(" in raw[1:]:  # "1211-1224 (2010": a bracket the number does not close
                end = start + len(raw[: raw.rindex("(")].rstrip(" \u00a0-"))
        if start >= end:
            return None
        vanity = VANITY_TAIL.match(text, end)
        if vanity and re.fullmatch(r"(?:1[- ])?\(?\d{3}\)?[- .]?\d{3}", text[start:end]):
            return Span(start, vanity.end(), "phone")
        extension = EXTENSION.match(text, end)
        found = self._phone_in(text, start, end, extension is not None)
        if found is None:
            return None
        found_start, found_end = found
        if text[found_start] == "(" and ")" not in text[found_start:found_end]:
            found_start += 1
        if extension is not None and found_end == end:
            found_end = extension.end()
        return Span(found_start, found_end, "phone")

    def _phone_in(self, text: str, start: int, end: int, has_extension: bool) -> tuple[int, int] | None:
        """The run if it is a phone number; else, for a run of two numbers joined by
        " / " or " - " ("030 1234567 / 030 7654321"), the first of them that is."""
        if self._is_phone(text, start, end, has_extension):
            return start, end
        for joint in re.finditer(r"[ \u00a0][/\-\u2013][ \u00a0]", text[start:end]):
            first_end = start + joint.start()
            if self._is_phone(text, start, first_end, False):
                return start, first_end
        return None

    def _is_phone(self, text: str, start: int, end: int, has_extension: bool) -> bool:
        raw = text[start:end]
        digits = ascii_digits(raw)
        if not 6 <= len(digits) <= 17 or (not has_extension and _glued(text, start, end)):
            return False
        word = nearest_label(text, start, ("phone", "card", "other"))
        if word in ("card", "other") or follows_iban_head(text, start):
            return False  # named as a card, an order, an ISBN, ...
        stripped = raw.lstrip("(")
        if stripped.startswith("+") or (stripped.startswith("00") and not stripped.startswith("000")):
            return self._is_international(stripped, digits, word == "phone")
        if re.match(r"011[ \u00a0-]\d+[ \u00a0-]", stripped) and self._is_international("+" + stripped[4:], digits[3:], True):
            return True  # dialled out of North America ("011 39 0831 301781"); else Delhi's 011
        if _refused_shape(text, start, end, raw, digits):
            return False
        return self._is_national(raw, digits, word == "phone" or has_extension)

    def _is_international(self, raw: str, digits: str, word: bool) -> bool:
        if raw.startswith("00"):
            if not word and re.fullmatch(r"\d+", raw):
                return False  # "00527349073525" is as often a GTIN as a call to Mexico
            raw, digits = "+" + raw[2:], digits[2:]
        if looks_like_isbn(raw.lstrip("+ ")):
            return False
        try:
            number = phonenumbers.parse("+" + digits if "(0)" not in raw else raw, None)
        except phonenumbers.NumberParseException:
            return False  # no such country code
        return phonenumbers.is_possible_number_with_reason(number) in POSSIBLE

    def _is_national(self, raw: str, digits: str, word: bool) -> bool:
        groups = re.findall(r"\d+", raw)
        bracketed_area = re.match(r"\(\d{1,5}\)", raw) is not None
        separators = re.findall(r"\D+", raw.strip("()"))
        if any("." in sep for sep in separators) and not all("." in sep for sep in separators):
            return False  # "17.42 16.54", "3.69 557 11": decimals in a row, not one number
        if sum(sep.count("/") for sep in separators) > 1:
            return False  # "400/404/500"
        if len(groups) == 1 and not word and not _trunk_and_number(digits):
            return False  # an undivided run of digits is more often an id
        if len(groups) > 1 and not word and not _phone_layout(groups, separators, bracketed_area):
            return False
        if not word and len(digits) < 8:
            return False  # "555-1234", "978-0926": too short to tell from a code without a word
        if len(digits) > 13 or (not word and THOUSANDS.fullmatch(raw)):
            return False
        possible = self._possible.get(digits)
        if possible is None:
            possible = self._possible[digits] = _possible_national(self._national, digits)
        return possible


def _glued(text: str, start: int, end: int) -> bool:
    """Digits or letters run on: a piece of a longer token ("INV-2048-62685", "1Z219E...")."""
    after = text[end : end + 2]
    if after[:1].isascii() and after[:1].isalnum():
        return True  # (other scripts may follow a number directly: "13812345678微信同号")
    return len(after) == 2 and after[0] in "-./" and after[1].isdigit()


def _refused_shape(text: str, start: int, end: int, raw: str, digits: str) -> bool:
    plain = raw.lstrip("(")
    if any(p.fullmatch(plain) for p in NOT_PHONE_SHAPES):
        return True
    if end < len(text) - 1 and text[end] == ":" and text[end + 1].isdigit():
        return True  # "2020-08-01 15:13": a date then a time
    date = DATE_LIKE.match(plain)
    if date and _real_date(date) and HOUR_AFTER_DATE.fullmatch(plain, date.end()):
        return True  # a date, perhaps with the hour of a time after it
    if CURRENCY_BEFORE.search(text, max(0, start - 6), start) or CURRENCY_AFTER.match(text, end):
        return True
    if UNIT_AFTER.match(text, end):
        return True
    if re.match(r"-?[Xx](?![A-Za-z])", text[end : end + 2]) and looks_like_isbn(plain + "-X"):
        return True  # an ISBN-10 whose check digit is X
    return looks_like_isbn(plain)


def _real_date(date: re.Match[str]) -> bool:
    """Day and month in range, either way round ("61-27-40" is no date)."""
    first, second = (date.group(2), date.group(3)) if date.group(2) else (date.group(4), date.group(6))
    a, b = int(first), int(second)
    return 1 <= a <= 31 and 1 <= b <= 31 and (a <= 12 or b <= 12)


def _phone_layout(groups: list[str], separators: list[str], bracketed_area: bool) -> bool:
    """Digit groups as phone numbers are printed: at most five, none of one digit but a
    leading trunk or area digit ("8 (066) 907-43-91", "06-3/740 6812"), the last of two or more."""
    trunk = groups[0].startswith("0") or bracketed_area
    if len(groups) > 5 or len(groups[-1]) < 2:
        return False
    for i, group in enumerate(groups):
        if len(group) == 1 and not (i == 0 or (i == 1 and trunk)):
            return False
    if all(len(g) <= 2 for g in groups) and not trunk:
        return False  # "28-29-29-32", "7 11 27 28": numbers in a row; "06 12 64 45 96" has its 0
    if len(groups) == 2:
        # An area code and a longer number ("030 1234567", "(0150) 008063", "210 3302292",
        # "10-119714"), or 4-4 ("8361 2047"); not a range ("1450-1412", "1211-24"), "08537-014".
        area, number = len(groups[0]), len(groups[1])
        if trunk:
            return number >= 4
        return (number > area and number >= 5) or (separators[-1] == " " and area == number == 4)
    return True


def _trunk_and_number(digits: str) -> bool:
    """An undivided national number: the trunk 0, then 9 or 10 digits ("0739150008")."""
    return digits[0] == "0" and digits[1] != "0" and 10 <= len(digits) <= 11 and not stdnum_isbn.is_valid(digits)


def _national_rule(region: str) -> tuple[re.Pattern[str] | None, re.Pattern[str]]:
    metadata = PhoneMetadata.metadata_for_region(region)
    prefix = metadata.national_prefix_for_parsing or metadata.national_prefix
    return (re.compile(prefix) if prefix else None, re.compile(metadata.general_desc.national_number_pattern))


def _possible_national(rules: list, digits: str) -> bool:
    """The number, with or without its trunk prefix, fits the leading digits and lengths
    of one of the regions (the general pattern of libphonenumber's metadata)."""
    for prefix, general in rules:
        if general.fullmatch(digits):
            return True
        if prefix is not None:
            match = prefix.match(digits)
            if match and match.end() and general.fullmatch(digits, match.end()):
                return True
    return False
