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

from stdnum import isbn as stdnum_isbn
from stdnum.cn import ric
from stdnum.us import ssn as stdnum_ssn


class Span(NamedTuple):
    start: int
    end: int
    kind: str


# Five or more digits joined by at most two separator characters: every number-shaped
# kind (IPv4, card, IBAN, SSN, CN ID and mobile, phone) lies in or beside one.
DIGIT_CLUSTER = re.compile(r"\d(?:[ \-./()\u00a0\u2013]{0,2}\d){4,}")  # any script's digits


def window_matches(pattern: re.Pattern[str], text: str, pos: int, endpos: int) -> Iterator[re.Match[str]]:
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
        for match in window_matches(EMAIL, text, max(0, at - 100), min(len(text), at + 260)):
            if match.start() <= at < match.end() and match.group(2).lower() not in FILE_SUFFIXES:
                spans.append(Span(match.start(), match.end(), "email"))
                covered = match.end()
                break
    return spans


# --- IP addresses ----------------------------------------------------------------------
OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# Not after ":": "::ffff:192.0.2.1" is an IPv6 address, which the IPv6 rules judge.
IPV4 = re.compile(rf"(?<![0-9A-Za-z.:])(?:{OCTET}\.){{3}}{OCTET}(?:/(?:3[0-2]|[12]?[0-9]))?(?![0-9A-Za-z]|\.[0-9])")
# A dotted quad right after one of these words is a version or a section number.
VERSION_WORDS = re.compile(
    r"(?i)(?:\b(?:version|versions|ver\.?|release|build|rev\.?|revision|firmware|patch|update|"
    r"kernel|driver|bios|v|section|sec\.|chapter|article|art\.|clause|table|figure|fig\.|step|para|no\.)|\u00a7)"
    r"[ \t]*[:#(-]?[ \t]*\Z"  # on the same line
)
# Full, compressed or mixed ("::ffff:192.0.2.1"), with a zone ("%eth0") or a prefix length.
IPV6 = re.compile(
    r"(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f]{0,4})"
    r"(?:%[0-9A-Za-z_.-]+)?(?:/[0-9]{1,3})?(?![0-9A-Za-z]|:[0-9A-Fa-f:])"
)
# Every IPv6 address has two colons with at most four hex digits between them; the
# literal ":" at the start lets the regex engine skip quickly to candidates.
IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")
# "rv:1.9.0.20", "Chrome/10.0.648.133": a version inside a browser's user agent.
PRODUCT_TOKEN = re.compile(r"(?:[A-Za-z]/|\brv:)\Z")


def find_ipv4(text: str, pos: int = 0, endpos: int | None = None, public_only: bool = True) -> list[Span]:
    spans = []
    for match in window_matches(IPV4, text, pos, len(text) if endpos is None else endpos):
        value = match.group(0).split("/")[0]
        if all(len(part) == 1 for part in value.split(".")[:3]):
            continue  # 1.2.3.4, 7.5.3.142: versions (or a well-known resolver), not a person
        if VERSION_WORDS.search(text, max(0, match.start() - 20), match.start()):
            continue
        if PRODUCT_TOKEN.search(text, max(0, match.start() - 3), match.start()):
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
        for match in window_matches(IPV6, text, max(0, hint.start() - 40), min(len(text), hint.end() + 70)):
            if not match.start() <= hint.start() < match.end():
                continue
            covered, end = match.end(), match.end()
            if match.group(0).endswith(":") and not match.group(0).endswith("::"):
                end -= 1  # "Reply from 2a00:...:25de: bytes=32": the colon ends the phrase
            written = re.split(r"[%/]", text[match.start() : end])[0]
            try:
                address = ipaddress.IPv6Address(written)
            except ValueError:
                continue  # times, ratios, MAC addresses, Bible verses
            if public_only and not _personal_ipv6(address):
                continue
            with_prefix = "/" in text[match.start() : end]
            groups = sum(2 if "." in group else 1 for group in written.split(":") if group)  # a quad is two
            if groups < (1 if with_prefix else 3):
                continue  # "30::" in "Guard:: Oct. 30:: 2012" parses, but is not written as an address
            spans.append(Span(match.start(), end, "ipv6"))
    return spans


def _personal_ipv6(address: ipaddress.IPv6Address) -> bool:
    """Not of a special-purpose range (private, link- and site-local, loopback, multicast,
    documentation). Unallocated space counts: a written address there is still an address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_global
    special = address.is_private or address.is_link_local or address.is_site_local or address.is_multicast
    return not (special or address.is_loopback or address.is_unspecified)


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
        for m in window_matches(SSN_DASHED, text, pos, endpos)
        if stdnum_ssn.is_valid(m.group(0))
    ]
    for match in window_matches(SSN_LABELLED, text, pos, endpos):
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
        for m in window_matches(CN_ID, text, pos, len(text) if endpos is None else endpos)
        if ric.is_valid(m.group(0))  # checksum, birth date and region code
    ]


def find_cn_mobiles(text: str, pos: int = 0, endpos: int | None = None) -> list[Span]:
    spans = []
    for match in window_matches(CN_MOBILE, text, pos, len(text) if endpos is None else endpos):
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
