"""HTML -> main text, under a per-page time limit and a size cap.

trafilatura with FineWeb's settings is the default; resiliparse is the fast option.
The time limit runs the extractor in one child process per worker (`PageSandbox`),
fed page by page over a pipe: a page that stalls is killed with the child and
counted as `timeout`, and the next page gets a fresh child forked from the warm
parent (trafilatura already imported, so a restart costs milliseconds, not an
import). FineWeb's 0.1 s limit drops over half the pages on a slow 2-core machine,
so the default here is generous; the funnel shows how many pages hit it.
"""

from __future__ import annotations

import multiprocessing
import struct
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ccforge.document import Document, Drop
from ccforge.stage import Stage

EXTRACTORS = ("trafilatura", "resiliparse")
_OK, _ERROR = b"\x00", b"\x01"
_CPU = struct.Struct("<d")  # each reply: status byte, the page's CPU seconds, then the text
# The parent's ends of every live sandbox's pipe in this process. A child forked for one
# sandbox inherits the others' ends and closes them first thing: holding one open, it
# would keep that sandbox's child from reading EOF when its parent closes the pipe (its
# close then waited out a 1 s join and killed it, per sandbox, at every worker's end).
_PARENT_ENDS: weakref.WeakSet = weakref.WeakSet()


@dataclass
class ExtractConfig:
    enabled: bool = True
    extractor: str = "trafilatura"  # trafilatura | resiliparse
    timeout_s: float = 5.0  # per page, wall clock; 0 runs in-process with no limit
    max_html_bytes: int = 2_000_000  # larger pages are cut to this many characters first
    favor_precision: bool = True  # FineWeb's trafilatura settings
    include_comments: bool = False
    # trafilatura's `deduplicate` drops text segments the same process has seen on earlier
    # pages: a page's text would depend on what its worker extracted before. FineWeb ran
    # with it on; here extraction is a pure function of the page (README, Filters).
    deduplicate: bool = False
    # trafilatura without its readability/jusText fallbacks: ~1.4x faster on the bench
    # pages, but ~6% of them then yield no text. FineWeb ran with the fallbacks.
    fast: bool = False


def extract_text(html: str, extractor: str, favor_precision: bool, include_comments: bool, deduplicate: bool,
                 fast: bool = False) -> str:
    """Main text of one page ('' when nothing is found)."""
    if extractor == "resiliparse":
        from resiliparse.extract.html2text import extract_plain_text

        return extract_plain_text(html, main_content=True, alt_texts=False, links=False)
    import trafilatura

    text = trafilatura.extract(
        html,
        favor_precision=favor_precision,
        include_comments=include_comments,
        deduplicate=deduplicate,
        fast=fast,
    )
    return text or ""


class PageTimeout(Exception):
    """The page took longer than the time limit; its child process was killed."""


class SandboxCrashed(Exception):
    """The child process died on the page (a segfault, the OOM killer)."""


class PageSandbox:
    """`run(html)` in a child process with a wall-clock limit per call.

    The child is forked from this process on first use and after every kill, so it
    inherits whatever the parent imported. Pages travel as UTF-8 bytes over a pipe
    (no pickling, no helper threads): the round trip costs far less than a page.
    """

    def __init__(self, extract: Callable[[str], str], timeout_s: float):
        self.extract = extract
        self.timeout_s = timeout_s
        self.restarts = 0  # children started after the first: one per timeout or crash
        self.cpu_s = 0.0  # CPU the children spent on pages (a killed page counts its time limit)
        self._started = False
        self._child = None
        self._conn = None

    def run(self, html: str) -> str:
        if self._child is None:
            self._start()
        try:
            self._conn.send_bytes(html.encode("utf-8", "surrogatepass"))
            if not self._conn.poll(self.timeout_s):
                self._kill()
                self.cpu_s += self.timeout_s
                raise PageTimeout()
            reply = self._conn.recv_bytes()
        except (EOFError, OSError) as exc:  # the child died under us
            self._kill()
            raise SandboxCrashed() from exc
        self.cpu_s += _CPU.unpack_from(reply, 1)[0]
        body = reply[1 + _CPU.size :].decode("utf-8", "surrogatepass")
        if reply[:1] == _ERROR:
            raise RuntimeError(body)
        return body

    def close(self) -> None:
        if self._child is not None:
            self._conn.close()  # the child reads EOF and exits
            self._child.join(1.0)
            if self._child.is_alive():
                self._kill()
            self._child = None
            self._conn = None

    def _start(self) -> None:
        if self._started:
            self.restarts += 1
        self._started = True
        # fork inherits the warm imports; where there is none (Windows), spawn re-imports
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        parent_end, child_end = context.Pipe(duplex=True)
        child = context.Process(target=_serve, args=(child_end, parent_end, self.extract), daemon=True)
        child.start()
        child_end.close()
        _PARENT_ENDS.add(parent_end)
        self._child, self._conn = child, parent_end

    def _kill(self) -> None:
        if self._child is not None:
            self._child.kill()  # SIGKILL: a page stuck in C code ignores anything gentler
            self._child.join()
            self._conn.close()
        self._child = None
        self._conn = None


def _serve(conn, parent_end, extract: Callable[[str], str]) -> None:
    """The child's loop: page in, text (or the error's name) out, until the pipe closes."""
    parent_end.close()  # the fork's copy; with it open, the parent's close would not end the loop
    for other in list(_PARENT_ENDS):  # other sandboxes' ends, for the same reason
        other.close()
    try:  # die before the worker if memory runs out
        with open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000\n")
    except OSError:
        pass
    while True:
        try:
            html = conn.recv_bytes().decode("utf-8", "surrogatepass")
        except (EOFError, OSError):
            return
        started = time.process_time()
        try:
            status, body = _OK, extract(html).encode("utf-8", "surrogatepass")
        except Exception as exc:  # noqa: BLE001 - any failure is this page's, not the child's
            status, body = _ERROR, f"{type(exc).__name__}: {exc}"[:500].encode("utf-8", "replace")
        conn.send_bytes(status + _CPU.pack(time.process_time() - started) + body)


class Extractor(Stage):
    name = "extract"

    def __init__(self, config: ExtractConfig):
        if config.extractor not in EXTRACTORS:
            raise ValueError(
                f"unknown extractor '{config.extractor}' in extract.extractor; choose one of {', '.join(EXTRACTORS)}"
            )
        self.config = config
        self._extract: Callable[[str], str] | None = None
        self._sandbox: PageSandbox | None = None
        self._cpu_s = 0.0  # in-process extraction's CPU seconds
        self._counted = {"restarts": 0, "cpu_ms": 0}

    def setup(self) -> None:
        self._extract = partial(
            extract_text,
            extractor=self.config.extractor,
            favor_precision=self.config.favor_precision,
            include_comments=self.config.include_comments,
            deduplicate=self.config.deduplicate,
            fast=self.config.fast,
        )
        # Import and warm the extractor here, so the sandbox's children are born ready.
        self._extract("<html><body><p>warm up</p></body></html>")
        if self.config.timeout_s > 0:
            self._sandbox = PageSandbox(self._extract, self.config.timeout_s)

    def teardown(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None

    def take_counts(self) -> dict[str, int]:
        """`cpu_ms`: CPU spent extracting (what `time_s` is, minus waiting); `restarts`."""
        sandbox = self._sandbox
        totals = {
            "restarts": sandbox.restarts if sandbox else 0,
            "cpu_ms": int(1000 * (self._cpu_s + (sandbox.cpu_s if sandbox else 0.0))),
        }
        new = {key: value - self._counted[key] for key, value in totals.items() if value > self._counted[key]}
        self._counted = totals
        return new

    def process(self, doc: Document) -> Document | Drop:
        html = doc.html
        if not html:
            return Drop("empty_html")
        if len(html) > self.config.max_html_bytes:
            html = html[: self.config.max_html_bytes]
        try:
            text = self._run(html)
        except PageTimeout:
            return Drop("timeout")
        except Exception:  # the extractor choked or died on this page (see `restarts`); the job goes on
            return Drop("extractor_error")
        doc.html = ""  # later stages never carry markup
        text = text.strip()
        if not text:
            return Drop("empty_text")
        doc.text = text
        return doc

    def _run(self, html: str) -> str:
        if self._sandbox is None:
            return self._run_here(html)
        try:
            return self._sandbox.run(html)
        except SandboxCrashed:
            # A child can die for reasons that are not the page's (a fork racing a Beam
            # worker's gRPC threads where gRPC's fork support is on, as on remote
            # runners; see jobs/options.py): one more try in a fresh child, so output
            # does not depend on luck; a page that kills the extractor twice is dropped.
            return self._sandbox.run(html)

    def _run_here(self, html: str) -> str:
        started = time.process_time()
        try:
            return self._extract(html)
        finally:
            self._cpu_s += time.process_time() - started
