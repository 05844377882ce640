"""HTML -> main text, under a per-page time limit and a size cap.

trafilatura with FineWeb's settings is the default; resiliparse is the fast option.
The time limit runs the extractor in a pebble process pool: a page that stalls is
killed with its worker process (pebble starts a fresh one) and counted as `timeout`.
FineWeb's 0.1 s limit drops over half the pages on a slow 2-core machine, so the
default here is generous; the funnel shows how many pages hit it.
"""

from __future__ import annotations

from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from ccforge.document import Document, Drop
from ccforge.stage import Stage

EXTRACTORS = ("trafilatura", "resiliparse")


@dataclass
class ExtractConfig:
    enabled: bool = True
    extractor: str = "trafilatura"  # trafilatura | resiliparse
    timeout_s: float = 5.0  # per page, wall clock; 0 runs in-process with no limit
    max_html_bytes: int = 2_000_000  # larger pages are cut to this many characters first
    favor_precision: bool = True  # FineWeb's trafilatura settings
    include_comments: bool = False
    deduplicate: bool = True


def extract_text(html: str, extractor: str, favor_precision: bool, include_comments: bool, deduplicate: bool) -> str:
    """Main text of one page ('' when nothing is found). Runs in the worker process."""
    if extractor == "resiliparse":
        from resiliparse.extract.html2text import extract_plain_text

        return extract_plain_text(html, main_content=True, alt_texts=False, links=False)
    import trafilatura

    text = trafilatura.extract(
        html,
        favor_precision=favor_precision,
        include_comments=include_comments,
        deduplicate=deduplicate,
    )
    return text or ""


class Extractor(Stage):
    name = "extract"

    def __init__(self, config: ExtractConfig):
        if config.extractor not in EXTRACTORS:
            raise ValueError(
                f"unknown extractor '{config.extractor}' in extract.extractor; choose one of {', '.join(EXTRACTORS)}"
            )
        self.config = config
        self._pool = None

    def setup(self) -> None:
        if self.config.timeout_s > 0:
            from pebble import ProcessPool

            self._pool = ProcessPool(max_workers=1)
        else:  # import here so the first page does not pay for it
            extract_text("<html><body><p>warm up</p></body></html>", **self._options())

    def teardown(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None

    def process(self, doc: Document) -> Document | Drop:
        html = doc.html
        if not html:
            return Drop("empty_html")
        if len(html) > self.config.max_html_bytes:
            html = html[: self.config.max_html_bytes]
        try:
            text = self._run(html)
        except FutureTimeout:
            return Drop("timeout")
        except Exception:  # the extractor choked on this page; the job goes on
            return Drop("extractor_error")
        doc.html = ""  # later stages never carry markup
        text = text.strip()
        if not text:
            return Drop("empty_text")
        doc.text = text
        return doc

    def _run(self, html: str) -> str:
        if self._pool is None:
            return extract_text(html, **self._options())
        future = self._pool.schedule(extract_text, args=(html,), kwargs=self._options(), timeout=self.config.timeout_s)
        return future.result()

    def _options(self) -> dict:
        return {
            "extractor": self.config.extractor,
            "favor_precision": self.config.favor_precision,
            "include_comments": self.config.include_comments,
            "deduplicate": self.config.deduplicate,
        }
