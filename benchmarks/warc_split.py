"""Cut a WARC into N files at record boundaries, optionally K copies with new record ids.

  python benchmarks/warc_split.py SOURCE.warc.gz OUT_DIR --parts N [--copies K] [--every N]

What a crawl already is: many WARCs of whole records, each a mix of sites. Each record of
a .warc.gz is its own gzip member; the captures (a response with the records before it,
its request) are dealt out in order, each to the file with the fewest bytes so far, so the
files are of about equal size and hold the same mix of pages (the bench WARC is sorted by
source: cut into runs, one file would get all the slow pages). Copy 0's members are copied
byte for byte.

With `--copies K` the input is the source K times over. Copy k > 0 is a new crawl of the
same pages: every `urn:uuid` in its WARC headers (WARC-Record-ID, WARC-Concurrent-To, ...)
is replaced by a uuid5 of (k, the old one), and WARC-Target-URI gets the host prefix
`copyk.`, so no record id or URL repeats across copies; the pages' bytes are untouched,
so their texts repeat and dedup finds them (on every pipeline alike). Members of copies
k > 0 are recompressed (zlib level 6).
"""

from __future__ import annotations

import argparse
import re
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

_UUID = re.compile(rb"urn:uuid:([0-9a-fA-F-]{36})")
_TARGET = re.compile(rb"^(WARC-Target-URI:\s*<?)(https?://)", re.MULTILINE | re.IGNORECASE)


def members(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(compressed member, its decompressed bytes) for every gzip member of `data`."""
    view, position, step = memoryview(data), 0, 1 << 16
    while position < len(data):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        plain, fed = [], position
        while not inflater.eof and fed < len(data):  # fed in small steps: unused_data stays small
            plain.append(inflater.decompress(view[fed : fed + step]))
            fed = min(len(data), fed + step)
        if not inflater.eof:
            raise ValueError(f"truncated gzip member at byte {position}")
        end = fed - len(inflater.unused_data)
        yield data[position:end], b"".join(plain)
        position = end


def renamed(record: bytes, copy: int) -> bytes:
    """The record with copy `copy`'s record ids and URL (the WARC header block only)."""
    head, sep, block = record.partition(b"\r\n\r\n")

    def new_id(match: re.Match) -> bytes:
        fresh = uuid.uuid5(uuid.NAMESPACE_URL, f"copy{copy}:{match.group(1).decode().lower()}")
        return b"urn:uuid:" + str(fresh).encode()

    head = _UUID.sub(new_id, head)
    head = _TARGET.sub(lambda m: m.group(1) + m.group(2) + f"copy{copy}.".encode(), head)
    return head + sep + block


def gzip_member(plain: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return compressor.compress(plain) + compressor.flush()


def split_warc(source: Path, out_dir: Path, parts: int, copies: int = 1, every: int = 1) -> list[Path]:
    """Writes `parts` files `part-XXXX.warc.gz` into `out_dir` (emptied of earlier parts):
    `copies` copies of `source`'s records (of every `every`-th capture only), dealt out
    capture by capture into files of about equal size. Returns their paths."""
    if parts < 1 or copies < 1 or every < 1:
        raise ValueError("parts, copies and every must be at least 1")
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("part-*.warc.gz"):
        old.unlink()
    data = source.read_bytes()
    originals = list(members(data))
    if every > 1:
        captures, capture = [], []
        for member in originals:
            capture.append(member)
            if is_response(member[1]):
                captures.append(capture)
                capture = []
        originals = [member for capture in captures[::every] for member in capture]
    chunks = [(raw, is_response(plain)) for raw, plain in originals]
    for copy in range(1, copies):
        chunks += [(gzip_member(renamed(plain, copy)), is_response(plain)) for _, plain in originals]
    paths = [out_dir / f"part-{index:04d}.warc.gz" for index in range(parts)]
    handles = [open(path, "wb") for path in paths]
    sizes = [0] * parts
    try:
        capture: list[bytes] = []
        for chunk, ends_capture in chunks:
            capture.append(chunk)
            if ends_capture or chunk is chunks[-1][0]:
                smallest = sizes.index(min(sizes))
                for member in capture:
                    handles[smallest].write(member)
                    sizes[smallest] += len(member)
                capture = []
    finally:
        for handle in handles:
            handle.close()
    return paths


def is_response(plain: bytes) -> bool:
    return re.search(rb"^WARC-Type:\s*response\s*$", plain.partition(b"\r\n\r\n")[0], re.MULTILINE | re.I) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--parts", type=int, required=True)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--every", type=int, default=1, help="keep every N-th capture only")
    args = parser.parse_args()
    for path in split_warc(args.source, args.out_dir, args.parts, args.copies, args.every):
        print(f"{path}  {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
