"""The WARC reader: records -> Documents/Drops, splits, damage. Local files only."""

from __future__ import annotations

import gzip
import re
import uuid
import zlib
from collections import Counter
from pathlib import Path

import brotli
import pytest
import zstandard

from ccforge.document import Document, Drop
from ccforge.read.reader import (
    ReadConfig,
    ReadError,
    WarcSplit,
    plan_splits,
    read_split,
)

DATA = Path(__file__).parent / "data" / "read"
WARCFILE = DATA / "warcfile.warc.gz"  # 50 records, per-record gzip, 16 HTML 200 responses
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BENCH = SHARED / "bench" / "bench-pages.warc.gz"
SHARED_WARCS = SHARED / "warc"


def needs(path: Path):
    return pytest.mark.skipif(not path.exists(), reason=f"needs shared test data at {path} (absent here)")


# ---- building small WARCs --------------------------------------------------------------


def http_response(
    body: bytes, status: str = "200 OK", content_type: str | None = "text/html", headers: tuple = ()
) -> bytes:
    lines = [f"HTTP/1.1 {status}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines += list(headers) + [f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def warc_record(
    block: bytes,
    warc_type: str = "response",
    uri: str = "http://example.com/",
    version: str = "1.1",
    content_type: str = "application/http; msgtype=response",
    headers: tuple = (),
    record_id: str | None = None,
) -> bytes:
    lines = [
        f"WARC/{version}",
        f"WARC-Type: {warc_type}",
        f"WARC-Record-ID: {record_id or f'<urn:uuid:{uuid.uuid4()}>'}",
        "WARC-Date: 2024-02-20T21:10:55Z",
        f"WARC-Target-URI: {uri}",
        f"Content-Type: {content_type}",
        *headers,
        f"Content-Length: {len(block)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + block + b"\r\n\r\n"


def page(n: int, body: bytes | None = None) -> bytes:
    html = body or f"<html><body><p>page {n} {'text ' * 50}</p></body></html>".encode()
    return warc_record(http_response(html), uri=f"http://example.com/{n}", record_id=f"<urn:uuid:page-{n}>")


def record_gzip(records: list[bytes]) -> bytes:
    return b"".join(gzip.compress(record) for record in records)


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def outcomes(url: str, config: ReadConfig | None = None, min_splits: int = 1, dump: str = "") -> list:
    config = config or ReadConfig(split_min_bytes=1)
    found = []
    for split in plan_splits(url, config, min_splits, dump):
        found.extend(read_split(split, config))
    return found


def summary(found: list) -> tuple[Counter, Counter]:
    """(documents per id, drops per reason)."""
    ids = Counter(o.id for o in found if isinstance(o, Document))
    reasons = Counter(o.reason for o in found if isinstance(o, Drop))
    return ids, reasons


def members(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of every gzip member."""
    spans, offset = [], 0
    while offset < len(data):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        inflater.decompress(data[offset:])
        length = len(data) - offset - len(inflater.unused_data)
        spans.append((offset, length))
        offset += length
    return spans


# ---- reading -----------------------------------------------------------------------------


def test_reads_the_html_200_responses_of_a_common_crawl_warc():
    found = outcomes(str(WARCFILE))
    ids, reasons = summary(found)
    assert len(ids) == 16 and max(ids.values()) == 1
    assert reasons == Counter({"not_response": 34})  # warcinfo, request, metadata records
    doc = next(o for o in found if isinstance(o, Document))
    assert doc.id.startswith("<urn:uuid:") and doc.url.startswith("http")
    assert doc.date.startswith("2020-08-") and doc.file_path == str(WARCFILE)
    assert "<html" in doc.html.lower() and isinstance(doc.html, str)


def test_dump_comes_from_the_split():
    found = outcomes(str(WARCFILE), dump="CC-MAIN-2020-34")
    assert {o.dump for o in found if isinstance(o, Document)} == {"CC-MAIN-2020-34"}


def test_drops_say_why(tmp_path):
    records = [
        warc_record(b"software: test\r\n", "warcinfo", content_type="application/warc-fields"),
        warc_record(b"GET / HTTP/1.1\r\n\r\n", "request", content_type="application/http; msgtype=request"),
        page(1),
        warc_record(http_response(b"<html>gone</html>", "404 Not Found")),
        warc_record(http_response(b"\x89PNG....", content_type="image/png")),
        # Common Crawl's detected type wins over the server's label
        warc_record(http_response(b"%PDF-1.4"), headers=("WARC-Identified-Payload-Type: application/pdf",)),
        warc_record(http_response(b"<html>ok</html>", content_type="application/octet-stream"),
                    headers=("WARC-Identified-Payload-Type: text/html",)),
        warc_record(b"<html>no http</html>", content_type="text/html"),
        warc_record(http_response(b"<html>" + b"x" * 5000 + b"</html>")),
        warc_record(b"{}", "metadata", content_type="application/warc-fields"),
    ]
    config = ReadConfig(max_html_bytes=4000)
    ids, reasons = summary(outcomes(write(tmp_path / "a.warc.gz", record_gzip(records)), config))
    assert len(ids) == 2
    assert reasons == Counter(
        {"not_response": 3, "http_status": 1, "not_html": 2, "not_http": 1, "too_large": 1}
    )


def test_warc_versions_and_compressions(tmp_path):
    records = [page(1), warc_record(http_response(b"<html>0.18</html>"), version="0.18"),
               warc_record(http_response(b"<html>1.0</html>"), version="1.0")]
    plain = write(tmp_path / "plain.warc", b"".join(records))
    whole = write(tmp_path / "whole.warc.gz", gzip.compress(b"".join(records)))
    per_record = write(tmp_path / "records.warc.gz", record_gzip(records))
    for url in (plain, whole, per_record):
        ids, reasons = summary(outcomes(url))
        assert len(ids) == 3 and not reasons, url


def test_http_encodings_and_wget_uris_are_undone(tmp_path):
    html = b"<html><body>chunked and gzipped</body></html>"
    zipped = gzip.compress(html)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(zipped), zipped)
    block = http_response(chunked, headers=("Content-Encoding: gzip", "Transfer-Encoding: chunked"))
    # ClueWeb09-style bare LF line ends in the HTTP header; wget-style <uri>
    quirk = b"HTTP/1.1 200 OK\nContent-Type: text/html\n\n<html>bare lf</html>"
    records = [warc_record(block, uri="<http://example.com/wget>"), warc_record(quirk)]
    found = [o for o in outcomes(write(tmp_path / "enc.warc.gz", record_gzip(records))) if isinstance(o, Document)]
    assert [d.html for d in found] == [html.decode(), "<html>bare lf</html>"]
    assert found[0].url == "http://example.com/wget"


@pytest.mark.parametrize("encoding", ["br", "zstd"])
def test_brotli_and_zstd_bodies_are_decoded(tmp_path, encoding):
    # compressed by the reference libraries, decoded by fastwarc's readers (a declared dependency)
    compress = brotli.compress if encoding == "br" else zstandard.ZstdCompressor().compress
    html = b"<html><body><p>" + f"{encoding} body ".encode() * 200 + b"</p></body></html>"
    bomb = b"<html><body><p>" + b"x" * 20_000 + b"</p></body></html>"  # small compressed, large decoded
    records = [
        warc_record(http_response(compress(html), headers=(f"Content-Encoding: {encoding}",)), record_id="<urn:uuid:a>"),
        # the header kept but the body stored decoded, as some crawlers do
        warc_record(http_response(html, headers=(f"Content-Encoding: {encoding}",)), record_id="<urn:uuid:b>"),
        warc_record(http_response(b"\x00\x01 not compressed", headers=(f"Content-Encoding: {encoding}",))),
        warc_record(http_response(compress(bomb), headers=(f"Content-Encoding: {encoding}",))),
    ]
    found = outcomes(write(tmp_path / "enc.warc.gz", record_gzip(records)), ReadConfig(max_html_bytes=8_000))
    docs = {o.id: o.html for o in found if isinstance(o, Document)}
    assert docs == {"<urn:uuid:a>": html.decode(), "<urn:uuid:b>": html.decode()}
    assert summary(found)[1] == Counter({"corrupt_record": 1, "too_large": 1})


def test_chunked_uncompressed_warc_fixture():
    docs = [o for o in outcomes(str(DATA / "example-iana.org-chunked.warc")) if isinstance(o, Document)]
    assert len(docs) == 1 and docs[0].html.lstrip().startswith("<!doctype html>")


def test_arc_files_are_read_through_warcio():
    found = outcomes(str(DATA / "example.arc.gz"))
    docs = [o for o in found if isinstance(o, Document)]
    assert len(docs) == 1 and docs[0].url == "http://example.com/" and "Example Domain" in docs[0].html


def test_pages_are_decoded_by_their_charset(tmp_path):
    text = "Москва — столица России"
    records = [warc_record(http_response(f"<html>{text}</html>".encode("cp1251"),
                                         content_type="text/html; charset=windows-1251"))]
    docs = [o for o in outcomes(write(tmp_path / "c.warc.gz", record_gzip(records))) if isinstance(o, Document)]
    assert docs[0].html == f"<html>{text}</html>"


def test_missing_file_is_a_one_line_read_error(tmp_path):
    missing = str(tmp_path / "nope.warc.gz")
    with pytest.raises(ReadError, match="nope.warc.gz") as error:
        list(read_split(WarcSplit(missing, 0, None), ReadConfig()))
    assert "\n" not in str(error.value)
    with pytest.raises(ReadError, match="nope.warc.gz"):
        plan_splits(missing, ReadConfig(), 4)


# ---- splits ------------------------------------------------------------------------------


def test_plan_splits_cover_the_file_without_gaps():
    size = WARCFILE.stat().st_size
    splits = plan_splits(str(WARCFILE), ReadConfig(split_min_bytes=1), 7, "CC-MAIN-2020-34")
    assert len(splits) == 7 and splits[0].start == 0 and splits[-1].end is None
    assert all(a.end == b.start for a, b in zip(splits[:-1], splits[1:], strict=True))
    assert all(s.dump == "CC-MAIN-2020-34" and s.url == str(WARCFILE) for s in splits)
    assert splits[-1].start < size


def test_split_sizes_respect_the_bounds():
    size = WARCFILE.stat().st_size
    assert len(plan_splits(str(WARCFILE), ReadConfig(split_min_bytes=50_000), 16)) == size // 50_000
    assert len(plan_splits(str(WARCFILE), ReadConfig(split_min_bytes=1, split_max_bytes=10_000), 1)) == 14
    assert len(plan_splits(str(WARCFILE), ReadConfig(), 16)) == 1  # 136 KB < 16 MiB


def test_whole_file_gzip_and_uncompressed_are_one_split(tmp_path):
    records = [page(n) for n in range(20)]
    whole = write(tmp_path / "whole.warc.gz", gzip.compress(b"".join(records)))
    plain = write(tmp_path / "plain.warc", b"".join(records))
    for url in (whole, plain):
        assert len(plan_splits(url, ReadConfig(split_min_bytes=1), 8)) == 1
        # a split someone cut anyway reads nothing past its start
        assert list(read_split(WarcSplit(url, 100, None), ReadConfig())) == []


@pytest.mark.parametrize("min_splits", [2, 3, 5, 8, 13, 40, 200, 1000])
def test_splits_read_every_record_exactly_once(min_splits):
    whole_ids, whole_reasons = summary(outcomes(str(WARCFILE), min_splits=1))
    ids, reasons = summary(outcomes(str(WARCFILE), min_splits=min_splits))
    assert ids == whole_ids and reasons == whole_reasons and max(ids.values()) == 1


def test_split_starting_inside_a_member_skips_false_gzip_magic(tmp_path):
    # A page whose stored gzip payload carries the gzip magic, so a split starting before
    # it finds 1f 8b 08 bytes that do not begin a record member.
    tricky = warc_record(http_response(b"\x1f\x8b\x08" * 300, content_type="application/gzip"))
    url = write(tmp_path / "t.warc.gz", record_gzip([page(1), tricky, page(2), tricky, page(3)]))
    for min_splits in range(2, 30):
        ids, reasons = summary(outcomes(url, min_splits=min_splits))
        assert sorted(ids) == ["<urn:uuid:page-1>", "<urn:uuid:page-2>", "<urn:uuid:page-3>"]
        assert max(ids.values()) == 1 and reasons == Counter({"not_html": 2})


def test_members_that_start_with_the_previous_records_crlf_still_split(tmp_path):
    records = [page(n) for n in range(30)]
    bodies = [r[:-4] for r in records]  # move each record's closing CRLFs into the next member
    data = gzip.compress(bodies[0]) + b"".join(gzip.compress(b"\r\n\r\n" + body) for body in bodies[1:])
    url = write(tmp_path / "crlf.warc.gz", data)
    for min_splits in (1, 4, 11):
        ids, reasons = summary(outcomes(url, min_splits=min_splits))
        assert len(ids) == 30 and max(ids.values()) == 1 and not reasons


def test_records_spread_over_members_are_not_split(tmp_path):
    # warcio's example-wrong-chunks: a record's payload in a member of its own
    records = [page(n) for n in range(10)]
    data = b"".join(gzip.compress(r[:200]) + gzip.compress(r[200:]) for r in records)
    url = write(tmp_path / "spread.warc.gz", data)
    assert len(plan_splits(url, ReadConfig(split_min_bytes=1), 4)) == 1
    ids, reasons = summary(outcomes(url, min_splits=4))
    assert len(ids) == 10 and not reasons


@needs(BENCH)
def test_bench_warc_every_page_once_across_eight_splits():
    config = ReadConfig(split_min_bytes=1 << 20)
    splits = plan_splits(str(BENCH), config, 8)
    assert len(splits) == 8
    ids, reasons = summary([o for split in splits for o in read_split(split, config)])
    assert len(ids) == 2295 and max(ids.values()) == 1
    assert reasons == Counter({"not_response": 2295})  # the request records


# ---- damage ------------------------------------------------------------------------------


def damaged(tmp_path: Path, data: bytes) -> str:
    return write(tmp_path / "damaged.warc.gz", data)


def split_invariant(url: str) -> tuple[Counter, Counter]:
    """Outcomes of a damaged file, checked to be the same however it is split."""
    expected = summary(outcomes(url, min_splits=1))
    for min_splits in (3, 8, 29):
        assert summary(outcomes(url, min_splits=min_splits)) == expected, min_splits
    return expected


def test_truncated_file_keeps_what_was_read(tmp_path):
    data = WARCFILE.read_bytes()
    spans = members(data)
    for cut in (spans[5][0] + 300, spans[-3][0] + 200, len(data) - 10):
        ids, reasons = split_invariant(damaged(tmp_path, data[:cut]))
        assert reasons["truncated_file"] == 1 and reasons["corrupt_record"] == 0
        assert sum(ids.values()) + sum(reasons.values()) > 0


def test_clipped_payload_is_truncated_file(tmp_path):
    data = WARCFILE.read_bytes()
    offset, length = members(data)[2]  # the first response
    ids, reasons = summary(outcomes(damaged(tmp_path, data[: offset + length // 2])))
    assert not ids and reasons == Counter({"not_response": 2, "truncated_file": 1})


def test_corrupt_member_is_counted_and_reading_goes_on(tmp_path):
    data = bytearray(WARCFILE.read_bytes())
    offset, length = members(bytes(data))[5]  # the second response
    data[offset + length // 2] ^= 0xFF
    ids, reasons = split_invariant(damaged(tmp_path, bytes(data)))
    assert len(ids) == 15 and reasons == Counter({"not_response": 34, "corrupt_record": 1})


def test_garbage_between_members_is_counted_once(tmp_path):
    data = WARCFILE.read_bytes()
    offset = members(data)[3][0]
    for garbage in (b"garbage" * 10, b"\x1f\x8b\x08junk" * 10, b"\0" * 64):
        ids, reasons = split_invariant(damaged(tmp_path, data[:offset] + garbage + data[offset:]))
        assert len(ids) == 16 and reasons == Counter({"not_response": 34, "corrupt_record": 1})


def with_length(record: bytes, extra: int) -> bytes:
    """The record with its WARC Content-Length `extra` bytes too long."""
    length = int(re.search(rb"Content-Length: (\d+)", record).group(1))
    return record.replace(b"Content-Length: %d" % length, b"Content-Length: %d" % (length + extra), 1)


def test_too_long_content_length_loses_only_its_record(tmp_path):
    records = [page(n) for n in range(12)]
    for extra in (5, 100, 3000):  # into the next member, or over several
        data = record_gzip([with_length(r, extra) if n == 4 else r for n, r in enumerate(records)])
        ids, reasons = split_invariant(damaged(tmp_path, data))
        assert len(ids) == 11 and "<urn:uuid:page-4>" not in ids and max(ids.values()) == 1
        assert reasons == Counter({"corrupt_record": 1}), extra


def test_too_long_content_length_with_crlfs_in_the_next_member(tmp_path):
    records = [with_length(page(n), 400) if n == 2 else page(n) for n in range(8)]
    bodies = [r[:-4] for r in records]
    data = gzip.compress(bodies[0]) + b"".join(gzip.compress(b"\r\n\r\n" + body) for body in bodies[1:])
    ids, reasons = split_invariant(damaged(tmp_path, data))
    assert len(ids) == 7 and "<urn:uuid:page-2>" not in ids and reasons == Counter({"corrupt_record": 1})


def test_not_a_warc_and_empty_files(tmp_path):
    assert summary(outcomes(damaged(tmp_path, b"<html>not a warc</html>" * 100)))[1] == Counter({"not_warc": 1})
    assert summary(outcomes(damaged(tmp_path, gzip.compress(b"hello" * 100))))[1] == Counter({"not_warc": 1})
    assert outcomes(damaged(tmp_path, b"")) == []


def test_uncompressed_warc_with_a_wrong_length_ends_with_a_drop(tmp_path):
    records = [page(1), page(2).replace(b"Content-Length: ", b"Content-Length: 9", 1), page(3)]
    ids, reasons = summary(outcomes(write(tmp_path / "bad.warc", b"".join(records))))
    assert "<urn:uuid:page-1>" in ids and sum(reasons.values()) >= 1
    assert set(reasons) <= {"corrupt_record", "truncated_file"}


@needs(SHARED_WARCS)
def test_every_shared_warc_finishes_and_counts_its_damage():
    results = {}
    for path in sorted(p for p in SHARED_WARCS.rglob("*") if p.is_file() and p.name != "SOURCE.txt"):
        results[path.relative_to(SHARED_WARCS).as_posix()] = summary(outcomes(str(path), min_splits=4))
    assert len(results["resiliparse/warcfile.warc.gz"][0]) == 16
    assert results["resiliparse/clipped.warc.gz"][1] == Counter({"truncated_file": 1})
    assert len(results["warcio-testdata/example.arc.gz"][0]) == 1
    assert len(results["resiliparse/clueweb-quirk.warc.gz"][0]) == 29
    assert len(results["whirlwind/whirlwind.warc.gz"][0]) == 1
