"""The read stage: WARC records per second per core, and what the time goes to.

Input: ../shared/data/bench/bench-pages.warc.gz (2,295 pages, each after a request record),
or, without it, tests/data/read/warcfile.warc.gz concatenated 100 times. Measured, best of
--trials (the machine may be shared):
- read_split: the whole read stage on one core (fastwarc + filtering + charset decoding),
  in WARC records/s (the funnel's `in`), pages/s and compressed MB/s;
- parsers alone: fastwarc and warcio iterating the same file and reading every payload;
- charset: decode_html over all pages, and the detectors (uchardet through resiliparse,
  charset-normalizer) on the pages that need detection (not valid UTF-8);
- splits: the file cut into --splits byte ranges read by 1 and by --procs processes, to
  show a single WARC spreading over cores (records/s in total and per process);
- http: the same file through the Range reader from a loopback server (one split).

    python benchmarks/bench_read.py [--warc PATH] [--trials K] [--splits N] [--procs P]

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import http.server
import json
import multiprocessing
import os
import re
import tempfile
import threading
import time
from pathlib import Path

from ccforge.document import Document
from ccforge.read.charset import decode_html
from ccforge.read.reader import ReadConfig, WarcSplit, plan_splits, read_split

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "data" / "bench" / "bench-pages.warc.gz"
FIXTURE = ROOT / "tests" / "data" / "read" / "warcfile.warc.gz"


def best_time(fn, trials: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(trials):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def fixture_copies(times: int) -> str:
    """The test fixture concatenated (per-record gzip stays valid), as a stand-in input."""
    target = Path(tempfile.gettempdir()) / f"ccforge-bench-read-{times}.warc.gz"
    if not target.is_file():
        target.write_bytes(FIXTURE.read_bytes() * times)
    return str(target)


def read_whole(path: str) -> tuple[int, int]:
    """(records seen, documents) of one split covering the file."""
    seen = docs = 0
    for outcome in read_split(WarcSplit(path, 0, None), ReadConfig()):
        seen += 1
        docs += isinstance(outcome, Document)
    return seen, docs


def read_one_split(args: tuple[WarcSplit, ReadConfig]) -> tuple[int, int]:
    split, config = args
    seen = docs = 0
    for outcome in read_split(split, config):
        seen += 1
        docs += isinstance(outcome, Document)
    return seen, docs


def fastwarc_only(path: str) -> int:
    from fastwarc.warc import ArchiveIterator

    n = 0
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle, parse_http=False):
            record.reader.read()
            n += 1
    return n


def warcio_only(path: str) -> int:
    from warcio.archiveiterator import ArchiveIterator

    n = 0
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle):
            record.content_stream().read()
            n += 1
    return n


def html_payloads(path: str) -> list[tuple[bytes, str | None]]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    pages = []
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle, record_types=WarcRecordType.response):
            pages.append((record.reader.read(), record.http_charset))
    return pages


def not_utf8(payloads: list[bytes]) -> list[bytes]:
    bad = []
    for payload in payloads:
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(payload)
    return bad


def serve(path: str) -> tuple[http.server.ThreadingHTTPServer, str]:
    data = Path(path).read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_HEAD(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()

        def do_GET(self):
            match = re.match(r"bytes=(\d+)-", self.headers.get("Range", ""))
            start = int(match.group(1)) if match else 0
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            try:
                self.wfile.write(data[start:])
            except OSError:
                pass

    class Quiet(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            pass

    server = Quiet(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/{Path(path).name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warc", default=str(BENCH) if BENCH.is_file() else None,
                        help="default: the bench WARC, else the test fixture concatenated 100 times")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--splits", type=int, default=8)
    parser.add_argument("--procs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    path = args.warc or fixture_copies(100)
    size_mb = os.path.getsize(path) / 1e6
    print(f"input: {path} ({size_mb:.1f} MB)")

    t_read, (seen, docs) = best_time(lambda: read_whole(path), args.trials)
    print(f"read_split, 1 core: {seen} records ({docs} pages) in {t_read:.2f}s = "
          f"{seen / t_read:,.0f} records/s, {docs / t_read:,.0f} pages/s, {size_mb / t_read:.1f} MB/s")

    t_fast, n_fast = best_time(lambda: fastwarc_only(path), args.trials)
    t_warcio, n_warcio = best_time(lambda: warcio_only(path), args.trials)
    print(f"fastwarc alone: {n_fast / t_fast:,.0f} records/s; warcio alone: {n_warcio / t_warcio:,.0f} records/s "
          f"({t_warcio / t_fast:.1f}x slower)")

    pages = html_payloads(path)
    t_decode, _ = best_time(lambda: [decode_html(p, c) for p, c in pages], args.trials)
    hard = not_utf8([p for p, _ in pages])
    import charset_normalizer
    from resiliparse.parse.encoding import detect_encoding

    t_uchardet, _ = best_time(lambda: [detect_encoding(p) for p in hard], args.trials)
    t_cn, _ = best_time(lambda: [charset_normalizer.from_bytes(p).best() for p in hard], 1)
    per = lambda t: 1000 * t / max(1, len(hard))  # noqa: E731
    print(f"decode_html: {len(pages) / t_decode:,.0f} pages/s ({100 * t_decode / t_read:.0f}% of read time); "
          f"{len(hard)} pages not valid UTF-8 need detection: uchardet {per(t_uchardet):.2f} ms/page, "
          f"charset-normalizer {per(t_cn):.2f} ms/page")

    config = ReadConfig(split_min_bytes=1)
    splits = plan_splits(path, config, args.splits)
    split_rates = {}
    for procs in sorted({1, args.procs}):
        with multiprocessing.get_context("spawn").Pool(procs) as pool:
            pool.map(read_one_split, [(s, config) for s in splits[:procs]])  # warm the workers
            start = time.perf_counter()
            results = pool.map(read_one_split, [(s, config) for s in splits])
            t_split = time.perf_counter() - start
        split_seen = sum(r[0] for r in results)
        split_docs = sum(r[1] for r in results)
        split_rates[procs] = round(split_seen / t_split, 1)
        rate = split_seen / t_split
        print(f"{len(splits)} splits on {procs} processes: {split_seen} records ({split_docs} pages) in "
              f"{t_split:.2f}s = {rate:,.0f} records/s, {rate / procs:,.0f} per process")

    server, url = serve(path)
    try:
        http_config = ReadConfig()
        t_http, http_result = best_time(
            lambda: read_one_split((plan_splits(url, http_config, 1)[0], http_config)), args.trials
        )
    finally:
        server.shutdown()
        server.server_close()
    print(f"http loopback, 1 split: {http_result[0] / t_http:,.0f} records/s")

    summary = {
        "bench": "read",
        "input": Path(path).name,
        "records": seen,
        "pages": docs,
        "records_per_s_per_core": round(seen / t_read, 1),
        "pages_per_s_per_core": round(docs / t_read, 1),
        "mb_per_s_per_core": round(size_mb / t_read, 2),
        "fastwarc_records_per_s": round(n_fast / t_fast, 1),
        "warcio_records_per_s": round(n_warcio / t_warcio, 1),
        "decode_html_pages_per_s": round(len(pages) / t_decode, 1),
        "pages_needing_detection": len(hard),
        "uchardet_ms_per_page": round(per(t_uchardet), 3),
        "charset_normalizer_ms_per_page": round(per(t_cn), 3),
        "splits": len(splits),
        "split_records": split_seen,
        "split_pages": split_docs,
        "split_records_per_s_by_procs": split_rates,
        "http_records_per_s": round(http_result[0] / t_http, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
