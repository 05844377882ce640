"""http(s) inputs against a loopback server (127.0.0.1) standing in for data.commoncrawl.org:
Range reads, retries with backoff, resuming a broken transfer, crawl-id resolution."""

from __future__ import annotations

import gzip
import http.server
import io
import re
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from ccforge.document import Document, Drop
from ccforge.read.errors import ReadError
from ccforge.read.http import HttpRangeReader
from ccforge.read.reader import ReadConfig, plan_splits, read_split
from ccforge.read.specs import resolve_inputs

DATA = Path(__file__).parent / "data" / "read"
WARCFILE = DATA / "warcfile.warc.gz"
CRAWL = "CC-MAIN-2024-10"
FAST = dict(backoff_s=0.001, timeout_s=2.0)


class Server:
    """Serves `files` by path with Range support; `faults` are one-shot misbehaviours
    applied to the next GETs, in order."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.faults: list = []
        self.log: list[tuple[str, str, str | None]] = []
        self.ignore_range = False
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                owner.serve(self, head=True)

            def do_GET(self):
                owner.serve(self, head=False)

        class Quiet(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # clients hang up mid-body on purpose

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def url(self, path: str) -> str:
        return self.base + path.lstrip("/")

    def serve(self, handler, head: bool) -> None:
        path = handler.path
        rng = handler.headers.get("Range")
        self.log.append((handler.command, path, rng))
        data = self.files.get(path)
        if data is None:
            handler.send_error(404)
            return
        match = re.match(r"bytes=(\d+)-(\d*)", rng or "")
        start = int(match.group(1)) if match and not self.ignore_range else 0
        if handler.command == "GET" and self.faults:
            self.faults.pop(0)(handler, data, start)
            return
        if start >= len(data) and len(data):
            handler.send_response(416)
            handler.send_header("Content-Range", f"bytes */{len(data)}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if match and not self.ignore_range:
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            handler.send_response(200)
        handler.send_header("Content-Length", str(len(data) - start))
        handler.end_headers()
        if not head:
            try:
                handler.wfile.write(data[start:])
            except OSError:
                pass

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def drop_after(n_bytes: int):
    """Promise the rest of the file, send n_bytes of it, then cut the connection."""

    def fault(handler, data, start):
        handler.send_response(206)
        handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.send_header("Content-Length", str(len(data) - start))
        handler.end_headers()
        handler.wfile.write(data[start : start + n_bytes])
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)
        handler.close_connection = True

    return fault


def status(code: int):
    def fault(handler, data, start):
        handler.send_error(code)
        handler.close_connection = True

    return fault


def stall(seconds: float):
    def fault(handler, data, start):
        time.sleep(seconds)
        handler.close_connection = True

    return fault


@pytest.fixture
def server():
    srv = Server()
    srv.files["/warcfile.warc.gz"] = WARCFILE.read_bytes()
    yield srv
    srv.close()


def gets(server: Server) -> list[str | None]:
    return [rng for method, _, rng in server.log if method == "GET"]


# ---- the Range reader --------------------------------------------------------------------


def test_range_reader_reads_and_seeks(server):
    data = WARCFILE.read_bytes()
    with io.BufferedReader(HttpRangeReader(server.url("warcfile.warc.gz"), **FAST), 8192) as f:
        assert f.read() == data
        f.seek(100_000)
        assert f.read(10) == data[100_000:100_010]
        f.seek(-5, io.SEEK_END)
        assert f.read() == data[-5:]
        f.seek(len(data) + 10)
        assert f.read(10) == b""


def test_broken_transfer_resumes_from_the_byte_reached(server):
    data = WARCFILE.read_bytes()
    server.faults = [drop_after(50_000), drop_after(20_000)]
    raw = HttpRangeReader(server.url("warcfile.warc.gz"), **FAST)
    with io.BufferedReader(raw, 4096) as f:
        assert f.read() == data
    assert gets(server) == ["bytes=0-", "bytes=50000-", "bytes=70000-"]
    assert raw.requests == 3


def test_503_and_stalls_are_retried(server):
    data = WARCFILE.read_bytes()
    server.faults = [status(503), stall(0.6), status(500)]
    raw = HttpRangeReader(server.url("warcfile.warc.gz"), retries=5, backoff_s=0.001, timeout_s=0.3)
    with io.BufferedReader(raw) as f:
        assert f.read() == data
    assert len(gets(server)) == 4


def test_server_ignoring_range_still_gives_the_right_bytes(server):
    data = WARCFILE.read_bytes()
    server.ignore_range = True
    with io.BufferedReader(HttpRangeReader(server.url("warcfile.warc.gz"), **FAST)) as f:
        f.seek(12_345)
        assert f.read(100) == data[12_345:12_445]


def test_missing_url_fails_at_once_naming_it(server):
    with pytest.raises(ReadError, match=r"nope\.warc\.gz: HTTP 404") as error:
        HttpRangeReader(server.url("nope.warc.gz"), **FAST).read(10)
    assert "\n" not in str(error.value) and len(gets(server)) == 1


def test_giving_up_after_the_retries_is_one_line_naming_the_url(server):
    server.faults = [status(503)] * 10
    url = server.url("warcfile.warc.gz")
    with pytest.raises(ReadError, match=re.escape(url) + ".*after 3 retries") as error:
        HttpRangeReader(url, retries=3, backoff_s=0.001).read(10)
    assert "\n" not in str(error.value) and len(gets(server)) == 4


# ---- reading WARCs over http ---------------------------------------------------------------


def summary(found: list) -> tuple[Counter, Counter]:
    ids = Counter(o.id for o in found if isinstance(o, Document))
    return ids, Counter(o.reason for o in found if isinstance(o, Drop))


def read_all(splits: list, config: ReadConfig) -> list:
    return [o for split in splits for o in read_split(split, config)]


def test_splits_over_http_with_failures_read_every_record_once(server):
    config = ReadConfig(split_min_bytes=1, **FAST)
    url = server.url("warcfile.warc.gz")
    local = summary(read_all(plan_splits(str(WARCFILE), config, 1), config))
    for min_splits in (1, 4):
        splits = plan_splits(url, config, min_splits)
        assert len(splits) == min_splits
        server.faults = [drop_after(30_000), status(503), drop_after(1_000), status(502), drop_after(70_000)]
        got = summary(read_all(splits, config))
        assert got == local and len(got[0]) == 16 and max(got[0].values()) == 1
        assert not server.faults  # every failure happened and was survived


def test_a_lost_server_is_a_read_error_not_damage(server):
    config = ReadConfig(retries=2, **FAST)
    splits = plan_splits(server.url("warcfile.warc.gz"), config, 1)
    server.faults = [drop_after(40_000)] + [status(503)] * 5
    found = []
    with pytest.raises(ReadError, match="warcfile.warc.gz.*after 2 retries"):
        for outcome in read_split(splits[0], config):
            found.append(outcome)
    assert not any(getattr(o, "reason", "") in ("corrupt_record", "truncated_file") for o in found)


# ---- crawl ids -----------------------------------------------------------------------------


def test_crawl_id_resolves_through_warc_paths(server):
    data = WARCFILE.read_bytes()
    paths = [f"crawl-data/{CRAWL}/segments/1707/warc/CC-MAIN-2024022021{n}-0000{n}.warc.gz" for n in range(3)]
    for path in paths:
        server.files["/" + path] = data
    server.files[f"/crawl-data/{CRAWL}/warc.paths.gz"] = gzip.compress(("\n".join(paths) + "\n").encode())
    config = ReadConfig(cc_base_url=server.base, split_min_bytes=1, **FAST)

    inputs = resolve_inputs([CRAWL], config, max_files=2)
    assert inputs == [(server.base + p, CRAWL) for p in paths[:2]]
    url, dump = inputs[1]
    docs = [o for s in plan_splits(url, config, 3, dump) for o in read_split(s, config) if isinstance(o, Document)]
    assert len(docs) == 16 and {d.dump for d in docs} == {CRAWL} and {d.file_path for d in docs} == {url}
    assert len(resolve_inputs([CRAWL], config)) == 3


def test_unknown_crawl_id_is_a_one_line_error(server):
    config = ReadConfig(cc_base_url=server.base, **FAST)
    with pytest.raises(ReadError, match="cannot resolve crawl id CC-MAIN-1999-01") as error:
        resolve_inputs(["CC-MAIN-1999-01"], config)
    assert "\n" not in str(error.value)


def test_http_url_specs_pass_through(server):
    url = server.url("warcfile.warc.gz")
    assert resolve_inputs([url], ReadConfig()) == [(url, "")]
