"""PII scrubbing: e-mail and IP addresses, phones, cards, IBANs, IDs, secrets.

FineWeb rewrites e-mails and public IPv4 addresses; this stage also finds IPv6,
phone numbers, Luhn-valid card numbers, IBANs (mod 97), US SSNs, Chinese resident
ID numbers and mainland mobiles, and secrets (AWS keys, private-key blocks, bearer
tokens, JWTs, passwords in URLs, prefixed API tokens). Every finder proposes spans;
overlaps are settled by a fixed precedence (the more specific pattern wins); the
spans are then replaced by tags or stand-ins (`pii_replace`).

Only counts leave the stage (`take_counts`); originals are never logged or stored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ccforge.document import Document, Drop
from ccforge.filters import pii_patterns as patterns
from ccforge.filters import pii_payment as payment
from ccforge.filters.pii_patterns import Span
from ccforge.filters.pii_phone import PhoneFinder
from ccforge.filters.pii_replace import ALL_STAND_INS, KINDS, REPLACEMENTS, DocumentReplacer
from ccforge.stage import Stage

# When two findings overlap, the earlier kind here wins (secrets contain digits that
# look like phones; an IBAN contains a card-length run; a CN ID can pass Luhn).
PRECEDENCE = (
    "private_key",
    "jwt",
    "aws_key",
    "api_token",
    "bearer_token",
    "url_credentials",
    "email",
    "iban",
    "cn_id",
    "card",
    "ssn",
    "ipv6",
    "ipv4",
    "cn_mobile",
    "phone",
)
RANK = {kind: i for i, kind in enumerate(PRECEDENCE)}
SECRET_KINDS = frozenset({"aws_key", "private_key", "bearer_token", "jwt", "url_credentials", "api_token"})


@dataclass
class PiiConfig:
    enabled: bool = True
    # "realistic": FineWeb-style stand-ins (email@example.com, 22.214.171.124, ...);
    # "tag": typed placeholders (<EMAIL>, <PHONE>, <IP_ADDRESS>, ...).
    replacement: str = "realistic"
    # What to look for; any of: email ipv4 ipv6 phone card iban ssn cn_id cn_mobile
    # aws_key private_key bearer_token jwt url_credentials api_token.
    kinds: list[str] = field(default_factory=lambda: list(KINDS))
    only_public_ips: bool = True  # private and reserved ranges are kept, as FineWeb
    # Regions whose national numbers count as phones (international +NN always do);
    # "all": every region libphonenumber knows, for a multilingual crawl.
    phone_regions: list[str] = field(default_factory=lambda: ["all"])


class PiiScrubber(Stage):
    name = "pii"

    def __init__(self, config: PiiConfig):
        self.config = config
        unknown = [k for k in config.kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"pii.kinds: unknown kind(s) {', '.join(unknown)}; known: {' '.join(KINDS)}")
        if config.replacement not in REPLACEMENTS:
            raise ValueError(f"pii.replacement must be one of {', '.join(REPLACEMENTS)}, got '{config.replacement}'")
        self.kinds = frozenset(config.kinds)
        self._phones = PhoneFinder(config.phone_regions) if "phone" in self.kinds else None
        self._counts: Counter[str] = Counter()

    def process(self, doc: Document) -> Document | Drop:
        doc.text, counts = self.scrub(doc.text)
        self._counts.update(counts)
        return doc

    def take_counts(self) -> dict[str, int]:
        counts, self._counts = dict(self._counts), Counter()
        return counts

    def scrub(self, text: str) -> tuple[str, dict[str, int]]:
        """The text with PII replaced, and `{"found:<kind>": n}` for what was replaced."""
        spans = self.find(text)
        if not spans:
            return text, {}
        replacer = DocumentReplacer(self.config.replacement)
        parts, counts, position = [], Counter(), 0
        for span in spans:
            parts.append(text[position : span.start])
            parts.append(replacer.replacement(span.kind, text[span.start : span.end]))
            counts[f"found:{span.kind}"] += 1
            position = span.end
        parts.append(text[position:])
        return "".join(parts), dict(counts)

    def find(self, text: str) -> list[Span]:
        """Non-overlapping PII spans in text order."""
        if not text:
            return []
        kinds = self.kinds
        found: list[Span] = []
        if "email" in kinds and "@" in text:
            found += patterns.find_emails(text)
        if kinds & SECRET_KINDS:
            found += patterns.find_secrets(text)
        if "ipv6" in kinds and ":" in text:
            found += patterns.find_ipv6(text, self.config.only_public_ips)
        found += self._find_numbers(text)
        return _resolve([s for s in set(found) if s.kind in kinds], text)

    def _find_numbers(self, text: str) -> list[Span]:
        """Number-shaped kinds, each looked for only around a digit cluster long enough."""
        kinds, found, size = self.kinds, [], len(text)
        for cluster in patterns.DIGIT_CLUSTER.finditer(text):
            start, end = cluster.span()
            digits = sum(c.isdecimal() for c in cluster.group(0))
            pos, endpos = max(0, start - 45), min(size, end + 45)
            if "ipv4" in kinds and "." in cluster.group(0):
                found += patterns.find_ipv4(text, pos, endpos, self.config.only_public_ips)
            if "iban" in kinds:
                found += payment.find_ibans(text, pos, endpos)
            if digits >= 12 and "card" in kinds:
                found += payment.find_cards(text, pos, endpos)
            if digits >= 9 and "ssn" in kinds:
                found += patterns.find_ssns(text, pos, endpos)
            if digits >= 17 and "cn_id" in kinds:
                found += patterns.find_cn_ids(text, pos, endpos)
            if digits >= 11 and "cn_mobile" in kinds:
                found += patterns.find_cn_mobiles(text, pos, endpos)
            if digits >= 6 and self._phones is not None:
                # The window reaches back for a "(+57) " or "030 / " the cluster does not hold.
                found += self._phones.find(text, max(0, start - 25), end)
        return found


def _resolve(spans: list[Span], text: str) -> list[Span]:
    """Keep the highest-precedence (then longest) span wherever spans overlap.

    A span that is one of our own stand-ins is not PII, but it still claims its place,
    so "user:password@db.example" scrubbed once does not yield "password@db.example".
    """
    if len(spans) <= 1:
        return [s for s in spans if text[s.start : s.end] not in ALL_STAND_INS]
    spans.sort(key=lambda s: (RANK[s.kind], s.start - s.end))
    kept: list[Span] = []
    for span in spans:
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(s for s in kept if text[s.start : s.end] not in ALL_STAND_INS)
