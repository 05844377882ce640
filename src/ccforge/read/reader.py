"""Streaming WARC reader: one byte range of one WARC -> Documents or Drops.

INTERFACE (the pipeline calls exactly these):
  ReadConfig                      settings under `read:` in the config
  WarcSplit(url, start, end, dump)
  plan_splits(url, config, min_splits, dump="") -> list[WarcSplit]
  read_split(split, config) -> Iterator[Document | Drop]

Splitting: a Common Crawl WARC gzips every record as its own member, so `plan_splits`
cuts it into byte ranges and a split owns the records whose gzip member *starts* in
[start, end): it seeks to `start`, skips to the first member that really begins a WARC
record, and stops at the first record starting at or after `end`. Every record is read
exactly once across a file's splits. Whole-file gzip, uncompressed, zstd and ARC files
are one split.

Counting: every record yields exactly one item, so the funnel's `in` is the number of
WARC records seen (request, warcinfo and metadata records are `Drop("not_response")`),
plus one `Drop` per damage found. The reasons are listed in `ccforge.read.records`.

Damage never raises: the records read so far stay, the damage yields
`Drop("corrupt_record")` or `Drop("truncated_file")`, and a per-record-gzip file resumes
at the next intact record member (an uncompressed or whole-file-gzip one ends there).
A record whose Content-Length runs into the next record's member is damage too: it is
`corrupt_record` and reading goes on at that member, so the next record is not lost.
What does raise is an input that cannot be opened or fetched (after `retries` retries
for http): a one-line `ReadError` naming it, so the runner can retry or report it.

Pages larger than `max_html_bytes` are dropped (`too_large`), not truncated: Common
Crawl already cuts payloads at 1 MiB, so a larger one is rarely a page worth keeping.
"""

from __future__ import annotations

import io
import math
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from fastwarc.stream_io import GzipReader
from fastwarc.warc import ArchiveIterator

from ccforge.document import Document, Drop
from ccforge.read.errors import ReadError
from ccforge.read.members import (
    GZIP_MAGIC,
    HEAD_BYTES,
    PROBE_BYTES,
    WARC_MAGIC,
    ends_cut,
    find_record_member,
    first_member_length,
    gunzip_head,
    record_member_between,
)
from ccforge.read.records import RECORD_OFFSET, TruncatedRecord, record_outcome, warcio_outcomes
from ccforge.read.sources import input_size, open_input, raise_source_error

__all__ = ["ReadConfig", "ReadError", "WarcSplit", "plan_splits", "read_split", "sized_splits"]

MiB = 1 << 20
ARC_MAGIC = b"filedesc://"
TAIL_CHECK_BYTES = 8 * MiB  # whole-file gzip beyond this skips the tail check
# Compressions fastwarc detects on its own (zstd, lz4): read whole, never split.
_OTHER_MAGICS = (b"\x28\xb5\x2f\xfd", b"\x04\x22\x4d\x18")


@dataclass
class ReadConfig:
    enabled: bool = True
    max_html_bytes: int = 4 * MiB  # larger payloads are dropped as too_large
    html_types: list[str] = field(default_factory=lambda: ["text/html", "application/xhtml+xml"])
    split_min_bytes: int = 1 * MiB  # no split smaller than this (each costs a seek and a probe)
    split_max_bytes: int = 128 * MiB  # no split larger, however few workers there are
    retries: int = 5  # http(s): failed attempts in a row before giving up
    backoff_s: float = 1.0  # first retry delay; doubles each time (60 s at most)
    timeout_s: float = 60.0  # http(s): a socket silent this long counts as a failure
    cc_base_url: str = "https://data.commoncrawl.org/"  # where crawl ids are resolved


@dataclass(frozen=True)
class WarcSplit:
    url: str
    start: int
    end: int | None  # None: to the end of the file
    dump: str = ""


def plan_splits(url: str, config: ReadConfig, min_splits: int, dump: str = "") -> list[WarcSplit]:
    """Byte ranges of one WARC, about size/min_splits each, within the configured bounds."""
    return sized_splits(url, config, min_splits, dump)[1]


def sized_splits(url: str, config: ReadConfig, min_splits: int, dump: str = "") -> tuple[int, list[WarcSplit]]:
    """(size of the WARC in bytes, its byte ranges) as `plan_splits` cuts them."""
    size = input_size(url, config)
    pieces = split_count(size, min_splits, config)
    if pieces > 1 and not _is_record_gzip(url, size, config):
        pieces = 1
    starts = [size * i // pieces for i in range(pieces)]
    ends: list[int | None] = [*starts[1:], None]
    return size, [WarcSplit(url, start, end, dump) for start, end in zip(starts, ends, strict=True)]


def split_count(size: int, min_splits: int, config: ReadConfig) -> int:
    """At least min_splits, more when splits would exceed split_max_bytes, fewer when they
    would fall under split_min_bytes."""
    pieces = max(min_splits, math.ceil(size / max(1, config.split_max_bytes)))
    return max(1, min(pieces, size // max(1, config.split_min_bytes)))


def read_split(split: WarcSplit, config: ReadConfig, position=None) -> Iterator[Document | Drop]:
    """Documents (HTML 200 responses) and Drops of the records this split owns.

    `position`, when given, is called with the input's read position after each item
    (for progress: it runs ahead of the records by what the buffers hold)."""
    with open_input(split.url, config) as stream:
        for item in _read_stream(stream, split, config):
            if position is not None:
                position(stream.tell())
            yield item


def _is_record_gzip(url: str, size: int, config: ReadConfig) -> bool:
    """Whether the file's first gzip member holds a WARC record and ends within the first
    MiB (per-record gzip: Common Crawl's first record is a small warcinfo)."""
    with open_input(url, config) as stream:
        head = stream.read(HEAD_BYTES)
    length = first_member_length(head)
    return length is not None and length < size


def _read_stream(stream: BinaryIO, split: WarcSplit, config: ReadConfig) -> Iterator[Document | Drop]:
    first = 0
    if split.start > 0:
        found = find_record_member(stream, split.start, split.end)
        if found is None:
            return
        first = found
    stream.seek(first)
    head = stream.read(PROBE_BYTES)
    if not head:
        return
    kind = _sniff(head)
    if kind != "gzip" and split.start > 0:
        return  # only gzip files are split; the split at 0 reads the rest
    stream.seek(first)
    if kind == "gzip":
        yield from _read_records(stream, first, split, config, record_gzip=True)
    elif kind == "warc":
        yield from _read_records(stream, first, split, config, record_gzip=False)
    elif kind == "arc":
        yield from warcio_outcomes(stream, split, config)
    else:
        yield Drop("not_warc")


def _sniff(head: bytes) -> str:
    if head.startswith(GZIP_MAGIC):
        inner = (gunzip_head(head, 16) or b"").lstrip(b"\r\n")
        if inner.startswith(WARC_MAGIC):
            return "gzip"  # per-record or whole-file: read the same way
        return "arc" if inner.startswith(ARC_MAGIC) else "unknown"
    if head.startswith(WARC_MAGIC) or head.startswith(_OTHER_MAGICS):
        return "warc"
    return "arc" if head.startswith(ARC_MAGIC) else "unknown"


def _read_records(
    stream: BinaryIO, first: int, split: WarcSplit, config: ReadConfig, record_gzip: bool
) -> Iterator[Document | Drop]:
    """fastwarc over the stream from `first`; after damage in a gzip file, go on at the next
    intact record member (the same rule a split uses to find its start)."""
    restart: int | None = first
    while restart is not None:
        restart = yield from _read_pass(stream, restart, split, config, record_gzip)


def _read_pass(
    stream: BinaryIO, start: int, split: WarcSplit, config: ReadConfig, record_gzip: bool
) -> Generator[Document | Drop, None, int | None]:
    """Read from a record start to the split's end, the file's end or damage; returns where
    to resume after damage (None: done)."""
    stream.seek(start)
    gzip = GzipReader(stream) if record_gzip else None
    records = iter(ArchiveIterator(gzip or stream, parse_http=False, quirks_mode=True))
    cursor = start  # gzip member start of the latest record
    member = (None, 0)  # (member start, stream_pos of its first record): offsets inside a member
    while True:
        try:
            record = next(records)
        except StopIteration:
            if gzip is None:
                return None
            return (yield from _stopped(stream, split, _member_start(gzip, cursor)))
        except Exception:  # fastwarc raises OSError/ValueError on bad framing
            raise_source_error(stream)
            if gzip is None:
                yield Drop("corrupt_record")
                return None
            return (yield from _damaged(stream, split, max(cursor, _member_start(gzip, cursor))))
        if gzip is not None:
            cursor = _member_start(gzip, cursor)
            if split.end is not None and cursor >= split.end:
                return None
        try:
            outcome = record_outcome(record, split, config)
        except TruncatedRecord:  # the payload stops short: a cut file, or damage mid-file
            if gzip is None or find_record_member(stream, cursor + 1, None) is None:
                yield Drop("truncated_file")
                return None
            return (yield from _damaged(stream, split, cursor))
        except Exception:
            raise_source_error(stream)
            if gzip is None:
                yield Drop("corrupt_record")
                return None
            return (yield from _damaged(stream, split, cursor))
        if gzip is not None and _ran_into_next_record(stream, gzip, cursor):
            return (yield from _damaged(stream, split, cursor))  # its outcome is garbage
        if isinstance(outcome, Document):
            if gzip is None:
                outcome.metadata[RECORD_OFFSET] = record.stream_pos
            else:
                if member[0] != cursor:
                    member = (cursor, record.stream_pos)
                outcome.metadata[RECORD_OFFSET] = cursor + record.stream_pos - member[1]
        yield outcome


def _damaged(stream: BinaryIO, split: WarcSplit, position: int) -> Generator[Drop, None, int | None]:
    """Count damage in the member at `position` and find the next record member to read."""
    if _owns_damage(stream, split, position):
        yield Drop("corrupt_record")
    if split.end is not None and position >= split.end:
        return None
    return find_record_member(stream, position + 1, split.end)


def _stopped(stream: BinaryIO, split: WarcSplit, last: int) -> Generator[Drop, None, int | None]:
    """fastwarc ended quietly in the member at `last`: the end of the file, a cut in the
    last member, or damage it could not frame with records after it."""
    size = stream.seek(0, io.SEEK_END)
    if size - last > TAIL_CHECK_BYTES:
        return None  # whole-file gzip: too costly to read twice
    if find_record_member(stream, last + 1, None) is not None:
        return (yield from _damaged(stream, split, last))
    stream.seek(last)
    if ends_cut(stream.read()) and _owns_damage(stream, split, last):
        yield Drop("truncated_file")
    return None


def _owns_damage(stream: BinaryIO, split: WarcSplit, position: int) -> bool:
    """Damage found at `position` past this split's end is counted here only if the split
    holding it will not see it: that one starts reading at `position` exactly when a
    record member begins there."""
    if split.end is None or position < split.end:
        return True
    return find_record_member(stream, split.end, position + 1) != position


def _ran_into_next_record(stream: BinaryIO, gzip: GzipReader, cursor: int) -> bool:
    """Whether the record read from the member at `cursor` took bytes of a later member that
    begins a record (a Content-Length too long): left alone, the next record would be lost.
    A record gzipped as several members (no record starts among them) is fine."""
    now = _member_start(gzip, cursor)
    if now <= cursor:
        return False
    position = stream.tell()
    try:
        return record_member_between(stream, cursor + 1, now + 1)
    finally:
        stream.seek(position)  # fastwarc goes on reading from here when the record is fine


def _member_start(gzip: GzipReader | None, default: int) -> int:
    if gzip is None:
        return default
    position = gzip.frame_start_position()
    return default if position is None else position
