"""Finding PII by pattern plus checksum: everything but phone numbers.

Regexes only propose candidates; a validator (checksum, registry rule, address class)
decides. Speed: one regex pass over a whole text costs about as much as all of the
rest, so no finder scans the whole text. Each one looks only near an anchor that a
fast search found: an "@" for e-mails, "://" for URL credentials, a literal prefix
for tokens, and a digit cluster (`DIGIT_CLUSTER`, one pass) for every number-shaped
kind. Finders take `(text, pos, endpos)`; lookbehinds still see before `pos`.

Boundaries use ASCII classes, never `\\w`: `\\w` matches CJK characters and would hide
a number written right after a Chinese word.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import NamedTuple

from stdnum import iban as stdnum_iban
from stdnum import isbn as stdnum_isbn
from stdnum import luhn
from stdnum.cn import ric
from stdnum.us import ssn as stdnum_ssn


class Span(NamedTuple):
    start: int
    end: int
    kind: str


# Five or more digits joined by at most two separator characters: every number-shaped
# kind (IPv4, card, IBAN, SSN, CN ID and mobile, phone) lies in or beside one.
DIGIT_CLUSTER = re.compile(r"\d(?:[ \-./()\u00a0\u2013]{0,2}\d){4,}")  # any script's digits


def _matches(pattern: re.Pattern[str], text: str, pos: int, endpos: int) -> Iterator[re.Match[str]]:
    """Matches in text[pos:endpos], except those cut short by `endpos`."""
    for match in pattern.finditer(text, pos, endpos):
        if match.end() < endpos or endpos >= len(text):
            yield match


# --- e-mail -------------------------------------------------------------------------
# Local part as in FineWeb (datatrove's PIIFormatter) but starting with a letter, digit
# or "_" (not "//user@host" from a URL); the domain needs an alphabetic
# top-level label, which rules out `lodash@4.17.21`; FILE_SUFFIXES rule out `logo@2x.png`.
EMAIL = re.compile(
    r"(?<![0-9A-Za-z!#$%&'*+/=?^_`{|}~.-])"
    r"[A-Za-z0-9_][A-Za-z0-9!#$%&'*+/=?^_`{|}~-]*(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))(?![A-Za-z0-9-])"
)
FILE_SUFFIXES = frozenset(
    "png jpg jpeg gif svg webp bmp ico tif tiff pdf js mjs ts css scss html htm php asp aspx "
    "jsp json xml yml yaml txt md py rb go rs java c h cpp zip gz tar mp3 mp4 mov avi wav".split()
)


def _positions(text: str, needle: str) -> Iterator[int]:
    index = text.find(needle)
    while index >= 0:
        yield index
        index = text.find(needle, index + 1)


def find_emails(text: str) -> list[Span]:
    spans: list[Span] = []
    covered = -1
    for at in _positions(text, "@"):
        if at < covered:
            continue
        for match in _matches(EMAIL, text, max(0, at - 100), min(len(text), at + 260)):
            if match.start() <= at < match.end() and match.group(2).lower() not in FILE_SUFFIXES:
                spans.append(Span(match.start(), match.end(), "email"))
                covered = match.end()
                break
    return spans


# --- IP addresses ----------------------------------------------------------------------
OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = re.compile(rf"(?<![0-9A-Za-z.])(?:{OCTET}\.){{3}}{OCTET}(?![0-9A-Za-z]|\.[0-9])")
# A dotted quad right after one of these words is a version or a section number.
VERSION_WORDS = re.compile(
    r"(?i)(?:\b(?:version|versions|ver\.?|release|build|rev\.?|revision|firmware|patch|update|"
    r"kernel|driver|bios|v|section|sec\.|chapter|article|art\.|clause|table|figure|fig\.|step|para|no\.)|\u00a7)"
    r"[ \t]*[:#(-]?[ \t]*\Z"  # on the same line
)
IPV6 = re.compile(r"(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Za-z:])")
# Every IPv6 address has two colons with at most four hex digits between them; the
# literal ":" at the start lets the regex engine skip quickly to candidates.
IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")
GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")  # all that is assigned on the internet


def find_ipv4(text: str, pos: int = 0, endpos: int | None = None, public_only: bool = True) -> list[Span]:
    spans = []
    for match in _matches(IPV4, text, pos, len(text) if endpos is None else endpos):
        value = match.group(0)
        if all(len(part) == 1 for part in value.split(".")):
            continue  # 1.2.3.4-style: a version or a well-known resolver, not a person
        if VERSION_WORDS.search(text, max(0, match.start() - 20), match.start()):
            continue
        if public_only and not ipaddress.IPv4Address(value).is_global:
            continue
        spans.append(Span(match.start(), match.end(), "ipv4"))
    return spans


def find_ipv6(text: str, public_only: bool = True) -> list[Span]:
    spans: list[Span] = []
    covered = -1
    for hint in IPV6_HINT.finditer(text):
        if hint.start() < covered:
            continue
        for match in _matches(IPV6, text, max(0, hint.start() - 40), min(len(text), hint.end() + 40)):
            if not match.start() <= hint.start() < match.end():
                continue
            covered = match.end()
            try:
                address = ipaddress.IPv6Address(match.group(0))
            except ValueError:
                continue  # times, ratios, MAC addresses, Bible verses
            if public_only and not (address.is_global and address in GLOBAL_UNICAST):
                continue
            if sum(1 for group in match.group(0).split(":") if group) < 3:
                continue  # "30::" in "Guard:: Oct. 30:: 2012" parses, but is not written as an address
            spans.append(Span(match.start(), match.end(), "ipv6"))
    return spans


# --- payment cards ----------------------------------------------------------------------
CARD = re.compile(r"(?<![0-9A-Za-z.,+-])[0-9](?:[ -]?[0-9]){11,18}(?![0-9A-Za-z]|[.,-][0-9])")
# Issuer prefixes and lengths (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay,
# Maestro). Luhn alone passes one random number in ten; the issuer rules cut that down.
CARD_BRANDS: tuple[tuple[re.Pattern[str], frozenset[int]], ...] = (
    (re.compile(r"4"), frozenset({16, 19})),
    (re.compile(r"5[1-5]|2(?:2[2-9][1-9]|2[3-9]|[3-6]|7[01]|720)"), frozenset({16})),
    (re.compile(r"3[47]"), frozenset({15})),
    (re.compile(r"6(?:011|4[4-9]|5)"), frozenset({16, 17, 18, 19})),
    (re.compile(r"35(?:2[89]|[3-8])"), frozenset({16, 17, 18, 19})),
    (re.compile(r"3(?:0[0-5]|[689])"), frozenset({14, 15, 16})),
    (re.compile(r"62"), frozenset({16, 17, 18, 19})),
    (re.compile(r"5[06-8]|6[0-9]"), frozenset({16})),
)
# How printed card numbers are grouped: 4-4-4-4(-n), Amex 4-6-5, Diners 4-6-4.
CARD_GROUPINGS = frozenset(
    {(4, 4, 4, 4), (4, 4, 4, 4, 1), (4, 4, 4, 4, 2), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4)}
)


def is_card_number(candidate: str) -> bool:
    digits = candidate.replace(" ", "").replace("-", "")
    separators = {c for c in candidate if c in " -"}
    if len(separators) > 1:
        return False
    if separators:
        groups = tuple(len(g) for g in re.split(r"[ -]", candidate))
        if groups not in CARD_GROUPINGS:
            return False
    if not any(p.match(digits) and len(digits) in lengths for p, lengths in CARD_BRANDS):
        return False
    return luhn.is_valid(digits)


def _card_within(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The longest run of whole digit groups in text[start:end] that is a card number:
    the pattern also takes neighbours such as the "09" of "4111 ... 1111 09/27"."""
    groups = [(m.start(), m.end()) for m in re.finditer(r"[0-9]+", text[start:end])]
    options = sorted(
        ((i, j) for i in range(len(groups)) for j in range(i, len(groups))),
        key=lambda ij: groups[ij[0]][0] - groups[ij[1]][1],
    )
    for i, j in options:
        first, last = start + groups[i][0], start + groups[j][1]
        if 12 <= sum(e - s for s, e in groups[i : j + 1]) <= 19 and is_card_number(text[first:last]):
            return first, last
    return None


def find_cards(text: str, pos: int = 0, endpos: int | None = None) -> list[Span]:
    spans = []
    for match in _matches(CARD, text, pos, len(text) if endpos is None else endpos):
        found = _card_within(text, match.start(), match.end())
        if found and not follows_iban_head(text, found[0]):
            spans.append(Span(found[0], found[1], "card"))
    return spans


# --- IBAN -----------------------------------------------------------------------------------
IBAN = re.compile(r"(?<![0-9A-Za-z])[A-Z]{2}[0-9]{2}(?: ?[0-9A-Z]){11,30}(?![0-9A-Za-z])")


# "DE47 ", "NL04 MXHK ", "IT81 N811 ": digits after this are the rest of an (invalid) IBAN.
IBAN_HEAD = re.compile(r"(?<![0-9A-Za-z])[A-Z]{2}[0-9]{2}(?: ?[0-9A-Z]{4}){0,2} ?\Z")


def follows_iban_head(text: str, start: int) -> bool:
    return IBAN_HEAD.search(text, max(0, start - 16), start) is not None


def find_ibans(text: str, pos: int = 0, endpos: int | None = None) -> list[Span]:
    spans = []
    for match in _matches(IBAN, text, pos, len(text) if endpos is None else endpos):
        candidate = match.group(0)
        # The pattern may run on into a following upper-case word ("... 00 BIC"): take
        # the longest prefix that ends on a character and passes the mod-97 check.
        for end in range(len(candidate), 14, -1):
            if candidate[end - 1] == " ":
                continue
            if stdnum_iban.is_valid(candidate[:end]):
                spans.append(Span(match.start(), match.start() + end, "iban"))
                break
    return spans


# --- US social security numbers ----------------------------------------------------------------
SSN_DASHED = re.compile(r"(?<![0-9A-Za-z-])[0-9]{3}-[0-9]{2}-[0-9]{4}(?![0-9A-Za-z]|-[0-9])")
# Undashed or spaced numbers count only right after a label that says what they are.
SSN_LABELLED = re.compile(
    r"(?i)\b(?:ssn|social security(?: number| no\.?| #)?)\s*(?:#|no\.?|number)?\s*[:#=]?\s*"
    r"([0-9]{3}[ -]?[0-9]{2}[ -]?[0-9]{4})(?![0-9A-Za-z])"
)


def find_ssns(text: str, pos: int = 0, endpos: int | None = None) -> list[Span]:
    endpos = len(text) if endpos is None else endpos
    spans = [
        Span(m.start(), m.end(), "ssn")
        for m in _matches(SSN_DASHED, text, pos, endpos)
        if stdnum_ssn.is_valid(m.group(0))
    ]
    for match in _matches(SSN_LABELLED, text, pos, endpos):
        if stdnum_ssn.is_valid(match.group(1).replace(" ", "")):
            spans.append(Span(match.start(1), match.end(1), "ssn"))
    return spans


# --- China: resident identity card number and mainland mobiles ------------------------------------
CN_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"[0-9]{3}[0-9Xx](?![0-9A-Za-z])"
)
CN_MOBILE = re.compile(r"(?<![0-9A-Za-z+])1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9A-Za-z])")
CN_COUNTRY_CODE = re.compile(r"(?:\+|00)86[ -]?\Z")


def find_cn_ids(text: str, pos: int = 0, endpos: int | None = None) -> list[Span]:
    return [
        Span(m.start(), m.end(), "cn_id")
        for m in _matches(CN_ID, text, pos, len(text) if endpos is None else endpos)
        if ric.is_valid(m.group(0))  # checksum, birth date and region code
    ]


def find_cn_mobiles(text: str, pos: int = 0, endpos: int | None = None) -> list[Span]:
    spans = []
    for match in _matches(CN_MOBILE, text, pos, len(text) if endpos is None else endpos):
        value = match.group(0)
        if " " in value and "-" in value:
            continue  # "138 0013-8000" mixes styles: more likely two numbers
        code = CN_COUNTRY_CODE.search(text, max(0, match.start() - 6), match.start())
        spans.append(Span(code.start() if code else match.start(), match.end(), "cn_mobile"))
    return spans


# --- secrets -------------------------------------------------------------------------------------------
# Token patterns start with a literal so the regex engine skips ahead fast; the left
# boundary is checked by `_starts_word` instead of a lookbehind, which would disable that.
AWS_KEY = re.compile(r"A(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA)[A-Z2-7]{16}(?![0-9A-Za-z])")
AWS_SECRET = re.compile(
    r"(?i)(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)[\"']?\s*[:=]\s*[\"']?"
    r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
)
PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"|(?:\s*[A-Za-z0-9+/=:,-]+)*)",  # a block cut off before its END line
    re.DOTALL,
)
BEARER = re.compile(r"[Bb]earer\s+([A-Za-z0-9._~+/-]{20,}=*)")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
# scheme://user:password@host: only the user:password part is replaced.
URL_CREDENTIALS = re.compile(r"://([^\s/?#@:\"'<>]{1,256}:[^\s/?#@\"'<>]{1,256})@[A-Za-z0-9\[]")
# Tokens whose prefix says what they are: GitHub, Google, Slack, Stripe; each runs only
# where its literal needle occurs (a plain substring test is faster than any regex).
API_TOKENS = (
    ("_", re.compile(r"g(?:h[pousr]_[A-Za-z0-9]{36}|ithub_pat_[A-Za-z0-9_]{60,90})(?![0-9A-Za-z_])")),
    ("AIza", re.compile(r"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")),
    ("xox", re.compile(r"xox[abpr]-[A-Za-z0-9-]{10,72}(?![0-9A-Za-z_-])")),
    ("sk_live_", re.compile(r"sk_live_[0-9A-Za-z]{24,99}(?![0-9A-Za-z])")),
)


def _starts_word(text: str, index: int) -> bool:
    return index == 0 or not (text[index - 1].isascii() and (text[index - 1].isalnum() or text[index - 1] in "_-"))


def _looks_random(token: str) -> bool:
    """A token, not a long hyphenated word: it has a digit or an upper-case letter."""
    return any(c.isdigit() or c.isupper() for c in token)


def find_secrets(text: str) -> list[Span]:
    spans = [Span(m.start(), m.end(), "aws_key") for m in AWS_KEY.finditer(text) if _starts_word(text, m.start())]
    if "ecret" in text or "ECRET" in text:
        spans += [Span(m.start(1), m.end(1), "aws_key") for m in AWS_SECRET.finditer(text)]
    if "PRIVATE KEY" in text:
        spans += [Span(m.start(), m.end(), "private_key") for m in PRIVATE_KEY.finditer(text)]
    for at in _positions(text, "earer"):
        match = BEARER.match(text, at - 1) if at else None
        if match and _starts_word(text, at - 1) and _looks_random(match.group(1)):
            spans.append(Span(match.start(1), match.end(1), "bearer_token"))
    for at in _positions(text, "eyJ"):
        match = JWT.match(text, at)
        if match and _starts_word(text, at):
            spans.append(Span(match.start(), match.end(), "jwt"))
    for at in _positions(text, "://"):
        match = URL_CREDENTIALS.match(text, at)
        if match and at and text[at - 1].isalnum():
            spans.append(Span(match.start(1), match.end(1), "url_credentials"))
    for needle, pattern in API_TOKENS:
        if needle in text:
            spans += [
                Span(m.start(), m.end(), "api_token") for m in pattern.finditer(text) if _starts_word(text, m.start())
            ]
    return spans


def looks_like_isbn(candidate: str) -> bool:
    """True for an ISBN printed in its groups (0-306-40615-2, 978-3-16-148410-0) with a
    valid check digit; phones must not match, and any ten digits pass the check 1 in 11."""
    groups = re.split(r"[- ]", candidate)
    digits = "".join(groups)
    if not groups[-1] or len(groups[-1]) != 1:
        return False
    isbn10 = len(digits) == 10 and len(groups) == 4
    isbn13 = len(digits) == 13 and len(groups) == 5 and digits[:3] in ("978", "979")
    if not (isbn10 or isbn13):
        return False
    return stdnum_isbn.is_valid(digits)
