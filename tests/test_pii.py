"""The pii stage: what each kind finds, what it must leave alone, and how it replaces."""

from __future__ import annotations

import base64
import json

import pytest

from ccforge.document import Document
from ccforge.filters.pii import PiiConfig, PiiScrubber


@pytest.fixture(scope="module")
def scrubber() -> PiiScrubber:
    return PiiScrubber(PiiConfig(replacement="tag"))


def kinds_found(scrubber: PiiScrubber, text: str) -> list[tuple[str, str]]:
    return [(span.kind, text[span.start : span.end]) for span in scrubber.find(text)]


def _jwt() -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': '42', 'name': 'Jo Bloggs'})}.c2lnbmF0dXJlX2J5dGVz"


# (kind, value, sentence around it): the value must be found, exactly, as that kind.
POSITIVES = [
    ("email", "zhang.wei@163.com", "联系邮箱：{}，欢迎来信"),
    ("email", "jane.doe+news@mail.uni-heidelberg.de", "Write to {}."),
    ("email", "Bob_O'Neil@Example.CO.UK", "(mail: {})"),
    ("ipv4", "93.184.216.34", "Server at {}."),
    ("ipv4", "151.101.1.69", "logged from IP {} on Monday"),
    ("ipv4", "59.133.70.41", "Android 4.0 update\n{} - - [12/Oct/2023]"),  # the version word is a line up
    ("ipv6", "2a00:1450:4001:81c::200e", "resolves to {} today"),
    ("ipv6", "2a03:2880:f12f:83:face:b00c:0:25de", "AAAA {}"),
    ("phone", "(415) 495-8700", "call us at {} today"),
    ("phone", "+1 415 495 8700", "Phone: {}"),
    ("phone", "020 7946 0958", "Tel. {} (office)"),
    ("phone", "+44 161 496 0123", "ring {}."),
    ("phone", "030 12345678", "Telefon: {}"),
    ("phone", "+49 171 2345678", "Handy {}"),
    ("phone", "01 42 68 53 00", "Téléphone : {}"),
    ("phone", "+33 6 12 34 56 78", "Appelez le {}"),
    ("phone", "06 12 64 45 96", "or ring {}."),  # also a valid ISBN-10, but not grouped like one
    ("phone", "0044 20 7946 0958", "from abroad {}"),
    ("phone", "+91 98765 43210", "WhatsApp {}"),
    ("phone", "010-6552 9988", "电话 {}"),
    ("phone", "+81 3-1234-5678", "Tokyo office {}"),
    ("phone", "+55 11 91234-5678", "São Paulo {}"),
    ("card", "4539 1488 0343 6467", "Visa {} exp 09/27"),
    ("card", "4539 1488 0343 6467", "{} 09/27 CVV 123"),
    ("card", "4539148803436467", "card no. {}"),
    ("card", "3714 496353 98431", "Amex {}"),
    ("card", "5105-1051-0510-5100", "MC: {}"),
    ("iban", "DE44 5001 0517 5407 3249 31", "IBAN {} BIC INGDDEFFXXX"),
    ("iban", "NL91ABNA0417164300", "rekening {}"),
    ("iban", "GB29 NWBK 6016 1331 9268 19", "Pay to {}."),
    ("iban", "FR76 3000 6000 0112 3456 7890 189", "RIB : {}"),
    ("ssn", "536-90-4399", "SSN {} on file"),
    ("ssn", "536904399", "Social Security Number: {}"),
    ("cn_id", "110101199003074477", "身份证号{}"),
    ("cn_mobile", "13812345678", "手机{}"),
    ("cn_mobile", "139 1234 5678", "联系电话：{}"),
    ("aws_key", "AKIAZ7XQ3DFG2H4JK5LM", "aws_access_key_id = {}"),
    ("bearer_token", "abc123def456ghi789jkl0", "Authorization: Bearer {}"),
    ("jwt", _jwt(), "token={}"),
    ("url_credentials", "admin:hunter2", "postgres://{}@db.internal:5432/app"),
    ("api_token", "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0dF3gH6", "GITHUB_TOKEN={}"),
]


@pytest.mark.parametrize(("kind", "value", "sentence"), POSITIVES, ids=[f"{k}:{v[:24]}" for k, v, _ in POSITIVES])
def test_finds_each_kind(scrubber, kind, value, sentence):
    assert kinds_found(scrubber, sentence.format(value)) == [(kind, value)]


NEGATIVES = [
    # e-mail look-alikes
    "retina image logo@2x.png",
    "npm i lodash@4.17.21",
    "follow @ccforge on social media",
    # IPv4 look-alikes and addresses that are not personal
    "version 1.2.3.4 is out",
    "Build 10.20.30.40 fixes it",
    "Gimlet v9.5 (version - 9.5.3.72)",
    "released 12.10.2023 in Berlin",
    "Firmware:\t10.20.30.40",
    "OID 1.3.6.1.4.1 and 2.16.840.1.101",
    "home router 192.168.1.1, VPN 10.0.0.5, localhost 127.0.0.1, 172.16.5.4",
    "docs range 203.0.113.5 and 198.51.100.7",
    "score 256.300.1.1",
    # IPv6 look-alikes and non-global addresses
    "at 12:30:45 sharp, MAC 00:1A:2B:3C:4D:5E",
    "link-local fe80::1, loopback ::1, documentation 2001:db8::5",
    "National Guard:: Oct. 30:: 2012",
    # phone look-alikes
    "on 2023-10-12 14:30:45 UTC",
    "due 12/10/2023 or 12.10.2023",
    "posted 2020-08-01 15:13",
    "unix time 1696000000",
    "ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2",
    "now $1,299.99, was €2.499,00",
    "from 1990-2005 and 1600-1998",
    "ZIP 94103-1234",
    "pi is 3.14159265",
    "draw: 7 11 27 28 8 30",
    "Paris 48.8566, 2.3522",
    "inmate 08537-014",
    "page 123-456",
    "GTIN 00527349073525",
    "Apps, Mobile & Streaming\nunix time 1024878267",
    "results 1 47 48 10 45 45",
    "Max, 429935553, 82948, 29329.53409",
    "machines in the 68000/16000 class",
    "Bestellnummer 4908904272978797",
    "IBAN NL04 MXHK 9179 7672 92",  # mod 97 fails; its digits are no phone either
    # card look-alikes
    "order 4539 1488 0343 6468",  # Luhn fails
    "EAN 4006381333931",
    "ref 1234 5678 9012 3456",
    "tracking 9400 1000 0000 0000 0000 00",
    # IBAN look-alikes
    "IBAN DE44 5001 0517 5407 3249 32",  # mod 97 fails
    "ISO 9001 2015 certified",
    # SSN look-alikes (invalid areas, groups, serials, voided numbers)
    "000-12-3456 666-12-3456 912-34-5678 123-00-4567 123-45-0000 078-05-1120",
    "part 536904399",  # nine digits with no label
    # CN ID and mobile look-alikes
    "编号110101199003074478",  # checksum fails
    "单号110101199013074477",  # month 13
    "号码12812345678 和 138123456789",
    # secrets look-alikes
    "the bearer of bad news; Bearer token auth",
    "https://user@example.com and http://example.com/a:b@c",
    "AKIAIOSFODNN7EXAMPLE",  # AWS's own documentation key
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_leaves_look_alikes_alone(scrubber, text):
    assert kinds_found(scrubber, text) == []


def test_private_key_block_whole_or_cut_off(scrubber):
    block = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n0Yz+Q==\n-----END RSA PRIVATE KEY-----"
    text, counts = scrubber.scrub(f"key:\n{block}\nthanks")
    assert text == "key:\n<PRIVATE_KEY>\nthanks" and counts == {"found:private_key": 1}
    text, _ = scrubber.scrub("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAEbm9uZQ==")
    assert text == "<PRIVATE_KEY>"


def test_overlaps_go_to_the_more_specific_kind(scrubber):
    assert kinds_found(scrubber, "ftp://bob:s3cret@files.example.org/x") == [("url_credentials", "bob:s3cret")]
    assert kinds_found(scrubber, "手机 +86 138 1234 5678") == [("cn_mobile", "+86 138 1234 5678")]
    assert kinds_found(scrubber, "mail 2025550143@vtext.com") == [("email", "2025550143@vtext.com")]


def test_tags_replace_every_kind(scrubber):
    text, counts = scrubber.scrub("Mail bob@gmail.com from 93.184.216.34 or call (415) 495-8700.")
    assert text == "Mail <EMAIL> from <IP_ADDRESS> or call <PHONE>."
    assert counts == {"found:email": 1, "found:ipv4": 1, "found:phone": 1}


def test_realistic_stand_ins_are_consistent_within_a_document():
    realistic = PiiScrubber(PiiConfig())
    text, _ = realistic.scrub("a@gmail.com wrote to b@gmail.com; A@GMAIL.COM replied. Ring +1 415 495 8700")
    assert text == (
        "email@example.com wrote to firstname.lastname@example.org; email@example.com replied. Ring +1 202-555-0143"
    )
    # A new document starts a new mapping.
    assert realistic.scrub("b@gmail.com")[0] == "email@example.com"


def test_scrubbing_scrubbed_text_finds_nothing():
    realistic = PiiScrubber(PiiConfig())
    original = " ".join(sentence.format(value) for _, value, sentence in POSITIVES)
    once, counts = realistic.scrub(original)
    assert sum(counts.values()) == len(POSITIVES)
    twice, again = realistic.scrub(once)
    assert (twice, again) == (once, {})


def test_stage_counts_are_taken_and_reset():
    stage = PiiScrubber(PiiConfig(replacement="tag"))
    doc = Document(id="1", url="http://x.example/", text="bob@gmail.com, eve@gmail.com, 93.184.216.34")
    result = stage.process(doc)
    assert result.text == "<EMAIL>, <EMAIL>, <IP_ADDRESS>"
    assert result.metadata == {}  # nothing about the originals is kept
    stage.process(Document(id="2", url="http://x.example/", text="no pii here"))
    assert stage.take_counts() == {"found:email": 2, "found:ipv4": 1}
    assert stage.take_counts() == {}


def test_config_chooses_kinds_ips_and_regions():
    only_email = PiiScrubber(PiiConfig(kinds=["email"], replacement="tag"))
    assert only_email.scrub("bob@gmail.com 93.184.216.34")[0] == "<EMAIL> 93.184.216.34"
    all_ips = PiiScrubber(PiiConfig(kinds=["ipv4"], only_public_ips=False, replacement="tag"))
    assert all_ips.scrub("at 192.168.1.20")[0] == "at <IP_ADDRESS>"
    # A Japanese national number counts only when JP is among the regions.
    text = "電話 03-1234-5678"
    assert PiiScrubber(PiiConfig(phone_regions=["US"])).find(text) == []
    assert [s.kind for s in PiiScrubber(PiiConfig(phone_regions=["US", "JP"])).find(text)] == ["phone"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (PiiConfig(kinds=["email", "passport"]), "unknown kind"),
        (PiiConfig(replacement="mask"), "pii.replacement"),
        (PiiConfig(phone_regions=["XX"]), "unknown region"),
    ],
)
def test_bad_config_is_a_one_line_error(config, message):
    with pytest.raises(ValueError, match=message) as error:
        PiiScrubber(config)
    assert "\n" not in str(error.value)
