"""Payment numbers: cards (ISO/IEC 7812 and Luhn) and IBANs (ISO 13616, mod 97).

Cards: 12 to 19 digits with the prefix and length of a card network and a valid Luhn
check digit, undivided or printed in the networks' groupings (fours, Amex 4-6-5, Diners
4-6-4); a number that fails Luhn is never a card. A nearer word naming another kind of
identifier (EAN, order, tracking, ...) keeps a Luhn-valid run of digits what it is.

IBANs: python-stdnum checks country, length, national format and the mod-97 check
digits, in any case and spacing. Countries that use IBANs without being in the SWIFT
registry (Iran's Sheba numbers, the West and Central African banks, ...) get the mod-97
check and their published lengths.
"""

from __future__ import annotations

import re

from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.iso7064 import mod_97_10

from ccforge.filters.pii_context import nearest_label
from ccforge.filters.pii_patterns import Span, window_matches

CARD = re.compile(r"(?<![0-9A-Za-z.,+=/-])[0-9](?:[ -]?[0-9]){11,18}(?![0-9A-Za-z]|[.,-][0-9])")
# Issuer prefixes (IIN ranges) and lengths. Luhn alone passes one random number in ten;
# the issuer rules cut that down.
CARD_BRANDS: tuple[tuple[re.Pattern[str], range], ...] = (
    (re.compile(r"4"), range(13, 20, 3)),  # Visa: 13, 16, 19
    (re.compile(r"5[1-5]|2(?:22[1-9]|2[3-9]|[3-6]|7[01]|720)"), range(16, 17)),  # Mastercard
    (re.compile(r"220[0-4]"), range(16, 20)),  # Mir
    (re.compile(r"3[47]"), range(15, 16)),  # American Express
    (re.compile(r"30[0-5]|3095|3[689]"), range(14, 20)),  # Diners Club
    (re.compile(r"35"), range(16, 20)),  # JCB
    (re.compile(r"1800|2131"), range(15, 16)),  # JCB's older 15-digit cards
    (re.compile(r"5[06-9]|6"), range(12, 20)),  # Maestro; Discover, UnionPay, RuPay, Troy in 6
    (re.compile(r"8[12]"), range(16, 20)),  # UnionPay 81, RuPay 82
    (re.compile(r"9792|9804"), range(16, 17)),  # Troy, Prostir
)


def _card_grouping(groups: tuple[int, ...]) -> bool:
    """Fours with a shorter last group (4-4-4-4-3, Visa's 4-4-4-1), or Amex/Diners 4-6-x."""
    fours = len(groups) >= 3 and all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4
    return fours or groups in ((4, 6, 5), (4, 6, 4))


def is_card_number(candidate: str) -> bool:
    digits = candidate.replace(" ", "").replace("-", "")
    separators = {c for c in candidate if c in " -"}
    if len(separators) > 1:
        return False
    if separators and not _card_grouping(tuple(len(g) for g in re.split(r"[ -]", candidate))):
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
    for match in window_matches(CARD, text, pos, len(text) if endpos is None else endpos):
        found = _card_within(text, match.start(), match.end())
        if not found or follows_iban_head(text, found[0]):
            continue
        if nearest_label(text, found[0], ("card", "other")) == "other":
            continue  # "EAN 4006381333931", "Order 6011 ...": Luhn-valid, but labelled as something else
        spans.append(Span(found[0], found[1], "card"))
    return spans


# --- IBAN -----------------------------------------------------------------------------------
IBAN = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]{2}[0-9]{2}(?:[ \u00a0-]?[0-9A-Za-z]){11,30}(?![0-9A-Za-z])")
# "DE47 ", "NL04 MXHK ", "IT81 N811 ": digits after this are the rest of an (invalid) IBAN.
IBAN_HEAD = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]{2}[0-9]{2}(?: ?[0-9A-Za-z]{4}){0,2} ?\Z")
# Lengths of IBANs outside the SWIFT registry (the "experimental" list that banks publish).
IBAN_OUTSIDE_REGISTRY = {
    "AO": 25, "BF": 28, "BJ": 28, "CF": 27, "CG": 27, "CI": 28, "CM": 27, "CV": 25, "DZ": 26, "GA": 27,
    "GQ": 27, "GW": 25, "HN": 28, "IR": 26, "KM": 27, "MA": 28, "MG": 27, "ML": 28, "MZ": 25, "NE": 28,
    "SN": 28, "TD": 27, "TG": 28,
}


def follows_iban_head(text: str, start: int) -> bool:
    head = IBAN_HEAD.search(text, max(0, start - 16), start)
    return head is not None and _one_case(head.group(0))


def _one_case(candidate: str) -> bool:
    """"de44 ..." or "DE44 ...", not a word in title case ("Ab12 ...")."""
    letters = "".join(c for c in candidate if c.isalpha())
    return letters.isupper() or letters.islower()


def is_iban(candidate: str) -> bool:
    compact = re.sub(r"[ \u00a0-]", "", candidate).upper()
    if stdnum_iban.is_valid(compact):
        return True
    length = IBAN_OUTSIDE_REGISTRY.get(compact[:2])
    return length == len(compact) and compact[2:4].isdigit() and mod_97_10.is_valid(compact[4:] + compact[:4])


def find_ibans(text: str, pos: int = 0, endpos: int | None = None) -> list[Span]:
    spans = []
    for match in window_matches(IBAN, text, pos, len(text) if endpos is None else endpos):
        candidate = match.group(0)
        # The pattern may run on into a following word ("... 00 BIC"): take the longest
        # prefix that ends on a character and passes the check.
        for end in range(len(candidate), 14, -1):
            if candidate[end - 1] in " \u00a0-":
                continue
            if is_iban(candidate[:end]) and _one_case(candidate[:end]):
                spans.append(Span(match.start(), match.start() + end, "iban"))
                break
    return spans
