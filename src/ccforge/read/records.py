"""One WARC record -> a Document, or a Drop saying why not.

Drop reasons (the `read` funnel; `in` counts every WARC record seen plus each damage):
  not_response   request, warcinfo, metadata, revisit, resource, conversion records
  not_http       a response record without an HTTP message in it
  http_status    an HTTP status other than 200
  not_html       a payload type other than the configured HTML types
  too_large      a payload over read.max_html_bytes (before or after content decoding)
  corrupt_record undecodable content encoding, or damaged gzip / WARC framing
  truncated_file the file ends inside a record
  not_warc       the file is neither WARC nor ARC (one per file)
"""

from __future__ import annotations

import io
import zlib
from typing import TYPE_CHECKING

from fastwarc.stream_io import BrotliReader, ChunkedReader, ZstdReader
from fastwarc.warc import WarcRecord, WarcRecordType

from ccforge.document import Document, Drop
from ccforge.read.charset import decode_html
from ccforge.read.sources import raise_source_error

if TYPE_CHECKING:
    from ccforge.read.reader import ReadConfig, WarcSplit

SNIFF_BYTES = 1024
# Document metadata: where the record starts in its file (the gzip member's offset; for
# records sharing one member, plus their distance into it). With the file, it tells two
# copies of one record apart (a WARC given twice, or concatenated with itself).
RECORD_OFFSET = "record_offset"
_HTML_MARKS = (b"<!doctype html", b"<html", b"<head", b"<body")


class TruncatedRecord(Exception):
    """The file ended inside this record."""


class CorruptRecord(Exception):
    """The record's bytes cannot be decoded."""


def record_outcome(record: WarcRecord, split: WarcSplit, config: ReadConfig) -> Document | Drop:
    """Turn a fastwarc record (iterated with parse_http=False) into a Document or a Drop.

    Raises TruncatedRecord when the payload is cut short, so the caller can end the file.
    """
    if record.record_type != WarcRecordType.response:
        _consume(record)
        return Drop("not_response")
    if not record.is_http:
        _consume(record)
        return Drop("not_http")
    record.parse_http(quirks_mode=True)  # ClueWeb09-style bare-LF headers
    http = record.http_headers
    if http.status_code != 200:
        _consume(record)
        return Drop("http_status")
    mime = payload_type(record.headers.get("WARC-Identified-Payload-Type"), record.http_content_type)
    if mime is not None and mime not in config.html_types:
        _consume(record)
        return Drop("not_html")
    if record.content_length > config.max_html_bytes:
        _consume(record)
        return Drop("too_large")
    payload = _read_payload(record)
    if len(payload) < record.content_length:
        raise TruncatedRecord
    try:
        payload = decode_http_payload(payload, http, config.max_html_bytes)
    except CorruptRecord:
        return Drop("corrupt_record")
    if payload is None:
        return Drop("too_large")
    if mime is None and not looks_like_html(payload):
        return Drop("not_html")
    return Document(
        id=record.headers.get("WARC-Record-ID", ""),
        url=target_uri(record.headers.get("WARC-Target-URI", "")),
        date=record.headers.get("WARC-Date", ""),
        dump=split.dump,
        file_path=split.url,
        html=decode_html(payload, record.http_charset),
    )


def payload_type(identified: str | None, http_content_type: str | None) -> str | None:
    """The payload's MIME type: Common Crawl's detected type first, else the server's."""
    for value in (identified, http_content_type):
        if value:
            mime = value.split(";", 1)[0].strip().lower()
            if mime:
                return mime
    return None


def decode_http_payload(payload: bytes, http_headers, max_bytes: int) -> bytes | None:
    """Undo chunked transfer and content encodings (crawlers other than Common Crawl keep
    them). None when the decoded payload exceeds max_bytes."""
    transfer = (http_headers.get("Transfer-Encoding") or "").lower()
    if "chunked" in transfer:
        try:
            payload = ChunkedReader(io.BytesIO(payload)).read()
        except OSError:
            pass  # labelled chunked but stored de-chunked, as many WARC writers do
    encoding = (http_headers.get("Content-Encoding") or "").strip().lower()
    if encoding in ("", "identity", "none"):
        return payload
    try:
        if encoding in ("gzip", "x-gzip", "deflate"):
            decoded = _inflate(payload, max_bytes + 1)
        elif encoding == "br":
            decoded = BrotliReader(io.BytesIO(payload)).read(max_bytes + 1)
        elif encoding == "zstd":
            decoded = ZstdReader(io.BytesIO(payload)).read(max_bytes + 1)
        else:
            raise CorruptRecord(encoding)
    except (OSError, zlib.error) as exc:
        if looks_like_html(payload):
            return payload  # header kept, body stored decoded
        raise CorruptRecord(encoding) from exc
    return None if len(decoded) > max_bytes else decoded


def looks_like_html(payload: bytes) -> bool:
    head = payload[:SNIFF_BYTES].lstrip().lower()
    return any(mark in head for mark in _HTML_MARKS)


def target_uri(value: str) -> str:
    """WARC/1.0 writers (wget) wrap the URI in <>; WARC/1.1 does not."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        return value[1:-1]
    return value


def _inflate(payload: bytes, max_length: int) -> bytes:
    # gzip or zlib header (wbits 32+), else raw deflate as some servers send for "deflate".
    try:
        return zlib.decompressobj(zlib.MAX_WBITS | 32).decompress(payload, max_length)
    except zlib.error:
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(payload, max_length)


def _read_payload(record: WarcRecord) -> bytes:
    """The payload up to its declared length and no further: a read past it makes fastwarc
    inflate the next gzip member, and the reader takes that as a record running into it."""
    parts, left = [], record.content_length
    while left > 0:
        chunk = record.reader.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _consume(record: WarcRecord) -> None:
    """Skip the record's block, noticing when the file ends inside it."""
    if record.reader.consume() < record.content_length:
        raise TruncatedRecord


def warcio_outcomes(stream, split: WarcSplit, config: ReadConfig):
    """ARC files (Common Crawl before 2013), which fastwarc does not read, through warcio."""
    from warcio.archiveiterator import ArchiveIterator as WarcioIterator

    try:
        records = WarcioIterator(stream, arc2warc=True)
        for record in records:
            outcome = _warcio_outcome(record, split, config)
            if isinstance(outcome, Document):
                outcome.metadata[RECORD_OFFSET] = records.get_record_offset()
            yield outcome
    except Exception:  # warcio raises its own and zlib errors on damage
        raise_source_error(stream)
        yield Drop("corrupt_record")


def _warcio_outcome(record, split: WarcSplit, config: ReadConfig) -> Document | Drop:
    if record.rec_type != "response":
        return Drop("not_response")
    if record.http_headers is None:
        return Drop("not_http")
    if record.http_headers.get_statuscode() != "200":
        return Drop("http_status")
    headers = record.rec_headers
    content_type = record.http_headers.get_header("Content-Type") or ""
    mime = payload_type(headers.get_header("WARC-Identified-Payload-Type"), content_type)
    if mime is not None and mime not in config.html_types:
        return Drop("not_html")
    payload = record.content_stream().read(config.max_html_bytes + 1)  # de-chunked, decoded
    if len(payload) > config.max_html_bytes:
        return Drop("too_large")
    if mime is None and not looks_like_html(payload):
        return Drop("not_html")
    charset = None
    if "charset=" in content_type.lower():
        charset = content_type.lower().split("charset=", 1)[1].split(";")[0].strip()
    return Document(
        id=headers.get_header("WARC-Record-ID") or "",
        url=target_uri(headers.get_header("WARC-Target-URI") or ""),
        date=headers.get_header("WARC-Date") or "",
        dump=split.dump,
        file_path=split.url,
        html=decode_html(payload, charset),
    )
