"""Gzip members that begin WARC records: how a split finds where to start.

Common Crawl compresses every record as its own gzip member, so any member start is a
place to begin reading. A byte range owns the records whose member starts inside it; to
find the first one, scan for the gzip magic and keep the first candidate that really
decompresses to b"WARC/" (the magic bytes also occur by chance inside compressed data).
"""

from __future__ import annotations

import re
import zlib
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_MAGIC = b"WARC/"
PROBE_BYTES = 8192  # enough compressed input to decompress a record's first bytes
SCAN_BYTES = 1 << 20
HEAD_BYTES = 1 << 20  # how far plan_splits looks for the end of the first member
MAX_FIRST_RECORD = 8 << 20  # ...and how much of it it inflates
_CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d+)", re.IGNORECASE | re.MULTILINE)


def gunzip_head(data: bytes, size: int = len(WARC_MAGIC)) -> bytes | None:
    """The first `size` decompressed bytes of the gzip member at the start of `data`,
    or None when it is not a valid gzip member."""
    try:
        return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(data, size)
    except zlib.error:
        return None


def starts_record(data: bytes) -> bool:
    """Whether `data` begins a gzip member whose content begins a WARC record (some
    writers put the previous record's closing CRLFs first)."""
    head = gunzip_head(data, 16)
    return head is not None and head.lstrip(b"\r\n").startswith(WARC_MAGIC)


def first_member_length(head: bytes) -> int | None:
    """Compressed length of the first gzip member in `head` when it ends within it and
    holds exactly one whole WARC record: the sign of a per-record-gzip file. None for
    whole-file gzip, records split over members, or a member too large to tell."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        record = inflater.decompress(head, MAX_FIRST_RECORD)
    except zlib.error:
        return None
    if not inflater.eof or not _is_one_record(record):
        return None
    return len(head) - len(inflater.unused_data)


def _is_one_record(data: bytes) -> bool:
    header_end = data.find(b"\r\n\r\n")
    if not data.startswith(WARC_MAGIC) or header_end < 0:
        return False
    length = _CONTENT_LENGTH.search(data, 0, header_end)
    if length is None:
        return False
    block_end = header_end + 4 + int(length.group(1))
    return len(data) >= block_end and not data[block_end:].strip(b"\r\n")


def find_record_member(stream: BinaryIO, start: int, end: int | None) -> int | None:
    """Offset of the first gzip member in [start, end) that begins a WARC record, or None."""
    stream.seek(start)
    base, buffer, searched, at_eof = start, b"", 0, False
    while True:
        hit = buffer.find(GZIP_MAGIC, searched)
        if hit >= 0:
            offset = base + hit
            if end is not None and offset >= end:
                return None
            if len(buffer) - hit < PROBE_BYTES and not at_eof:
                chunk = stream.read(SCAN_BYTES)
                at_eof = not chunk
                buffer += chunk
                continue
            if starts_record(buffer[hit : hit + PROBE_BYTES]):
                return offset
            searched = hit + 1
            continue
        if at_eof or (end is not None and base + len(buffer) >= end + len(GZIP_MAGIC)):
            return None
        keep = len(GZIP_MAGIC) - 1  # a magic split across two reads
        base += max(0, len(buffer) - keep)
        buffer = buffer[-keep:] if len(buffer) >= keep else buffer
        searched = 0
        chunk = stream.read(SCAN_BYTES)
        at_eof = not chunk
        buffer += chunk


def record_member_between(stream: BinaryIO, start: int, end: int) -> bool:
    """Whether a gzip member starting in [start, end) begins a WARC record. Reads only that
    range (plus a probe), unlike find_record_member: a record may span many members."""
    stream.seek(start)
    data = stream.read(max(0, end - start) + PROBE_BYTES)
    hit = data.find(GZIP_MAGIC)
    while 0 <= hit < end - start:
        if starts_record(data[hit : hit + PROBE_BYTES]):
            return True
        hit = data.find(GZIP_MAGIC, hit + 1)
    return False


def ends_cut(tail: bytes) -> bool:
    """Whether the gzip members in `tail` (from a member start to the end of the file) stop
    before their end: the file was cut short. Output is discarded, chunk by chunk."""
    while tail:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            chunk = tail
            while chunk and not inflater.eof:
                inflater.decompress(chunk, 1 << 20)
                chunk = inflater.unconsumed_tail
            inflater.flush()
        except zlib.error:
            return False  # damage, not a cut; reading already reported it
        if not inflater.eof:
            return True
        tail = inflater.unused_data
    return False
