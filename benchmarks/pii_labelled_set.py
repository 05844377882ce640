"""A labelled PII set: synthetic but real-looking PII and hard negatives in real web text.

How it is made (deterministic for a seed):
- base texts: the hand-made main-content texts of ../shared/data/bench (2,236 real
  pages: news, blogs, forums, shops, government sites; mostly English, some other
  languages);
- into each text go 0 to 5 snippets, at line starts: a positive (one PII value in a
  sentence template of its country's language, e.g. "Telefon: 030 12345678",
  "手机：13812345678", "Authorization: Bearer ...") or a hard negative (a version
  string, a dotted date, a private IP, a Luhn-failing order number, an ISBN, a price, a
  timestamp, a bad-checksum IBAN, ...), each labelled with its character span;
- values: phone numbers from 14 countries, valid by phonenumbers' metadata, in national,
  international and E.164 forms plus local habits (dots in France, "(0)" in the UK,
  "/" in Germany); cards of seven networks with valid Luhn digits; IBANs of ten
  countries with valid national and mod-97 checks; SSNs in issued ranges; CN resident
  IDs of real county codes with their check digit; secrets in the shapes their issuers
  use. National phone formats of countries outside the default regions are labelled
  `phone` with the variant `national-other`: the scrubber is not expected to find them,
  and the benchmark shows that gap on its own line.

PII already present in the base texts (real e-mails and phone numbers of the pages) is
not labelled; the benchmark counts detections there apart ("base") and leaves them out
of precision.
"""

from __future__ import annotations

import base64
import gzip
import ipaddress
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.cn import ric

DEFAULT_GOLD = Path(__file__).resolve().parents[2] / "shared/data/bench/bench-gold.jsonl.gz"


@dataclass
class Label:
    start: int
    end: int
    kind: str  # a scrubber kind, or "negative"
    variant: str


@dataclass
class LabelledDoc:
    text: str
    labels: list[Label] = field(default_factory=list)
    inserted: list[tuple[int, int]] = field(default_factory=list)  # whole snippets


# --- values ------------------------------------------------------------------------------
FIRST = "john maria wei anna jean priya lukas sofia ahmed yuki carlos olga li emma raj chloe".split()
LAST = "smith mueller dupont sharma zhang garcia rossi tanaka kowalski nguyen obrien jensen patel".split()
DOMAINS = (
    "gmail.com yahoo.co.uk web.de gmx.de orange.fr free.fr outlook.com qq.com 163.com rediffmail.com "
    "hotmail.fr libero.it uol.com.br acme-corp.com uni-heidelberg.de cs.stanford.edu bbc.co.uk "
    "mairie-lyon.fr tata.co.in mail.ru"
).split()


def email(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice(
        [f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}", f"{first}{rng.randint(1, 99)}",
         f"{first}+news", f"{last}.{first}{rng.randint(1970, 2005)}", "info", f"contact-{last}"]
    )
    domain = rng.choice(DOMAINS)
    if rng.random() < 0.08:  # written to dodge harvesters; not expected to be found
        return f"{local} [at] {domain.replace('.', ' [dot] ')}", "obfuscated"
    value = f"{local}@{domain}"
    return (value.upper() if rng.random() < 0.05 else value), "plain"


def ipv4(rng: random.Random) -> tuple[str, str]:
    while True:
        value = ipaddress.IPv4Address(rng.getrandbits(32))
        if value.is_global and not value.is_multicast:
            return str(value), "public"


IPV6_PREFIXES = ("2001:4860", "2a00:1450", "2606:4700", "2a02:598", "2400:cb00", "2a03:2880", "2604:a880")


def ipv6(rng: random.Random) -> tuple[str, str]:
    head = rng.choice(IPV6_PREFIXES)
    groups = [f"{rng.getrandbits(16):x}" for _ in range(6)]
    for i in rng.sample(range(6), rng.randint(0, 3)):
        groups[i] = "0"
    value = ipaddress.IPv6Address(f"{head}:{':'.join(groups)}")
    return (value.exploded if rng.random() < 0.2 else str(value)), "compressed"


DEFAULT_REGIONS = ("US", "GB", "DE", "FR", "IN", "CN")
OTHER_REGIONS = ("JP", "BR", "AU", "ES", "IT", "NL", "MX", "ZA")
PHONE_TYPES = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)


def _random_number(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    while True:
        example = phonenumbers.example_number_for_type(region, rng.choice(PHONE_TYPES))
        if example is None:
            continue
        digits = str(example.national_number)
        keep = max(2, len(digits) - rng.randint(4, 6))
        candidate = digits[:keep] + "".join(rng.choice(string.digits) for _ in digits[keep:])
        number = phonenumbers.parse(candidate, region)
        if phonenumbers.is_valid_number(number):
            return number


def _local_habit(region: str, national: str, rng: random.Random) -> str:
    if region == "FR":
        return national.replace(" ", rng.choice([".", "-"]))
    if region == "US":
        return rng.choice([national.replace("(", "").replace(") ", "-"), national.replace("(", "").replace(") ", ".")
                           .replace("-", "."), "1-" + national.replace("(", "").replace(") ", "-"),
                           national.replace("(", "").replace(")", "").replace("-", " ")])
    if region == "DE" and " " in national:
        head, tail = national.split(" ", 1)
        return rng.choice([f"{head}/{tail.replace(' ', '')}", f"({head}) {tail}", f"{head}-{tail.replace(' ', '')}"])
    if region == "GB":
        return national.replace(" ", "", 1) if rng.random() < 0.5 else national
    return national


def phone(rng: random.Random) -> tuple[str, str]:
    fmt = phonenumbers.PhoneNumberFormat
    if rng.random() < 0.7:
        region = rng.choice(DEFAULT_REGIONS)
        number = _random_number(rng, region)
        roll = rng.random()
        if roll < 0.45:
            return phonenumbers.format_number(number, fmt.NATIONAL), f"national-{region}"
        if roll < 0.6:
            national = phonenumbers.format_number(number, fmt.NATIONAL)
            return _local_habit(region, national, rng), f"national-{region}"
        if roll < 0.9:
            value = phonenumbers.format_number(number, fmt.INTERNATIONAL)
            if region in ("GB", "DE") and rng.random() < 0.5:
                code, rest = value.split(" ", 1)
                value = f"{code} (0){rest}"
            elif rng.random() < 0.2:
                value = value.replace(" ", "-")
            elif rng.random() < 0.1:
                value = "00" + value[1:]
            return value, "international"
        return phonenumbers.format_number(number, fmt.E164), "e164"
    region = rng.choice(OTHER_REGIONS)
    number = _random_number(rng, region)
    if rng.random() < 0.75:
        return phonenumbers.format_number(number, fmt.INTERNATIONAL), "international"
    return phonenumbers.format_number(number, fmt.NATIONAL), "national-other"


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return body + luhn.calc_check_digit(body)


CARD_NETWORKS = (
    ("visa", ("4",), 16),
    ("mastercard", ("51", "52", "53", "54", "55", "2221", "2500", "2720"), 16),
    ("amex", ("34", "37"), 15),
    ("discover", ("6011", "65"), 16),
    ("jcb", ("3528", "3589"), 16),
    ("unionpay", ("62",), 16),
    ("diners", ("36",), 14),
)


def card(rng: random.Random) -> tuple[str, str]:
    name, prefixes, length = rng.choice(CARD_NETWORKS)
    digits = _luhn_complete(rng.choice(prefixes), length, rng)
    separator = rng.choice([" ", " ", "-", ""])
    if length == 16:
        groups = [digits[i : i + 4] for i in range(0, 16, 4)]
    else:
        groups = [digits[:4], digits[4:10], digits[10:]]
    return separator.join(groups), name


# BBAN shapes: n digits, a upper-case letters (ECBS notation, alphanumerics drawn as digits).
IBAN_SHAPES = {
    "DE": "18n", "GB": "4a14n", "FR": "23n", "ES": "20n", "IT": "1a22n", "NL": "4a10n",
    "CH": "17n", "AT": "16n", "BE": "12n", "PL": "24n",
}


def _bban(shape: str, rng: random.Random) -> str:
    out, count = [], ""
    for char in shape:
        if char.isdigit():
            count += char
            continue
        alphabet = string.digits if char == "n" else string.ascii_uppercase
        out += [rng.choice(alphabet) for _ in range(int(count))]
        count = ""
    return "".join(out)


def _iban_with_check(country: str, bban: str) -> str:
    rearranged = f"{bban}{country}00"  # ISO 13616: country and check digits go to the end
    check = 98 - int("".join(str(int(char, 36)) for char in rearranged)) % 97
    return f"{country}{check:02d}{bban}"


def iban(rng: random.Random) -> tuple[str, str]:
    while True:
        country = rng.choice(sorted(IBAN_SHAPES))
        value = _iban_with_check(country, _bban(IBAN_SHAPES[country], rng))
        if stdnum_iban.is_valid(value):  # some countries add national check digits
            break
    if rng.random() < 0.7:
        value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value, country


def ssn(rng: random.Random) -> tuple[str, str]:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    value = f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    return value, "dashed"


CN_COUNTIES = ("110101", "110105", "310104", "440305", "510104", "330106", "420106", "320102", "610113")


def cn_id(rng: random.Random) -> tuple[str, str]:
    while True:
        year, month, day = rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28)
        body = f"{rng.choice(CN_COUNTIES)}{year}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
        value = body + ric.calc_check_digit(body + "0")
        if ric.is_valid(value):
            return value, "18-digit"


CN_MOBILE_PREFIXES = ("130", "133", "135", "138", "139", "150", "158", "166", "177", "186", "189", "199")


def cn_mobile(rng: random.Random) -> tuple[str, str]:
    digits = rng.choice(CN_MOBILE_PREFIXES) + "".join(rng.choice(string.digits) for _ in range(8))
    roll = rng.random()
    if roll < 0.1:
        return f"+86 {digits}", "+86"
    if roll < 0.7:
        return digits, "plain"
    separator = " " if roll < 0.85 else "-"
    return f"{digits[:3]}{separator}{digits[3:7]}{separator}{digits[7:]}", "grouped"


def _token(rng: random.Random, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def aws_key_id(rng: random.Random) -> tuple[str, str]:
    return rng.choice(["AKIA", "ASIA"]) + _token(rng, 16, string.ascii_uppercase + "234567"), "access-key-id"


def aws_secret_key(rng: random.Random) -> tuple[str, str]:
    return _token(rng, 40, string.ascii_letters + string.digits + "/+"), "secret-access-key"


def private_key(rng: random.Random) -> tuple[str, str]:
    label = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"])
    lines = [_token(rng, 64, string.ascii_letters + string.digits + "+/") for _ in range(rng.randint(3, 12))]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----", label


def bearer_token(rng: random.Random) -> tuple[str, str]:
    return _token(rng, rng.randint(24, 64), string.ascii_letters + string.digits + "-_."), "opaque"


def jwt(rng: random.Random) -> tuple[str, str]:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    header = part({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"})
    payload = part({"sub": str(rng.randint(1, 10**9)), "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    "iat": rng.randint(1.5e9, 1.8e9)})
    return f"{header}.{payload}.{_token(rng, 43, string.ascii_letters + string.digits + '-_')}", "hs256/rs256"


def url_credentials(rng: random.Random) -> tuple[str, str]:
    user = rng.choice([rng.choice(FIRST), "admin", "root", "deploy", f"{rng.choice(LAST)}{rng.randint(1, 99)}"])
    password = _token(rng, rng.randint(6, 20), string.ascii_letters + string.digits + "!$*_-%")
    return f"{user}:{password}", "user:password"


def api_token(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["github", "google", "slack", "stripe"])
    if kind == "github":
        return "ghp_" + _token(rng, 36), kind
    if kind == "google":
        return "AIza" + _token(rng, 35, string.ascii_letters + string.digits + "-_"), kind
    if kind == "slack":
        return f"xoxb-{rng.randint(10**10, 10**11)}-{rng.randint(10**10, 10**11)}-{_token(rng, 24)}", kind
    return "sk_live_" + _token(rng, 24), kind


# (kind, value maker, sentence templates: "{}" is the value)
POSITIVES: tuple[tuple[str, Callable[[random.Random], tuple[str, str]], tuple[str, ...]], ...] = (
    ("email", email, ("Contact: {}", "E-Mail: {}", "Écrivez-nous à {}.", "email me at {} if you have questions",
                      "Posted by Dave ({})", "邮箱：{}", "邮箱{}", "Per E-Mail an {} senden.", "<{}>",
                      "mailto:{}", "From: \"Dave\" <{}>")),
    ("ipv4", ipv4, ("Your IP address is {}", "Connecting to {}:8080 ...", "Posted by anonymous ({})",
                    '{} - - [12/Oct/2023:14:30:45 +0000] "GET /index.html HTTP/1.1" 200', "IP: {}",
                    "http://{}/admin/login.php", "blocked range {}/24", "Reply from {}: bytes=32 time=14ms")),
    ("ipv6", ipv6, ("Your IPv6 address: {}", "ping6 {}", "client [{}] connected", "AAAA record: {}")),
    ("phone", phone, ("Tel. {}", "Call us at {} today.", "Téléphone : {}", "Telefon: {}", "电话：{}", "电话{}",
                      "Phone: {} (Mon-Fri)", "or ring {}.", "Fax {}", "WhatsApp {}", "Kontakt: {}", "Tel:{}",
                      "John Miller, {}", "{}", "Office hours 9-5, {} ext. 214", "Reservations | {} | Email us")),
    ("card", card, ("Card number: {}", "Kartennummer {}", "numéro de carte {}", "卡号：{}", "卡号{}",
                    "paid with {} exp 09/27", "CC#{}", "{} 09/27 CVV 123")),
    ("iban", iban, ("IBAN: {}", "Bankverbindung: IBAN {} BIC GENODEF1XXX", "RIB / IBAN : {}", "Pay to {}.")),
    ("ssn", ssn, ("SSN: {}", "Social Security No. {}", "his social security number was {}", "ssn {}")),
    ("cn_id", cn_id, ("身份证号：{}", "公民身份号码 {}", "ID: {}")),
    ("cn_mobile", cn_mobile, ("手机：{}", "联系电话 {}", "微信同号{}", "mobile {}", "电话:{}(微信同号)")),
    ("aws_key", aws_key_id, ("aws_access_key_id = {}", "export AWS_ACCESS_KEY_ID={}", '"AccessKeyId": "{}"')),
    ("aws_key", aws_secret_key, ("aws_secret_access_key = {}", "export AWS_SECRET_ACCESS_KEY={}",
                                 '"SecretAccessKey": "{}"')),
    ("private_key", private_key, ("{}",)),
    ("bearer_token", bearer_token, ("Authorization: Bearer {}", 'curl -H "Authorization: Bearer {}" https://api.x.io/v1')),
    ("jwt", jwt, ("token: {}", "Authorization: Bearer {}", "?access_token={}&v=2")),
    ("url_credentials", url_credentials, ("https://{}@git.example.org/repo.git", "postgres://{}@db.internal:5432/app",
                                          "ftp://{}@files.example.net/pub/", "mongodb+srv://{}@cluster0.x.mongodb.net")),
    ("api_token", api_token, ("GITHUB_TOKEN={}", "api_key: {}", "token = \"{}\"")),
)


# --- hard negatives ------------------------------------------------------------------------
def _version(rng: random.Random) -> str:
    parts = [rng.randint(1, 20), rng.randint(0, 30), rng.randint(0, 250), rng.randint(0, 99)]
    word = rng.choice(["version", "Version", "v", "build", "firmware", "Release", "Section", "§"])
    return f"{word} {'.'.join(map(str, parts))}"


def _dotted_date(rng: random.Random) -> str:
    return rng.choice(["{:02d}.{:02d}.{}", "{}.{}.{}"]).format(rng.randint(1, 28), rng.randint(1, 12),
                                                               rng.choice([rng.randint(1990, 2025), rng.randint(0, 99)]))


def _private_ip(rng: random.Random) -> str:
    return rng.choice([f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}", f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                       f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}", "127.0.0.1",
                       f"203.0.113.{rng.randint(1, 254)}", f"fe80::{rng.getrandbits(16):x}", "::1",
                       f"2001:db8::{rng.getrandbits(16):x}"])


def _luhn_failing_order(rng: random.Random) -> str:
    digits = _luhn_complete(rng.choice(["4", "51", "6011"]), 16, rng)
    bad = digits[:-1] + str((int(digits[-1]) + rng.randint(1, 9)) % 10)
    return rng.choice(["Order #{}", "Bestellnummer {}", "ref. {}"]).format(
        " ".join(bad[i : i + 4] for i in range(0, 16, 4)) if rng.random() < 0.5 else bad)


def _isbn(rng: random.Random) -> str:
    return rng.choice(["ISBN 978-3-16-148410-0", "ISBN-10: 0-306-40615-2", "ISBN 9780306406157",
                       "ISBN 978-0-262-03384-8", "ISBN 0-521-54228-6"])


def _timestamp(rng: random.Random) -> str:
    year, month, day = rng.randint(2000, 2025), rng.randint(1, 12), rng.randint(1, 28)
    hour, minute, second = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    return rng.choice([f"{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}",
                       f"{year}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z",
                       f"{month:02d}/{day:02d}/{year} {hour % 12 + 1}:{minute:02d} PM",
                       f"unix time {rng.randint(1_000_000_000, 1_800_000_000)}"])


def _price(rng: random.Random) -> str:
    return rng.choice([f"${rng.randint(1, 9)},{rng.randint(0, 999):03d}.99", f"€ {rng.randint(1, 9)}.{rng.randint(0, 999):03d},00",
                       f"¥{rng.randint(100, 999)},{rng.randint(0, 999):03d}", f"£{rng.randint(10, 999)}.{rng.randint(0, 99):02d}",
                       f"Rs. {rng.randint(1, 99)},{rng.randint(0, 99):02d},{rng.randint(0, 999):03d}"])


def _bad_iban(rng: random.Random) -> str:
    value, _ = iban(rng)
    compact = value.replace(" ", "")
    broken = compact[:2] + f"{(int(compact[2:4]) + rng.randint(1, 50)) % 100:02d}" + compact[4:]
    return "IBAN " + " ".join(broken[i : i + 4] for i in range(0, len(broken), 4))


def _bad_ssn(rng: random.Random) -> str:
    return rng.choice([f"000-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}", f"666-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
                       f"9{rng.randint(0, 99):02d}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
                       f"{rng.randint(100, 665)}-00-{rng.randint(1000, 9999)}"])


def _bad_cn_id(rng: random.Random) -> str:
    value, _ = cn_id(rng)
    last = "0" if value[-1] in "X9" else str(int(value[-1]) + 1)
    return "编号" + value[:-1] + last


def _number_noise(rng: random.Random) -> str:
    return rng.choice([f"ZIP {rng.randint(10000, 99999)}-{rng.randint(1000, 9999)}", f"from {rng.randint(1900, 1990)}-{rng.randint(1991, 2025)}",
                       f"pp. {rng.randint(100, 400)}-{rng.randint(401, 900)}", f"{rng.uniform(-90, 90):.4f}, {rng.uniform(-180, 180):.4f}",
                       "pi = 3.14159265", " ".join(str(rng.randint(1, 49)) for _ in range(6)),
                       f"SKU {rng.randint(100, 999)}-{rng.randint(1000, 9999)}-{rng.randint(10, 99)}",
                       f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1990, 2025)}",
                       f"tracking 9400 1000 0000 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)} {rng.randint(10, 99)}",
                       f"invoice {rng.randint(10**9, 10**10)}"])


def _lookalike_text(rng: random.Random) -> str:
    return rng.choice(["logo@2x.png", "npm i lodash@4.17.21", "follow @ccforge", "at 12:30:45 sharp",
                       "MAC 00:1A:2B:3C:4D:5E", "the bearer of this letter", "Bearer token auth",
                       "https://user@example.com/", "John 3:16", "ratio 16:9", "AKIAIOSFODNN7EXAMPLE"])


def _identifier(rng: random.Random) -> str:
    hexdigits = "0123456789abcdef"
    return rng.choice([
        "-".join("".join(rng.choice(hexdigits) for _ in range(n)) for n in (8, 4, 4, 4, 12)),  # UUID
        "commit " + "".join(rng.choice(hexdigits) for _ in range(40)),
        f"CAS {rng.randint(50, 99999)}-{rng.randint(10, 99)}-{rng.randint(0, 9)}",
        f"Art.-Nr. 40{rng.randint(10**10, 10**11 - 1)}",
        f"GTIN 00{rng.randint(10**11, 10**12 - 1)}",
        f"US Patent {rng.randint(4, 11)},{rng.randint(0, 999):03d},{rng.randint(0, 999):03d}",
        f"Aktenzeichen {rng.randint(1, 9)} O {rng.randint(10, 999)}/{rng.randint(10, 24)}",
        f"DOI 10.{rng.randint(1000, 9999)}/{rng.randint(100000, 999999)}",
        f"lot {rng.randint(2010, 2024)}-{rng.randint(10, 12)}-{rng.randint(10000, 99999)}",
        f"population {rng.randint(1, 9)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
    ])


NEGATIVES: tuple[tuple[str, Callable[[random.Random], str]], ...] = (
    ("identifier", _identifier),
    ("version", _version), ("dotted-date", _dotted_date), ("private-ip", _private_ip),
    ("luhn-failing-order", _luhn_failing_order), ("isbn", _isbn), ("timestamp", _timestamp),
    ("price", _price), ("bad-iban", _bad_iban), ("bad-ssn", _bad_ssn), ("bad-cn-id", _bad_cn_id),
    ("number-noise", _number_noise), ("lookalike-text", _lookalike_text),
)


def load_texts(path: Path = DEFAULT_GOLD) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as source:
        return [json.loads(line)["gold"] for line in source]


def _insertion_points(text: str) -> list[int]:
    return [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]


def insert_snippets(
    texts: list[str], rng: random.Random, make_snippet: Callable[[random.Random], tuple[str, list[Label]]],
    max_snippets: int = 5,
) -> list[LabelledDoc]:
    """One labelled document per base text: 0 to `max_snippets` snippets at line starts.
    `make_snippet` returns a snippet and its labels, with offsets inside the snippet."""
    docs = []
    for base in texts:
        points = _insertion_points(base)
        chosen = sorted(rng.sample(points, min(len(points), rng.randint(0, max_snippets))))
        doc = LabelledDoc(text="")
        parts, position, length = [], 0, 0
        for point in chosen:
            parts.append(base[position:point])
            length += point - position
            position = point
            snippet, labels = make_snippet(rng)
            doc.labels += [Label(length + lab.start, length + lab.end, lab.kind, lab.variant) for lab in labels]
            snippet += "\n"
            doc.inserted.append((length, length + len(snippet)))
            parts.append(snippet)
            length += len(snippet)
        parts.append(base[position:])
        doc.text = "".join(parts)
        docs.append(doc)
    return docs


def build(texts: list[str], seed: int = 0, max_snippets: int = 5, positive_share: float = 0.6) -> list[LabelledDoc]:
    """One labelled document per base text, with this module's hand-made snippets."""

    def make_snippet(rng: random.Random) -> tuple[str, list[Label]]:
        if rng.random() < positive_share:
            kind, make, templates = rng.choice(POSITIVES)
            value, variant = make(rng)
            before, after = rng.choice(templates).split("{}")
            return before + value + after, [Label(len(before), len(before) + len(value), kind, variant)]
        variant, make_negative = rng.choice(NEGATIVES)
        snippet = make_negative(rng)
        return snippet, [Label(0, len(snippet), "negative", variant)]

    return insert_snippets(texts, random.Random(seed), make_snippet, max_snippets)
