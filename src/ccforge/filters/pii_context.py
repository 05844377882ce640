"""Words before a number that say what it is: a phone, a card, or some other identifier.

Used where the digits alone cannot tell ("0739150008" is a phone after "Tel.", an order
after "Order #"). The nearest such word before the number, on its own line and within
`LABEL_WINDOW` characters, decides.
"""

from __future__ import annotations

import re

# Phone words in the languages of a multilingual crawl, and single letters used so in
# footers ("T: ...", "M: ...").
PHONE_WORDS = re.compile(
    r"(?i)(?:\b(?:tel|tél|tlf|tfn|telephone|téléphone|telefon|telefono|teléfono|telefone|telefoon|puh|puhelin|"
    r"tele|teléf|telf|tfno|phone|ph|call|ring|dial|reach|reached|rufen|erreichbar|joignable|llamar|llámenos|chiamare|"
    r"fax|mobile?|mobil|mobiel|mob|móvil|movil|cell|cellphone|cellulare|celular|cel|handy|"
    r"portable|gsm|hotline|helpline|whatsapp|viber|sms|contact|kontakt|contacto|contatto|ruf|anrufen|appelez|"
    r"appeler|llámanos|llame|ligue|chiamaci|chiama|bel|zadzwoń|kom|тел|телефон|телефону|моб|факс|звоните|"
    r"telp|hp|sđt|đt|điện thoại|τηλ|arayın|טלפון|هاتف|جوال|اتصل|تلفن)\b"
    r"|(?<![A-Za-z])[TMF](?=[ \u00a0]?:)"
    r"|电话|電話|手机|手機|联系|聯繫|热线|咨询|携帯|問い合わせ|お問合せ|전화|휴대폰|문의|फ़ोन|फोन|मोबाइल|โทร)"
)
CARD_WORDS = re.compile(
    r"(?i)(?:\b(?:card|cards|cc|credit|debit|visa|mastercard|amex|maestro|karte|kreditkarte|carte|tarjeta|"
    r"cartão|carta|kaart|karta|карта|карты|картка)\b|卡号|银行卡|信用卡|カード|카드)"
)
# Words that name some other identifier.
OTHER_ID_WORDS = re.compile(
    r"(?i)(?:\b(?:isbn(?:-1[03])?|issn|doi|pmid|arxiv|eprint|patent|sku|upc|ean|gtin|iban|bic|swift|order|orders|"
    r"invoice|inv|ref|reference|tracking|ticket|case|serial|s/n|model|part|item|id|art\.?-nr|artikel|"
    r"bestellnummer|bestell-nr|auftrag|rechnung|kundennummer|commande|facture|référence|pedido|factura|ordine|"
    r"fattura|заказ|счёт|счет|pp|pages?|vol|account|konto|compte|cuenta|vin|imei|lot|batch|version|v|firmware|build|"
    r"release|iso|din|zip|postcode|postal|plz|cep)\b|订单|单号|编号|注文)"
)
LABEL_WINDOW = 40
LABELS = {"phone": PHONE_WORDS, "card": CARD_WORDS, "other": OTHER_ID_WORDS}


def nearest_label(text: str, start: int, kinds: tuple[str, ...] = ("phone", "other")) -> str | None:
    """Which of `kinds` ("phone", "card", "other") has the word nearest before `start`."""
    line_start = text.rfind("\n", 0, start) + 1
    window_start = max(line_start, start - LABEL_WINDOW)
    best, best_end = None, -1
    for kind in kinds:
        for match in LABELS[kind].finditer(text, window_start, start):
            if match.end() > best_end:
                best, best_end = kind, match.end()
    return best
