"""Charset sniffing: every page decodes, by the best evidence there is."""

from __future__ import annotations

import codecs

import pytest

from ccforge.read.charset import codec_name, decode_html, meta_charset

RUSSIAN = "Москва - столица России, город федерального значения и центр Московской области. " * 3
JAPANESE = "東京は日本の首都であり、世界最大級の都市圏を形成している。" * 4
FRENCH = "Le café est une boisson très populaire en France, où l'on déguste un crème."


def html(body: str, head: str = "") -> str:
    return f"<html><head>{head}<title>t</title></head><body><p>{body}</p></body></html>"


def test_http_header_charset_wins_over_a_wrong_meta():
    page = html(RUSSIAN, '<meta charset="iso-8859-2">').encode("cp1251")
    assert decode_html(page, "windows-1251") == html(RUSSIAN, '<meta charset="iso-8859-2">')


@pytest.mark.parametrize(
    "head",
    [
        '<meta charset="shift_jis">',
        "<META HTTP-EQUIV='Content-Type' CONTENT='text/html; charset=Shift_JIS'>",
        '<meta content="text/html;charset=x-sjis" http-equiv="content-type">',
    ],
)
def test_meta_charset_and_http_equiv(head):
    page = html(JAPANESE, head).encode("shift_jis")
    assert decode_html(page) == html(JAPANESE, head)


def test_detection_when_nothing_is_declared():
    for text, encoding in ((RUSSIAN, "koi8-r"), (RUSSIAN, "cp1251"), (JAPANESE, "euc-jp"), (FRENCH * 3, "cp1252")):
        assert decode_html(html(text).encode(encoding)) == html(text), encoding


def test_valid_utf8_beats_a_latin1_default_header():
    page = html(FRENCH).encode("utf-8")
    assert decode_html(page, "iso-8859-1") == html(FRENCH)


def test_wrong_utf8_declaration_falls_back_to_what_decodes():
    page = html(FRENCH * 3, '<meta charset="utf-8">').encode("cp1252")
    assert decode_html(page) == html(FRENCH * 3, '<meta charset="utf-8">')


def test_undecodable_bytes_become_replacement_characters():
    page = html(FRENCH * 3).encode("utf-8") + b"<!-- \xff\xfe\x80 -->"
    text = decode_html(page, "utf-8")
    assert FRENCH in text and "\ufffd" in text
    for junk in (b"\xff" * 50, bytes(range(256)) * 4, b"\x81\x8d\x8f\x90\x9d" * 20):
        assert isinstance(decode_html(junk), str)  # never raises, whatever the bytes


def test_byte_order_marks_and_wide_encodings():
    assert decode_html(codecs.BOM_UTF8 + html(FRENCH).encode()) == html(FRENCH)
    assert decode_html(html(RUSSIAN).encode("utf-16")) == html(RUSSIAN)  # with its BOM
    jis = html(JAPANESE, '<meta charset="iso-2022-jp">')
    assert decode_html(jis.encode("iso2022_jp")) == jis  # 7-bit: would pass as UTF-8


def test_unknown_labels_are_ignored():
    assert decode_html(html(FRENCH).encode(), "x-no-such-charset") == html(FRENCH)
    assert codec_name("no-such") is None and codec_name(None) is None
    assert codec_name("ISO-8859-1") == "cp1252"  # as browsers read it
    assert codec_name(" 'UTF8' ") == "utf-8"


def test_meta_charset_only_looks_near_the_top():
    assert meta_charset(b'<meta charset="koi8-r">') == "koi8-r"
    assert meta_charset(b" " * 5000 + b'<meta charset="koi8-r">') is None
