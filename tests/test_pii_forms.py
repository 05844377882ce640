"""The forms people write PII in (issue 16): each class pinned with examples of our own.

Every card number below was made for these tests (a network prefix, filler digits, the
Luhn check digit); phone numbers are in the shape of real plans, not real subscribers.
"""

from __future__ import annotations

import pytest

from ccforge.filters.pii import PiiConfig, PiiScrubber


@pytest.fixture(scope="module")
def scrubber() -> PiiScrubber:
    return PiiScrubber(PiiConfig(replacement="tag"))


def found(scrubber: PiiScrubber, text: str) -> list[tuple[str, str]]:
    return [(span.kind, text[span.start : span.end]) for span in scrubber.find(text)]


CARDS = [
    ("675930741854", "Maestro, 12 digits"),
    ("6759 3074 1854", "Maestro, 12 digits in fours"),
    ("501830741852963075", "Maestro, 18 digits"),
    ("4307418529637", "Visa, 13 digits"),
    ("4307 4185 2963 7", "Visa, 13 digits, printed 4-4-4-1"),
    ("4307418529630741857", "Visa, 19 digits"),
    ("213130741852964", "JCB, 15 digits, 2131"),
    ("1800-307418-52965", "JCB, 15 digits, 1800, 4-6-5"),
    ("3056 307418 5290", "Diners Club, 14 digits, 4-6-4"),
    ("3530 3074 1852 9634", "JCB, 16 digits"),
    ("2201 3074 1852 9634", "Mir"),
    ("8171-3074-1852-9637", "UnionPay 81"),
]


@pytest.mark.parametrize(("value", "why"), CARDS, ids=[why for _, why in CARDS])
def test_cards_of_every_network_length(scrubber, value, why):
    assert found(scrubber, f"Zahlung mit Karte {value}, gültig bis 08/29") == [("card", value)]


@pytest.mark.parametrize(
    "text",
    [
        "Karte 6759 3074 1855",  # Luhn fails
        "card 4307418529638",  # Luhn fails
        "EAN 4006381000093",  # a valid EAN-13 that also passes Luhn
        "Order no. 3530 3074 1852 9634 shipped",  # Luhn-valid, but named an order
        "card 7307 4185 2963 0748",  # petroleum (7): no card network
    ],
)
def test_card_look_alikes(scrubber, text):
    assert [kind for kind, _ in found(scrubber, text)] == []


PHONES = [
    # national layouts without a country code
    ("Tel. 612 345 987", "612 345 987"),  # 3-3-3 after a phone word
    ("ring 7421 3390 after six", "7421 3390"),  # 4-4
    ("Kontakt: (21) 384-905", "(21) 384-905"),  # bracketed area code
    ("Anna Berg, 0701234567", "0701234567"),  # trunk 0 and nine digits, undivided
    ("Büro: 089 / 21 09 87 11", "089 / 21 09 87 11"),
    ("Τηλ. 210 3302292", "210 3302292"),
    ("Тел.: 8 (812) 555-12-34", "8 (812) 555-12-34"),
    ("Phone: ০১৭১১-২৩৪৫৬৭", "০১৭১১-২৩৪৫৬৭"),  # Bengali digits
    # extensions, bracketed trunk prefixes, letters for digits
    ("call (212) 555-0199 x310 today", "(212) 555-0199 x310"),
    ("Office: +1 312 555 0147 ext. 42.", "+1 312 555 0147 ext. 42"),
    ("Zentrale +49 (0)30 9876 5432", "+49 (0)30 9876 5432"),
    ("hotline 877-393-CARE, 24/7", "877-393-CARE"),
    # possible for the plan though no carrier has it
    ("+1-202-155-0188 (voicemail)", "+1-202-155-0188"),
    ("WhatsApp +44 7700 900 987", "+44 7700 900 987"),
    # dialled out of North America
    ("Tel: 011 44 20 7946 0321", "011 44 20 7946 0321"),
    # two numbers in one run
    ("Tel. 030 1234567 / 030 7654321", "030 1234567"),
]


@pytest.mark.parametrize(("text", "value"), PHONES, ids=[v for _, v in PHONES])
def test_phones_in_the_forms_people_write(scrubber, text, value):
    assert ("phone", value) in found(scrubber, text)


PHONE_LOOK_ALIKES = [
    "Öffnungszeiten Mo-Fr 09.00-17.30",
    "<h>12 15 2005</h>",  # a date with spaces
    "Tampa, Nov. 19-22 2003",
    "Appl. Phys. 76, 1211-1224 (2010)",
    "see pp. 2524-2526",
    "Error 400/404/500 again",
    "Electricians 17.42 16.54",
    "now 1 299 000 ₫",
    "€ 2.499.000 all in",
    "ISBN 0-8044-2957-X",
    "firmware version 400.21.013",
    "splits of 28-29-29-31",
    "Amenhotep II (1450-1412 BCE)",
    "〒100-0001 東京都",
    "CEP 01310-100, São Paulo",
    "growth 12 345 678 %",
    "school years 1987/88-1991/92",
    "Order 0612345678 shipped",
]


@pytest.mark.parametrize("text", PHONE_LOOK_ALIKES)
def test_phone_look_alikes_survive(scrubber, text):
    assert found(scrubber, text) == []


def test_phone_regions_limit_national_numbers_only():
    only_us = PiiScrubber(PiiConfig(kinds=["phone"], phone_regions=["US"]))
    assert [s.kind for s in only_us.find("Tel. 212-555-0199")] == ["phone"]
    assert only_us.find("Telefon 030 1234567") == []  # no US number starts with 0
    assert [s.kind for s in only_us.find("Telefon +49 30 1234567")] == ["phone"]


IPS = [
    ("ipv6", "5f21:9a0:3c4b:11:8e2:7d10:ab3:e6", "from 5f21:9a0:3c4b:11:8e2:7d10:ab3:e6 today"),  # unallocated space
    ("ipv6", "2a00:1450:4001:81c:0:0:0:200e", "AAAA 2a00:1450:4001:81c:0:0:0:200e"),  # eight groups, no leading 0s
    ("ipv6", "::ffff:93.184.216.34", "mapped ::ffff:93.184.216.34 here"),
    ("ipv6", "2a00:1450:4001::/48", "route 2a00:1450:4001::/48 announced"),
    ("ipv6", "2606:4700::6810:85e5", "Reply from 2606:4700::6810:85e5: bytes=32"),
    ("ipv6", "2606:4700::6810:85e5", "https://[2606:4700::6810:85e5]:443/"),
    ("ipv4", "93.184.216.0/24", "block 93.184.216.0/24 now"),
]


@pytest.mark.parametrize(("kind", "value", "text"), IPS, ids=[v for _, v, _ in IPS])
def test_ip_addresses_in_every_written_form(scrubber, kind, value, text):
    assert found(scrubber, text) == [(kind, value)]


def test_ip_look_alikes_and_special_ranges(scrubber):
    assert found(scrubber, "Mozilla/5.0 (X11; rv:1.9.0.20) Chrome/10.0.648.133") == []
    assert found(scrubber, "see release 7.5.3.142") == []
    assert found(scrubber, "multicast ff02::1:2 and unique-local fd12:3456:789a::1") == []
    everything = PiiScrubber(PiiConfig(kinds=["ipv6"], only_public_ips=False, replacement="tag"))
    assert [s.kind for s in everything.find("ping fe80::1ff:fe23:4567:890a%eth0")] == ["ipv6"]


IBANS = [
    "de44 5001 0517 5407 3249 31",  # lower case
    "de44500105175407324931",
    "DE44-5001-0517-5407-3249-31",
    "GB29NWBK60161331926819",
    "IR33 0620 0000 0010 0324 2000 01",  # Iran: IBANs outside the SWIFT registry
]


@pytest.mark.parametrize("value", IBANS)
def test_ibans_in_any_case_and_spacing(scrubber, value):
    assert found(scrubber, f"Überweisung auf {value} bitte") == [("iban", value)]


def test_iban_look_alikes(scrubber):
    assert found(scrubber, "IR34 0620 0000 0010 0324 2000 01") == []  # check digits wrong
    assert found(scrubber, "Model Ab12 3456 7890 1234 56") == []
