"""A labelled PII set written by Faker across its locales, generated fresh for each run.

Why a second set: the hand-made one (`pii_labelled_set`) comes from the same hands as
the rules. Faker (a dev-only dependency) writes phone numbers, card numbers, IBANs,
e-mail and IP addresses, dates, prices, postcodes and street addresses the way each of
its locales does, and no rule was written against it.

How it is made (deterministic for a seed and a Faker version):
- values: for each kind, a locale whose Faker provider for that kind is its own (the
  many locales that fall back to the en_US phone formats count once), then the value as
  that provider writes it; cards and IBANs also in the layouts people print them in
  (groups of four, Amex 4-6-5, lower case);
- sentences: each value goes into a sentence template of the locale's language where one
  is written here (English otherwise), filled with Faker names, companies, streets and
  cities; about a third of the phone templates have no word such as "tel" or "phone";
- hard negatives: dates in the locales' layouts, times and opening hours, prices, years
  and year ranges, postcodes with their city, street addresses, ISBNs, order, invoice and
  tracking numbers, EANs, version numbers and browser user agents, each in a sentence;
- the snippets go into the real bench texts at line starts (`insert_snippets`).

Labels say what Faker meant. Where Faker writes something that no issuer or plan would
produce (an IBAN for a country without IBANs, a card prefix no network uses, a phone number
with a country code that does not exist), the label keeps its kind and gets the variant
`faker-invalid:<why>`; an IPv6 address Faker draws from a special-purpose range (multicast,
unique-local, ...), which the stage keeps on purpose, gets `by-design:<range>`. The
benchmark reports those as misses and also gives recall without them.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import logging
import random
import warnings
from collections.abc import Callable

import phonenumbers
from faker import Faker
from faker.config import AVAILABLE_LOCALES
from pii_labelled_set import Label, LabelledDoc, insert_snippets
from stdnum import iban as stdnum_iban
from stdnum import luhn

# --- sentence templates: {v} is the value; other fields are filled by Faker ----------------------------
PHONE_TEMPLATES = {
    "en": ["Tel: {v}", "Call {name} on {v} for details.", "{name}, {company}, {street}, {city}. Phone {v}",
           "Questions? Ring {v} (Mon-Fri).", "{name} | {v} | {city}", "Our {city} office: {v}",
           "Mobile: {v}", "Fax {v}", "{company} - {v} - {city}", "Reservations {v}"],
    "de": ["Tel.: {v}", "Telefon {v}", "Rufen Sie uns an: {v}", "{name}, {street}, {postcode} {city}, Tel. {v}",
           "{company} | {v}", "Erreichbar unter {v} (Mo-Fr)", "Mobil: {v}", "Fax: {v}"],
    "fr": ["Tél. : {v}", "Appelez-nous au {v}.", "{name}, {street}, {postcode} {city} - {v}", "Contact : {name}, {v}",
           "Portable : {v}", "Joignable au {v} du lundi au vendredi.", "{company} · {v}"],
    "es": ["Tel.: {v}", "Llámanos al {v}.", "Teléfono: {v}", "{name} - {v}", "Móvil {v}", "Más información en el {v}."],
    "it": ["Tel. {v}", "Chiamaci al {v}", "Telefono: {v}", "{name}, {street}, {city} - {v}", "Cellulare: {v}",
           "Per informazioni: {v}"],
    "pt": ["Tel.: {v}", "Ligue para {v}.", "Telefone: {v}", "{name} - {v}", "Celular: {v}", "WhatsApp {v}"],
    "nl": ["Tel.: {v}", "Bel ons op {v}.", "Telefoon: {v}", "{name}, {v}", "Mobiel: {v}"],
    "ru": ["Тел.: {v}", "Звоните: {v}", "Телефон {v}", "{name}, {v}", "Моб. {v}", "Справки по телефону {v}"],
    "pl": ["tel. {v}", "Zadzwoń: {v}", "Telefon: {v}", "{name}, {v}", "Kom. {v}"],
    "zh": ["电话：{v}", "联系电话 {v}", "手机：{v}", "{name}，{v}", "咨询热线：{v}"],
    "ja": ["電話：{v}", "TEL {v}", "お問い合わせ：{v}", "{name} {v}", "携帯 {v}"],
    "ko": ["전화: {v}", "문의 {v}", "{name} {v}", "휴대폰 {v}"],
    "ar": ["هاتف: {v}", "اتصل بنا على {v}", "{name} - {v}", "جوال {v}"],
    "tr": ["Tel: {v}", "Bizi arayın: {v}", "{name} - {v}", "Cep: {v}"],
}
CARD_TEMPLATES = {
    "en": ["Card number: {v}", "paid with card {v}, exp {exp}", "{v} exp {exp} CVV {cvv}", "{name} {v} {exp}",
           "Please charge my card {v}."],
    "de": ["Kartennummer: {v}", "Kreditkarte {v} gültig bis {exp}"],
    "fr": ["Numéro de carte : {v}", "carte {v} exp. {exp}"],
    "es": ["Número de tarjeta: {v}", "tarjeta {v} vence {exp}"],
    "ru": ["Номер карты: {v}", "карта {v} до {exp}"],
    "zh": ["卡号：{v}", "银行卡 {v}"],
}
IBAN_TEMPLATES = {
    "en": ["IBAN: {v}", "IBAN {v} BIC {swift}", "Please transfer to {v}.", "{company} - {v}", "account {v} ({name})"],
    "de": ["Bankverbindung: {name}, IBAN {v}", "IBAN: {v}, BIC: {swift}", "Überweisung an {v}"],
    "fr": ["RIB : {v}", "IBAN : {v}", "Virement sur le compte {v}"],
    "es": ["IBAN: {v}", "Cuenta: {v}"],
    "it": ["IBAN {v} intestato a {name}"],
}
EMAIL_TEMPLATES = {
    "en": ["Email: {v}", "Write to {name} at {v}.", "<{v}>", "{name} ({v})", "{company} | {v} | {city}"],
    "de": ["E-Mail: {v}", "Schreiben Sie an {v}."],
    "fr": ["Courriel : {v}", "Écrivez à {v}"],
    "zh": ["邮箱：{v}"],
    "ja": ["メール：{v}"],
    "ru": ["Эл. почта: {v}"],
}
IP_TEMPLATES = {
    "en": ["IP address: {v}", "Connecting to {v} ...", "{v} - - [{clf}] \"GET /index.html HTTP/1.1\" 200 512",
           "Posted from {v}", "Reply from {v}: bytes=32 time=14ms", "allow from {v}", "client {v} connected",
           "Your IP is {v}"],
}
SSN_TEMPLATES = {"en": ["SSN: {v}", "Social Security number {v}", "{name}, SSN {v}"]}

NEGATIVE_TEMPLATES = {
    "date": ["Posted on {v}", "{v}", "Published {v} by {name}", "Datum: {v}", "Le {v}", "发布于 {v}", "Updated: {v}"],
    "time": ["Opening hours: Mon-Fri {v}", "at {v}", "Öffnungszeiten: {v}", "Horaires : {v}", "{v} Uhr"],
    "price": ["Price: {v}", "now only {v}", "{v} incl. VAT", "Preis: {v}", "Prix : {v}", "{v}"],
    "year": ["Founded in {v}", "© {v} {company}", "{name} ({v})", "{v}", "seit {v}"],
    "zip": ["{v}", "{street}, {v}", "ZIP code: {v}", "Postleitzahl {v}"],
    "street": ["{v}", "Visit us at {v}.", "Adresse: {v}", "{company}, {v}"],
    "isbn": ["ISBN {v}", "{v}", "ISBN-13: {v}", "({v})"],
    "order": ["Order #{v}", "Bestellnummer: {v}", "Invoice {v}", "Tracking number: {v}", "EAN {v}", "Ticket {v}",
              "Order ID {v}", "Ref. {v}"],
    "version": ["version {v}", "{v}", "Firmware {v}", "build {v}", "Released {v}."],
}

DATE_PATTERNS = {
    "en": ["%m/%d/%Y", "%B %d, %Y", "%d %B %Y", "%Y-%m-%d", "%d/%m/%Y"],
    "de": ["%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d"],
    "fr": ["%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y"],
    "ja": ["%Y年%m月%d日", "%Y/%m/%d"],
    "zh": ["%Y年%m月%d日", "%Y-%m-%d", "%Y.%m.%d"],
    "ko": ["%Y. %m. %d.", "%Y-%m-%d"],
    "ru": ["%d.%m.%Y"],
    "nl": ["%d-%m-%Y"],
    "hu": ["%Y. %m. %d."],
    "iso": ["%Y%m%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"],
}


# Faker's en_PH bank provider logs a warning on every account number it writes.
logging.getLogger("faker.providers.bank.en_PH").setLevel(logging.ERROR)


def _quiet_faker(locale: str, seed: int) -> Faker:
    # A few locales print a notice on creation and some warn that they are deprecated.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        faker = Faker(locale)
    faker.seed_instance(seed)
    return faker


def _provider_module(faker: Faker, method: str) -> str | None:
    try:
        return type(getattr(faker, method).__self__).__module__
    except AttributeError:
        return None


class FakerPool:
    """One Faker per locale, and for each method the locales whose provider is their own."""

    def __init__(self, seed: int):
        rng = random.Random(seed)
        self.fakers = {loc: _quiet_faker(loc, rng.getrandbits(32)) for loc in AVAILABLE_LOCALES}
        self._locales: dict[str, list[str]] = {}

    def locales(self, method: str) -> list[str]:
        if method not in self._locales:
            first_by_module: dict[str, str] = {}
            for loc, faker in self.fakers.items():
                module = _provider_module(faker, method)
                if module is not None and module not in first_by_module and self._works(faker, method):
                    first_by_module[module] = loc
            self._locales[method] = sorted(first_by_module.values())
        return self._locales[method]

    def _works(self, faker: Faker, method: str) -> bool:
        """Some providers fail (bn_BD's pricetag asks for a currency Faker lacks): leave them out."""
        try:
            self.call(faker, method)
        except (KeyError, ValueError, AttributeError):
            return False
        return True

    def pick(self, rng: random.Random, method: str) -> tuple[str, Faker]:
        locale = rng.choice(self.locales(method))
        return locale, self.fakers[locale]

    def call(self, faker: Faker, method: str, *args, **kwargs):
        with contextlib.redirect_stdout(io.StringIO()):
            return getattr(faker, method)(*args, **kwargs)


def _language(locale: str, templates: dict[str, list[str]]) -> str:
    language = locale.split("_")[0]
    if language in ("uk", "bg", "be"):
        language = "ru"
    return language if language in templates else "en"


def _fill(template: str, value: str, faker: Faker, rng: random.Random) -> tuple[str, int]:
    """The sentence and where the value starts in it."""
    fields = {
        "name": faker.name, "company": faker.company, "city": faker.city, "street": faker.street_address,
        "postcode": faker.postcode, "email": faker.email, "swift": faker.swift,
        "exp": lambda: f"{rng.randint(1, 12):02d}/{rng.randint(25, 32)}", "cvv": lambda: f"{rng.randint(0, 999):03d}",
        "clf": lambda: f"{rng.randint(1, 28):02d}/Oct/2023:14:{rng.randint(0, 59):02d}:45 +0000",
    }
    before, after = template.split("{v}")

    def expand(part: str) -> str:
        for key, make in fields.items():
            while "{" + key + "}" in part:
                part = part.replace("{" + key + "}", str(make()).replace("\n", ", "), 1)
        return part

    before, after = expand(before), expand(after)
    return before + value + after, len(before)


# --- positives -----------------------------------------------------------------------------------------
def _phone(pool: FakerPool, rng: random.Random) -> tuple[str, str, str]:
    locale, faker = pool.pick(rng, "phone_number")
    value = pool.call(faker, "phone_number")
    variant = locale
    if value.lstrip("(").startswith("+"):
        try:
            phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException as error:
            if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
                variant = "faker-invalid:no such country code"
    return value, variant, locale


def _group(digits: str, sizes: list[int]) -> list[str]:
    out, i = [], 0
    for size in sizes:
        out.append(digits[i : i + size])
        i += size
    if i < len(digits):
        out.append(digits[i:])
    return [g for g in out if g]


def _card_is_real_issuer(digits: str) -> bool:
    """ISO/IEC 7812: the first digit 0 is no card network's, and among 9s (national use)
    only Troy (9792) and Prostir (9804) issue cards."""
    return digits[0] != "0" and (digits[0] != "9" or digits[:4] in ("9792", "9804"))


def _card(pool: FakerPool, rng: random.Random) -> tuple[str, str, str]:
    locale, faker = pool.pick(rng, "credit_card_number")
    provider = getattr(faker, "credit_card_number").__self__
    card_type = rng.choice(sorted(provider.credit_card_types))
    digits = pool.call(faker, "credit_card_number", card_type)
    style = rng.random()
    if style < 0.3:
        value = digits
    else:
        separator = " " if style < 0.8 else "-"
        if len(digits) in (14, 15) and rng.random() < 0.6:
            sizes = [4, 6]  # Amex and Diners print 4-6-5 / 4-6-4
        else:
            sizes = [4] * 4
        value = separator.join(_group(digits, sizes))
    variant = f"{card_type}-{len(digits)}"
    if not luhn.is_valid(digits):
        variant = "faker-invalid:luhn"
    elif not _card_is_real_issuer(digits):
        variant = f"faker-invalid:prefix {digits[:4]} of no network"
    return value, variant, locale


# Faker writes IBANs for countries whose banks use none; Iran's (Sheba) numbers are IBANs
# that the SWIFT registry, and so python-stdnum, does not list.
NO_IBAN_COUNTRIES = frozenset({"AR", "BD", "CO", "PH", "TH"})
IBAN_OUTSIDE_REGISTRY = frozenset({"IR"})


def _iban(pool: FakerPool, rng: random.Random) -> tuple[str, str, str]:
    locale, faker = pool.pick(rng, "iban")
    compact = pool.call(faker, "iban")
    style = rng.random()
    value = compact if style < 0.35 else " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    if rng.random() < 0.1:
        value = value.lower()
    variant = compact[:2]
    if compact[:2] in NO_IBAN_COUNTRIES:
        variant = f"faker-invalid:{compact[:2]} has no IBAN"
    elif not stdnum_iban.is_valid(compact) and compact[:2] not in IBAN_OUTSIDE_REGISTRY:
        variant = f"faker-invalid:{compact[:2]} IBAN of length {len(compact)}"
    return value, variant, locale


def _email(pool: FakerPool, rng: random.Random) -> tuple[str, str, str]:
    locale, faker = pool.pick(rng, "email")
    method = rng.choice(["email", "free_email", "company_email"])
    return pool.call(faker, method), method, locale


def _ipv4(pool: FakerPool, rng: random.Random) -> tuple[str, str, str]:
    faker = pool.fakers["en_US"]
    form = rng.choice(["plain", "plain", "port", "url", "cidr"])
    if form == "cidr":
        return faker.ipv4_public(network=True), form, "en_US", "{}"
    wrap = {"plain": "{}", "port": "{}:" + str(rng.choice([80, 443, 8080, 3306, 25565])), "url": "http://{}/login"}[form]
    return faker.ipv4_public(), form, "en_US", wrap


def _ipv6(pool: FakerPool, rng: random.Random) -> tuple[str, str, str]:
    faker = pool.fakers["en_US"]
    address = ipaddress.IPv6Address(faker.ipv6())
    form = rng.choice(["compressed", "exploded", "eight groups", "mixed", "prefix", "bracketed"])
    if form == "exploded":
        value = address.exploded
    elif form == "eight groups":
        value = ":".join(f"{int(group, 16):x}" for group in address.exploded.split(":"))
    elif form == "mixed":
        head = ":".join(address.exploded.split(":")[:6])
        value = f"{head}:{faker.ipv4_public()}"
    elif form == "prefix":
        value = faker.ipv6(network=True)
    else:
        value = str(address)
    wrap = "[{}]:" + str(rng.choice([443, 8080])) if form == "bracketed" else "{}"
    network = ipaddress.IPv6Network(value, strict=False)
    if not _personal(network.network_address):
        form = f"by-design:{_special_range(network.network_address)} (kept with pii.only_public_ips)"
    return value, form, "en_US", wrap


def _personal(address: ipaddress.IPv6Address) -> bool:
    return _special_range(address) is None


def _special_range(address: ipaddress.IPv6Address) -> str | None:
    """Faker draws from the whole address space; these ranges are no one's public address."""
    for name in ("multicast", "link_local", "site_local", "loopback", "unspecified", "private"):
        if getattr(address, f"is_{name}"):
            return name
    return None


def _ssn(pool: FakerPool, rng: random.Random) -> tuple[str, str, str]:
    return pool.fakers["en_US"].ssn(), "en_US", "en_US"


POSITIVES: tuple[tuple[str, Callable, dict[str, list[str]], int], ...] = (
    # (kind, value maker, templates, weight)
    ("phone", _phone, PHONE_TEMPLATES, 6),
    ("card", _card, CARD_TEMPLATES, 2),
    ("iban", _iban, IBAN_TEMPLATES, 2),
    ("email", _email, EMAIL_TEMPLATES, 2),
    ("ipv4", _ipv4, IP_TEMPLATES, 1),
    ("ipv6", _ipv6, IP_TEMPLATES, 1),
    ("ssn", _ssn, SSN_TEMPLATES, 1),
)


# --- hard negatives --------------------------------------------------------------------------------------
def _date(pool: FakerPool, rng: random.Random) -> tuple[str, Faker]:
    locale, faker = pool.pick(rng, "date")
    language = locale.split("_")[0]
    patterns = DATE_PATTERNS.get(language, DATE_PATTERNS["en"]) + DATE_PATTERNS["iso"]
    return faker.date_time().strftime(rng.choice(patterns)), faker


def _time(pool: FakerPool, rng: random.Random) -> tuple[str, Faker]:
    faker = pool.fakers["en_US"]
    start, end = rng.randint(6, 11), rng.randint(12, 22)
    minute = rng.choice(["00", "30", "15"])
    return rng.choice([
        faker.time("%H:%M"), faker.time("%H.%M"), faker.time("%I:%M %p"), faker.time(),
        f"{start:02d}.{minute}-{end:02d}.00", f"{start}:{minute} - {end}:00", f"{start:02d}:{minute}–{end:02d}:{minute}",
        f"{start}.{minute} - {end}.{minute}",
    ]), faker


def _price(pool: FakerPool, rng: random.Random) -> tuple[str, Faker]:
    locale, faker = pool.pick(rng, "pricetag")
    amount = rng.randint(1000, 99_999_999)
    grouped = f"{amount:,}"
    return rng.choice([
        pool.call(faker, "pricetag"), pool.call(faker, "pricetag"),
        f"{grouped.replace(',', '.')} ₫", f"{grouped.replace(',', ' ')} руб.", f"¥{grouped}", f"$ {grouped}",
        f"€ {grouped.replace(',', '.')},00", f"{grouped.replace(',', ' ')},{rng.randint(0, 99):02d} zł",
        f"R$ {grouped.replace(',', '.')},{rng.randint(0, 99):02d}", f"£{grouped}", f"{grouped.replace(',', ' ')} Ft",
    ]), faker


def _year(pool: FakerPool, rng: random.Random) -> tuple[str, Faker]:
    faker = pool.fakers["en_US"]
    first = rng.randint(1900, 2020)
    second = rng.randint(first + 1, 2025)
    return rng.choice([
        str(first), f"{first}-{second}", f"{first}–{second}", f"{first} - {second}", f"{first}/{str(second)[2:]}",
        f"{first}, {second}", f"{first}/{second}",
    ]), faker


def _zip(pool: FakerPool, rng: random.Random) -> tuple[str, Faker]:
    locale, faker = pool.pick(rng, "postcode")
    if locale == "en_US" and rng.random() < 0.5:
        return f"{faker.city()}, {faker.state_abbr()} {faker.zipcode_plus4()}", faker
    return f"{faker.postcode()} {faker.city()}", faker


def _street(pool: FakerPool, rng: random.Random) -> tuple[str, Faker]:
    locale, faker = pool.pick(rng, "address")
    return (faker.address() if rng.random() < 0.5 else faker.street_address()).replace("\n", ", "), faker


def _isbn(pool: FakerPool, rng: random.Random) -> tuple[str, Faker]:
    faker = pool.fakers["en_US"]
    value = faker.isbn13() if rng.random() < 0.6 else faker.isbn10()
    return (value.replace("-", "") if rng.random() < 0.3 else value), faker


def _order(pool: FakerPool, rng: random.Random) -> tuple[str, Faker]:
    faker = pool.fakers["en_US"]
    return rng.choice([
        faker.bothify("###-#######-#######"), faker.numerify("##########"), faker.numerify("########"),
        faker.ean13(), faker.ean8(), faker.upc_a(), faker.bothify("INV-20##-#####"), faker.numerify("#### #### ####"),
        faker.bothify("1Z###E########"), faker.numerify("9400 1000 0000 #### #### ##"), faker.numerify("#######-##"),
    ]), faker


def _version(pool: FakerPool, rng: random.Random) -> tuple[str, Faker]:
    faker = pool.fakers["en_US"]
    return rng.choice([
        faker.numerify("%.#.##"), faker.numerify("%#.%.%####.%##"), faker.numerify("v%.%#.%"), faker.user_agent(),
        faker.numerify("%.%.%.%##"), faker.numerify("Android %#"), faker.numerify("%#.%.%###.%##-1"),
    ]), faker


NEGATIVES: tuple[tuple[str, Callable], ...] = (
    ("date", _date), ("time", _time), ("price", _price), ("year", _year), ("zip", _zip), ("street", _street),
    ("isbn", _isbn), ("order", _order), ("version", _version),
)


def build(texts: list[str], seed: int = 0, max_snippets: int = 5, positive_share: float = 0.55) -> list[LabelledDoc]:
    """One labelled document per base text, with Faker's values in sentences."""
    pool = FakerPool(seed)
    kinds = [entry for entry in POSITIVES for _ in range(entry[3])]

    def make_snippet(rng: random.Random) -> tuple[str, list[Label]]:
        if rng.random() < positive_share:
            kind, make, templates, _ = rng.choice(kinds)
            value, variant, locale, *wrap = make(pool, rng)  # wrap: "http://{}/login" around an address
            before, _ = wrap[0].split("{}") if wrap else ("", "")
            faker = pool.fakers[locale]
            template = rng.choice(templates[_language(locale, templates)])
            snippet, start = _fill(template, wrap[0].format(value) if wrap else value, faker, rng)
            start += len(before)
            return snippet, [Label(start, start + len(value), kind, variant)]
        negative, make = rng.choice(NEGATIVES)
        value, faker = make(pool, rng)
        snippet, start = _fill(rng.choice(NEGATIVE_TEMPLATES[negative]), value, faker, rng)
        return snippet, [Label(start, start + len(value), "negative", negative)]

    return insert_snippets(texts, random.Random(seed), make_snippet, max_snippets)
