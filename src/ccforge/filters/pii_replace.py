"""What found PII becomes: typed tags or FineWeb-style realistic stand-ins.

Stand-ins are documentation values (example.com, 555-01xx, 2001:db8::/32, the card
networks' test numbers, the standards' example IBANs and IDs, AWS's example key),
plus FineWeb's unused IPv4 addresses. Within one document the same original always
gets the same stand-in and distinct originals get distinct ones while the pool lasts,
so "write to A, cc B" stays two people.
"""

from __future__ import annotations

TAGS = {
    "email": "<EMAIL>",
    "ipv4": "<IP_ADDRESS>",
    "ipv6": "<IP_ADDRESS>",
    "phone": "<PHONE>",
    "card": "<CARD_NUMBER>",
    "iban": "<IBAN>",
    "ssn": "<SSN>",
    "cn_id": "<ID_NUMBER>",
    "cn_mobile": "<PHONE>",
    "aws_key": "<AWS_KEY>",
    "private_key": "<PRIVATE_KEY>",
    "bearer_token": "<TOKEN>",
    "jwt": "<TOKEN>",
    "url_credentials": "<CREDENTIALS>",
    "api_token": "<TOKEN>",
}
KINDS = tuple(TAGS)

STAND_INS: dict[str, tuple[str, ...]] = {
    "email": (
        "email@example.com",
        "firstname.lastname@example.org",
        "name@example.net",
        "user@example.com",
        "someone@example.org",
    ),
    # datatrove's PIIFormatter list: addresses that answered no ping when it was made.
    "ipv4": ("22.214.171.124", "126.96.36.199", "188.8.131.52", "184.108.40.206", "220.127.116.11", "18.104.22.168"),
    "ipv6": ("2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4"),
    "phone": ("+1 202-555-0143", "+1 202-555-0178", "+1 202-555-0191", "+1 202-555-0115", "+1 202-555-0162"),
    "card": ("4111 1111 1111 1111", "5555 5555 5555 4444", "3782 822463 10005", "6011 1111 1111 1117"),
    "iban": ("GB82 WEST 1234 5698 7654 32", "DE89 3704 0044 0532 0130 00", "FR14 2004 1010 0505 0001 3M02 606"),
    "ssn": ("078-05-1120", "219-09-9999"),  # both voided by the SSA
    "cn_id": ("11010519491231002X", "440524188001010014"),  # GB 11643's examples
    "cn_mobile": ("13800138000",),  # China Mobile's service line
    "aws_key": ("AKIAIOSFODNN7EXAMPLE",),
    "private_key": ("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",),
    "bearer_token": ("YOUR_ACCESS_TOKEN",),
    "jwt": (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2"
        "MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    ),
    "url_credentials": ("user:password",),
    "api_token": ("YOUR_API_TOKEN",),
}
# National-looking originals get a national-looking stand-in.
NATIONAL_PHONES = ("202-555-0143", "202-555-0178", "202-555-0191", "202-555-0115", "202-555-0162")

# Scrubbing scrubbed text must find nothing new: these never count as PII.
ALL_STAND_INS = frozenset(v for pool in STAND_INS.values() for v in pool) | frozenset(NATIONAL_PHONES)

REPLACEMENTS = ("tag", "realistic")


def normalise(kind: str, value: str) -> str:
    """The key under which two spellings of one value count as the same value."""
    if kind in ("phone", "cn_mobile", "card", "iban", "ssn", "cn_id"):
        return "".join(c for c in value if c.isalnum()).upper()
    return value.lower() if kind in ("email", "ipv6") else value


class DocumentReplacer:
    """Replacement choices for one document; make a new one per document."""

    def __init__(self, mode: str):
        self.mode = mode
        self._chosen: dict[tuple[str, str], str] = {}
        self._used: dict[str, int] = {}

    def replacement(self, kind: str, original: str) -> str:
        if self.mode == "tag":
            return TAGS[kind]
        key = (kind, normalise(kind, original))
        chosen = self._chosen.get(key)
        if chosen is None:
            index = self._used.get(kind, 0)
            self._used[kind] = index + 1
            pool = STAND_INS[kind]
            if kind == "phone" and not original.lstrip("(").startswith(("+", "00")):
                pool = NATIONAL_PHONES
            chosen = pool[index % len(pool)]
            self._chosen[key] = chosen
        return chosen
