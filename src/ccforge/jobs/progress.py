"""What a person sees while a pipeline runs.

Local runs: the workers' running totals (pipeline/progress.py) summed every few seconds
into one line: bytes read of the total, records, documents, pieces, pages/s and an ETA;
a live line (rich) on a terminal, else a plain line every `PLAIN_EVERY_S` seconds (a log
file, CI). Remote runners: the job id and, for Dataflow, the console link, then the job's
own counters, polled every `REMOTE_EVERY_S` seconds until it ends.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable

from ccforge.pipeline.metrics import counters_from_result
from ccforge.pipeline.progress import read_progress

LIVE_EVERY_S = 2.0
PLAIN_EVERY_S = float(os.environ.get("CCFORGE_PROGRESS_EVERY_S", 15))
REMOTE_EVERY_S = 30.0
REMOTE_POLL_S = 1.0  # how often the job's state is asked for


def say(text: str, end: str = "\n") -> None:
    """Progress for the person running the job, on stdout (Beam's logs go elsewhere)."""
    print(text, end=end, flush=True)


def megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def phase_a_line(totals: dict[str, int], elapsed: float, known_bytes: int = 0) -> str:
    """One line of phase A's progress. `known_bytes`: the inputs' total when the driver
    knows it (local files); otherwise what the workers have sized so far."""
    total = max(known_bytes, totals["planned_bytes"])
    done = totals["bytes_read"]
    parts = [f"read {megabytes(done)}" + (f" of {megabytes(total)} ({100 * done / total:.0f}%)" if total else "")]
    # A crawl's WARC holds a request and a metadata record beside each response: the rate
    # counts pages (the records the read stage keeps), not records.
    parts.append(f"{totals['records']:,} records ({totals['pages']:,} pages) -> {totals['documents']:,} documents")
    pieces = totals["planned_pieces"]
    if pieces:
        finished = totals["pieces_done"] + totals["pieces_done_before"]
        earlier = f", {totals['pieces_done_before']} done earlier" if totals["pieces_done_before"] else ""
        parts.append(f"pieces {finished}/{pieces}{earlier}")
    if elapsed > 0 and totals["pages"]:
        parts.append(f"{totals['pages'] / elapsed:,.0f} pages/s")
    left = total - done
    if elapsed > 0 and done > 0 and total and left > 0:
        parts.append(f"ETA {duration(left * elapsed / done)}")
    if totals["failed_pieces"]:
        parts.append(f"{totals['failed_pieces']} unreadable")
    return "  ".join(parts)


class LocalProgress:
    """Shows the totals in `directory` while a local pipeline runs (a thread of the driver)."""

    def __init__(self, directory: str, label: str, line: Callable[[dict, float], str],
                 interactive: bool | None = None):
        self.directory = directory
        self.label = label
        self.line = line
        self.interactive = sys.stdout.isatty() if interactive is None else interactive
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0

    def __enter__(self):
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._show, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        return False

    def current(self) -> str:
        return f"{self.label}  {self.line(read_progress(self.directory), time.monotonic() - self._started)}"

    def _show(self) -> None:
        if not self.interactive:
            while not self._stop.wait(PLAIN_EVERY_S):
                say(self.current())
            return
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        with Live(Text(self.current()), console=Console(), refresh_per_second=1, transient=True) as live:
            while not self._stop.wait(LIVE_EVERY_S):
                live.update(Text(self.current()))


def watch_remote(result, label: str, options, line: Callable[[dict], str] | None = None) -> None:
    """Job id and console link, then the job's counters, as `line` puts them (phase A's by
    default), every REMOTE_EVERY_S until it ends."""
    line = line or remote_counters_line
    job_id = result.job_id() if callable(getattr(result, "job_id", None)) else None
    if job_id:
        say(f"{label}  job {job_id} submitted")
        link = dataflow_console_link(options, job_id)
        if link:
            say(f"{label}  console: {link}")
    shown = time.monotonic()
    while not _finished(result):
        time.sleep(REMOTE_POLL_S)
        if time.monotonic() - shown < REMOTE_EVERY_S or _finished(result):
            continue
        shown = time.monotonic()
        try:
            counters = counters_from_result(result)
        except Exception:  # not every runner serves metrics while the job runs
            counters = {}
        say(f"{label}  {result.state}  " + line(counters))


def remote_counters_line(counters: dict[str, int]) -> str:
    """Phase A's counters: records read, pages, documents written."""
    records, pages = counters.get("read:in", 0), counters.get("read:kept", 0)
    documents = counters.get("dedup_keys:kept", 0)
    return f"{records:,} records ({pages:,} pages) -> {documents:,} documents so far"


def phase_b_counters_line(counters: dict[str, int]) -> str:
    """Phase B's counters (it reads no records): documents through dedup, kept, tokenized.
    They start once the duplicates are found, which is a shuffle of keys before them."""
    deduplicated = counters.get("exact_dedup:in", 0)
    kept = counters.get("minhash_dedup:kept", counters.get("exact_dedup:kept", 0))
    return (f"{deduplicated:,} documents through dedup -> {kept:,} kept, "
            f"{counters.get('tokenize:kept', 0):,} tokenized so far")


def dataflow_console_link(options, job_id: str) -> str | None:
    from apache_beam.options.pipeline_options import GoogleCloudOptions, StandardOptions

    if not (options.view_as(StandardOptions).runner or "").endswith("DataflowRunner"):
        return None
    cloud = options.view_as(GoogleCloudOptions)
    return f"https://console.cloud.google.com/dataflow/jobs/{cloud.region}/{job_id}?project={cloud.project}"


def _finished(result) -> bool:
    from apache_beam.runners.runner import PipelineState

    try:
        return PipelineState.is_terminal(result.state)
    except Exception:
        return True
