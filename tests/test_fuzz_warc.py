"""Fuzzing the read room and the extract stage with mutated real WARCs, on a fixed, seeded budget.

Sources: the bundled samples, tests/data/read and, when present, ../shared/data/warc.
Mutations: truncation, bit flips, wrong Content-Length, bad gzip members (junk between
members, a member that is not gzip, an empty member, a record split over two members),
garbage WARC and HTTP headers, lying charsets, deeply nested and enormous HTML.

What must hold: nothing raises; every item is a Document or a Drop with a known reason;
no record is read twice; in a per-record-gzip file, every record whose member was not
touched is still read (the damage is counted, never spreads, a Content-Length that runs
into the next records included); framing-preserving edits
keep one item per record; the extract stage keeps or drops every document it gets, and
a whole job over mutated files has a funnel that adds up.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from ccforge.config import load_config
from ccforge.document import Document, Drop
from ccforge.extract.extractor import ExtractConfig, Extractor
from ccforge.read.reader import ReadConfig, plan_splits, read_split
from conftest import ROOT, SAMPLE_DIR, SHARED_DATA

READ_REASONS = {"not_response", "not_http", "http_status", "not_html", "too_large",
                "corrupt_record", "truncated_file", "not_warc"}
CONFIG = ReadConfig(split_min_bytes=16_384)  # small files still split: damage meets split edges
SPLITS = 3
MiB = 1 << 20


def source_files() -> list[Path]:
    """The real WARCs to mutate, each content once (the shared folder repeats some)."""
    found = [*SAMPLE_DIR.glob("*.warc.gz"), *(ROOT / "tests" / "data" / "read").iterdir()]
    if (SHARED_DATA / "warc").is_dir():
        found += [p for p in (SHARED_DATA / "warc").rglob("*") if re.search(r"\.(w?arc)(\.gz)?$", p.name)]
    unique: dict[str, Path] = {}
    for path in sorted(found):
        if path.is_file() and path.name != "SOURCE.txt" and path.stat().st_size < 2 * MiB:
            unique.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), path)
    return sorted(unique.values())


SOURCES = source_files()


# ---- reading -------------------------------------------------------------------------------


def read_items(path: Path, splits: int = SPLITS) -> list[Document | Drop]:
    """Every item of every split; an exception here is the crash the fuzzing looks for."""
    return [item for split in plan_splits(str(path), CONFIG, splits) for item in read_split(split, CONFIG)]


def doc_ids(items) -> Counter:
    return Counter(item.id for item in items if isinstance(item, Document))


def check_items(items) -> None:
    for item in items:
        assert isinstance(item, (Document, Drop)), item
        if isinstance(item, Drop):
            assert item.reason in READ_REASONS, item.reason
        else:
            assert isinstance(item.html, str)
    twice = [i for i, n in doc_ids(items).items() if n > 1 and i]  # a header edit may leave no id
    assert not twice, f"a record read twice: {twice[0]}"


# ---- gzip members and records --------------------------------------------------------------


@dataclass
class Member:
    start: int
    end: int
    raw: bytes  # decompressed
    packed: bytes  # as in the file


def gzip_members(data: bytes) -> list[Member] | None:
    """The gzip members of a file, or None unless it is gzip with one WARC record per member."""
    members, pos = [], 0
    while pos < len(data):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            raw = inflater.decompress(data[pos:])
        except zlib.error:
            return None
        if not inflater.eof:
            return None
        end = len(data) - len(inflater.unused_data)
        members.append(Member(pos, end, raw, data[pos:end]))
        pos = end
    per_record = len(members) > 2 and all(m.raw.lstrip(b"\r\n").startswith(b"WARC/") for m in members)
    return members if per_record else None


def record_id(raw: bytes) -> str | None:
    match = re.search(rb"(?im)^WARC-Record-ID:[ \t]*(\S+)", raw)
    return match.group(1).decode() if match else None


def split_record(raw: bytes) -> tuple[bytes, bytes, bytes]:
    """(WARC header without Content-Length, block, what follows the block)."""
    head_end = raw.index(b"\r\n\r\n")
    head = raw[:head_end]
    length = int(re.search(rb"(?im)^Content-Length:[ \t]*(\d+)", head).group(1))
    block = raw[head_end + 4: head_end + 4 + length]
    head = re.sub(rb"(?im)^Content-Length:[^\r\n]*(\r\n)?", b"", head).rstrip(b"\r\n")
    return head, block, raw[head_end + 4 + length:]


def join_record(head: bytes, block: bytes, tail: bytes, length: int | None = None) -> bytes:
    length = len(block) if length is None else length
    return head + b"\r\nContent-Length: " + str(length).encode() + b"\r\n\r\n" + block + tail


def html_members(members: list[Member]) -> list[int]:
    """Indexes of response records that carry an HTML page."""
    found = []
    for i, m in enumerate(members):
        if re.search(rb"(?im)^WARC-Type:[ \t]*response", m.raw) and b"\r\n\r\n" in m.raw:
            _, block, _ = split_record(m.raw)
            if re.search(rb"(?i)content-type:[^\r\n]*html", block.split(b"\r\n\r\n", 1)[0]):
                found.append(i)
    return found


def with_http(raw: bytes, edit) -> bytes:
    """The record with its HTTP message edited: edit(http_head, payload) -> (head, payload)."""
    head, block, tail = split_record(raw)
    http_head, _, payload = block.partition(b"\r\n\r\n")
    http_head, payload = edit(http_head, payload)
    return join_record(head, http_head + b"\r\n\r\n" + payload, tail)


def without_encodings(http_head: bytes) -> bytes:
    return re.sub(rb"(?im)^(Content-Encoding|Transfer-Encoding|Content-Length):[^\r\n]*\r?\n?", b"", http_head)


def rebuild(members: list[Member], replace: dict[int, bytes]) -> bytes:
    """The file with some members replaced by the given bytes (already compressed or not)."""
    return b"".join(replace.get(i, m.packed) for i, m in enumerate(members))


def gz(raw: bytes) -> bytes:
    return gzip.compress(raw, mtime=0)


# ---- framing-preserving record edits: one item per record must survive -------------------


def lying_charset(rng, http_head, payload):
    text = payload.decode("utf-8", "replace")
    body, claim = rng.choice([
        (text.encode("shift_jis", "replace"), b"utf-8"),
        (text.encode("utf-16"), b"iso-8859-1"),
        ("caf\u00e9 na\u00efve \u20ac".encode("cp1252") + payload, b"utf-8"),
        (payload, b"x-no-such-charset"),
        (payload, b"utf-16"),
    ])
    http_head = re.sub(rb"(?im)^Content-Type:[^\r\n]*", b"Content-Type: text/html; charset=" + claim,
                       without_encodings(http_head))
    meta = b'<meta charset="' + rng.choice([b"koi8-r", b"utf-32", b"gb18030"]) + b'">'
    return http_head, meta + body


def nested_html(rng, http_head, payload):
    depth = rng.choice([5_000, 50_000, 200_000])
    tag = rng.choice([b"div", b"span", b"table", b"b"])
    body = b"<html><body>" + (b"<" + tag + b">") * depth + b"deep text. " * 50 + b"</body></html>"
    return without_encodings(http_head), body


def enormous_html(rng, http_head, payload, size=None):
    size = size or rng.choice([3 * MiB, 5 * MiB])  # under and over read.max_html_bytes (4 MiB)
    para = b"<p>" + b"word " * 40 + b"</p>\n"
    return without_encodings(http_head), b"<html><body>" + para * (size // len(para)) + b"</body></html>"


def garbage_http_headers(rng, http_head, payload):
    junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    lines = http_head.split(b"\r\n")
    lines.insert(rng.randrange(1, len(lines) + 1), junk.replace(b"\r\n\r\n", b""))
    return b"\r\n".join(lines), payload


def garbage_warc_header(rng, raw):
    head, block, tail = split_record(raw)
    lines = head.split(b"\r\n")
    junk = rng.choice([b"no colon in this line", b"\x00\xff\xfe: \x80\x81", b"WARC-Date: not a date",
                       b"WARC-Target-URI: \x00\x01 not a url", b": empty name", b"X" * 20_000 + b": long"])
    lines.insert(rng.randrange(1, len(lines) + 1), junk)
    return join_record(b"\r\n".join(lines), block, tail)


RECORD_EDITS = {
    "lying_charset": lambda rng, raw: with_http(raw, lambda h, p: lying_charset(rng, h, p)),
    "nested_html": lambda rng, raw: with_http(raw, lambda h, p: nested_html(rng, h, p)),
    "enormous_html": lambda rng, raw: with_http(raw, lambda h, p: enormous_html(rng, h, p)),
    "garbage_http_headers": lambda rng, raw: with_http(raw, lambda h, p: garbage_http_headers(rng, h, p)),
    "garbage_warc_header": garbage_warc_header,
}


# ---- damaging mutations: records in untouched members must survive -------------------------


def truncate(rng, data, members):
    cut = rng.randrange(1, len(data))
    return data[:cut], {i for i, m in enumerate(members or []) if m.end > cut}


def bit_flips(rng, data, members):
    flipped = bytearray(data)
    spots = [rng.randrange(len(data)) for _ in range(rng.randint(1, 4))]
    for spot in spots:
        flipped[spot] ^= 1 << rng.randrange(8)
    return bytes(flipped), {i for i, m in enumerate(members or []) if any(m.start <= s < m.end for s in spots)}


def _with_length(rng, members, lengths):
    i = rng.randrange(len(members))
    head, block, tail = split_record(members[i].raw)
    length = max(0, rng.choice(lengths(len(block))))
    return rebuild(members, {i: gz(join_record(head, block, tail, length))}), {i}


def content_length_short(rng, data, members):
    return _with_length(rng, members, lambda n: [0, 1, n // 2, n - 1])


def content_length_past_the_end(rng, data, members):
    return _with_length(rng, members, lambda n: [10**12, n + len(data)])


def content_length_long(rng, data, members):
    """Longer than the record but within the file: the block runs into the next member."""
    return _with_length(rng, members, lambda n: [n + 1, n + 100, n + 3000])


def header_cut(rng, data, members):
    """A blank line inside a record's WARC header: the header ends early, Content-Length
    (moved last, as some writers put it) left after the blank line."""
    i = rng.randrange(1, len(members))
    head, block, tail = split_record(members[i].raw)
    lines = head.split(b"\r\n")
    at = rng.randrange(1, len(lines) + 1)
    cut = b"\r\n".join(lines[:at]) + b"\r\n" + b"\r\n".join(lines[at:])
    return rebuild(members, {i: gz(join_record(cut.rstrip(b"\r\n"), block, tail))}), {i}


def bad_members(rng, data, members):
    i = rng.randrange(1, len(members))
    kind = rng.choice(["junk_between", "not_gzip", "empty_member", "record_in_two_members", "cut_member"])
    original = members[i].packed
    if kind == "junk_between":
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        return rebuild(members, {i: junk + original}), set()
    if kind == "not_gzip":
        return rebuild(members, {i: members[i].raw}), {i}
    if kind == "empty_member":
        return rebuild(members, {i: gz(b"") + original}), set()
    if kind == "record_in_two_members":
        raw = members[i].raw
        half = rng.randrange(1, len(raw))
        return rebuild(members, {i: gz(raw[:half]) + gz(raw[half:])}), set()
    cut = rng.randrange(10, max(11, len(original) - 8))  # a member cut short mid-file
    return rebuild(members, {i: original[:cut]}), {i}


DAMAGE = {"truncate": truncate, "bit_flips": bit_flips}
GZIP_DAMAGE = {
    "content_length_short": content_length_short,
    "header_cut": header_cut,
    "bad_members": bad_members,
    "content_length_long": content_length_long,
    "content_length_past_the_end": content_length_past_the_end,
}
ROUNDS = 3  # seeded variants of every mutation on every source


def check_survivors(items, members, touched, original_items) -> None:
    """Records in untouched members are all read; nothing is read twice."""
    before = doc_ids(original_items)
    after = doc_ids(items)
    expected = {record_id(m.raw) for i, m in enumerate(members) if i not in touched} & set(before)
    missing = sorted(expected - set(after))
    assert not missing, f"{len(missing)} intact records lost, e.g. {missing[0]}"
    untouched_items = len(members) - len(touched)
    assert len(items) >= untouched_items, (len(items), untouched_items)


@pytest.mark.parametrize("source", SOURCES, ids=[p.name for p in SOURCES])
def test_damaged_files_never_crash_and_lose_only_damaged_records(source, tmp_path):
    data = source.read_bytes()
    original = read_items(source)
    check_items(original)
    members = gzip_members(data)
    mutations = dict(DAMAGE, **(GZIP_DAMAGE if members else {}))
    for name, mutate in mutations.items():
        for round_ in range(ROUNDS):
            rng = random.Random(f"{source.name}:{name}:{round_}")
            mutated, touched = mutate(rng, data, members)
            path = tmp_path / f"{name}-{round_}-{source.name}"
            path.write_bytes(mutated)
            items = read_items(path)
            check_items(items)
            if members:
                check_survivors(items, members, touched, original)


GZIP_SOURCES = [p for p in SOURCES if gzip_members(p.read_bytes()) and html_members(gzip_members(p.read_bytes()))]


@pytest.mark.parametrize("source", GZIP_SOURCES, ids=[p.name for p in GZIP_SOURCES])
def test_record_edits_keep_one_item_per_record(source, tmp_path):
    data = source.read_bytes()
    members = gzip_members(data)
    original = read_items(source)
    pages = html_members(members)
    for name, edit in RECORD_EDITS.items():
        rng = random.Random(f"{source.name}:{name}")
        targets = rng.sample(pages, min(2, len(pages)))
        mutated = rebuild(members, {i: gz(edit(rng, members[i].raw)) for i in targets})
        path = tmp_path / f"{name}-{source.name}"
        path.write_bytes(mutated)
        items = read_items(path)
        check_items(items)
        assert len(items) == len(original), name  # one item per record, the edited ones included
        assert set(doc_ids(items)) <= set(doc_ids(original)) | {""}, name


# ---- the extract stage -----------------------------------------------------------------------


def crafted_pages() -> list[Document]:
    """Documents from edited records of one sample: lying charsets, nested and enormous HTML."""
    source = SAMPLE_DIR / "sample-0000.warc.gz"
    members = gzip_members(source.read_bytes())
    pages = html_members(members)
    docs = []
    for name in ("lying_charset", "nested_html", "enormous_html", "garbage_http_headers"):
        for round_ in range(2):
            rng = random.Random(f"extract:{name}:{round_}")
            i = rng.choice(pages)
            raw = RECORD_EDITS[name](rng, members[i].raw)
            docs += [item for item in _read_bytes(gz(raw)) if isinstance(item, Document)]
    big = with_http(members[pages[0]].raw, lambda h, p: enormous_html(None, h, p, size=3 * MiB))
    docs += [item for item in _read_bytes(gz(big)) if isinstance(item, Document)]  # cut to 2 MB by extract
    rng = random.Random("extract:junk")
    for _ in range(4):  # markup soup and binary junk as "html"
        docs.append(Document(id=f"junk-{_}", url="http://x.test/", html="".join(
            rng.choice(["<", ">", "</", "div", "<script>", "&#", "\x00", "\ufffd", "é", " ", "<!--", "]]>"])
            for _ in range(rng.randrange(10, 20_000)))))
    docs.append(Document(id="empty", url="http://x.test/", html=""))
    return docs


def _read_bytes(data: bytes):
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".warc.gz") as handle:
        handle.write(data)
        handle.flush()
        return read_items(Path(handle.name), splits=1)


@pytest.mark.parametrize("extractor", ["resiliparse", "trafilatura"])
def test_extract_keeps_or_drops_every_mutated_page(extractor):
    docs = crafted_pages()
    assert len(docs) >= 10 and max(len(d.html) for d in docs) > 2_000_000
    stage = Extractor(ExtractConfig(extractor=extractor, timeout_s=10.0))
    stage.setup()
    try:
        kept, dropped = 0, Counter()
        for doc in docs:
            result = stage.process(doc)
            if isinstance(result, Drop):
                dropped[result.reason] += 1
            else:
                assert isinstance(result, Document) and result.text and not result.html
                kept += 1
    finally:
        stage.teardown()
    assert kept + sum(dropped.values()) == len(docs)
    assert kept > 0
    assert set(dropped) <= {"empty_html", "empty_text", "timeout", "extractor_error"}


# ---- a whole job over mutated files --------------------------------------------------------


@pytest.mark.slow  # make test-slow (CI runs it too)
def test_job_over_mutated_files_counts_every_record(tmp_path):
    from ccforge.jobs.run import run_job
    from ccforge.pipeline.stats import check_funnel

    inputs = tmp_path / "in"
    inputs.mkdir()
    rng = random.Random("job")
    samples = sorted(SAMPLE_DIR.glob("*.warc.gz"))
    for source in samples:
        data = source.read_bytes()
        members = gzip_members(data)
        edited = {i: gz(RECORD_EDITS[name](rng, members[i].raw))
                  for i, name in zip(rng.sample(html_members(members), 3), ("lying_charset", "nested_html",
                                                                             "garbage_warc_header"))}
        mutated = rebuild(members, edited)
        mutated, _ = bit_flips(rng, mutated, None)
        mutated, _ = truncate(random.Random(f"cut:{source.name}"), mutated, None)
        (inputs / source.name).write_bytes(mutated)
    expected_records = sum(len(read_items(path)) for path in sorted(inputs.iterdir()))
    config = load_config(None, ["extract.extractor=resiliparse"])
    stats = run_job([str(inputs)], str(tmp_path / "run"), config,
                    ["--direct_running_mode=in_memory", "--direct_num_workers=1"])
    assert check_funnel(stats["stages"]) == []
    for before, after in zip(stats["stages"], stats["stages"][1:]):
        assert after["in"] == before["kept"]
    read = stats["stages"][0]
    assert read["in"] == expected_records and read["kept"] > 0
    assert stats["failed_inputs"] == []
