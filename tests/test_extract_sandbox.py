"""The extractor's time limit: a stalled or crashing page costs itself, never the job."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from ccforge.document import Document, Drop
from ccforge.extract import extractor as extractor_module
from ccforge.extract.extractor import ExtractConfig, Extractor, PageSandbox, PageTimeout, SandboxCrashed

PARAGRAPH = "<p>A sentence of plain words in a paragraph.</p>"
PAGE = f"<html><body><article><h1>Title</h1>{PARAGRAPH * 20}</article></body></html>"


def burn_cpu(seconds: float) -> None:
    """Spin until this process has used `seconds` of CPU: the CPU a page costs, whatever the load."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def fake_extract(html: str) -> str:
    if html == "burn":
        burn_cpu(0.05)
    if html == "stall":
        time.sleep(60)
    if html == "crash":
        os._exit(3)
    if html == "raise":
        raise ValueError("bad page")
    return html.upper()


def test_sandbox_returns_text_and_keeps_one_child():
    sandbox = PageSandbox(fake_extract, timeout_s=5)
    try:
        assert sandbox.run("abc") == "ABC"
        assert sandbox.run("x\udc80y") == "X\udc80Y"  # lone surrogates survive the pipe
        assert sandbox.restarts == 0
        before = sandbox.cpu_s
        assert sandbox.run("burn") == "BURN"
        assert sandbox.cpu_s - before >= 0.05  # the child's CPU on the page comes back with the text
    finally:
        sandbox.close()


def test_stalled_page_is_killed_within_the_limit_and_the_next_page_works():
    sandbox = PageSandbox(fake_extract, timeout_s=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(PageTimeout):
            sandbox.run("stall")
        assert time.monotonic() - started < 5
        assert sandbox.cpu_s == pytest.approx(0.3)  # a killed page counts its time limit
        assert sandbox.run("after") == "AFTER"
        assert sandbox.restarts == 1
    finally:
        sandbox.close()


def test_crash_and_error_are_per_page():
    sandbox = PageSandbox(fake_extract, timeout_s=5)
    try:
        with pytest.raises(SandboxCrashed):
            sandbox.run("crash")
        with pytest.raises(RuntimeError, match="ValueError: bad page"):
            sandbox.run("raise")
        assert sandbox.run("ok") == "OK"
        assert sandbox.restarts == 1  # the error kept its child; the crash did not
    finally:
        sandbox.close()


def test_close_ends_the_child():
    sandbox = PageSandbox(fake_extract, timeout_s=5)
    sandbox.run("a")
    child = sandbox._child
    sandbox.close()
    assert not child.is_alive()


def test_close_ends_the_child_while_another_sandbox_lives():
    """A later sandbox's child must not hold the first one's pipe open: the first child
    reads EOF and exits by itself (exit code 0), rather than being killed (-9)."""
    first, second = PageSandbox(fake_extract, timeout_s=5), PageSandbox(fake_extract, timeout_s=5)
    try:
        assert first.run("a") == "A" and second.run("b") == "B"
        child = first._child
        first.close()
        assert child.exitcode == 0
        assert second.run("c") == "C"
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("timeout_s", [0, 5])
def test_extractor_stage_in_process_and_sandboxed(timeout_s):
    stage = Extractor(ExtractConfig(extractor="resiliparse", timeout_s=timeout_s))
    stage.setup()
    try:
        doc = stage.process(Document(id="1", url="http://example.com/", html=PAGE))
        assert isinstance(doc, Document)
        assert "plain words" in doc.text and doc.html == ""
        assert stage.process(Document(id="2", url="http://example.com/", html="")) == Drop("empty_html")
        assert "restarts" not in stage.take_counts()  # a good page keeps its child
    finally:
        stage.teardown()


def scripted_extract(html: str, **settings) -> str:
    """Stands in for `extract_text` (same keywords); the page says what the extractor does."""
    command, _, arg = html.partition(":")
    if command == "burn":
        burn_cpu(0.05)
    elif command == "stall":
        time.sleep(60)
    elif command == "raise":
        raise ValueError("bad page")
    elif command == "die":  # note the attempt, then die mid-page
        with open(arg, "a") as attempts:
            attempts.write("attempt\n")
        os.kill(os.getpid(), signal.SIGKILL)
    elif command == "killed_once":  # the first child is killed from outside mid-page; a fresh one finishes
        pid_file = Path(arg)
        if not pid_file.exists():
            pid_file.write_text(str(os.getpid()))
            time.sleep(60)
    return f"text of {command}"


@pytest.fixture
def scripted_stage(monkeypatch):
    monkeypatch.setattr(extractor_module, "extract_text", scripted_extract)
    stages = []

    def make(timeout_s: float = 5) -> Extractor:
        stage = Extractor(ExtractConfig(timeout_s=timeout_s))
        stage.setup()
        stages.append(stage)
        return stage

    yield make
    for stage in stages:
        stage.teardown()


def page(html: str) -> Document:
    return Document(id="1", url="http://example.com/", html=html)


def kill_when_written(pid_file: Path) -> threading.Thread:
    """SIGKILL the process whose id appears in pid_file (as the OOM killer would)."""

    def kill() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if pid_file.exists() and pid_file.read_text():
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
                return
            time.sleep(0.01)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def test_child_killed_mid_page_is_replaced_and_the_page_tried_again(scripted_stage, tmp_path):
    stage = scripted_stage()
    pid_file = tmp_path / "child.pid"
    killer = kill_when_written(pid_file)
    doc = stage.process(page(f"killed_once:{pid_file}"))
    killer.join()
    assert isinstance(doc, Document) and doc.text == "text of killed_once"
    assert stage.take_counts()["restarts"] == 1  # the text came from a fresh child


def test_page_that_kills_every_child_is_dropped_after_one_retry(scripted_stage, tmp_path):
    stage = scripted_stage()
    attempts = tmp_path / "attempts"
    assert stage.process(page(f"die:{attempts}")) == Drop("extractor_error")
    assert attempts.read_text().count("attempt") == 2  # tried once more in a fresh child, not again
    assert stage.take_counts()["restarts"] == 1  # the retry's child; it died too
    assert stage.process(page("fine")).text == "text of fine"
    assert stage.take_counts()["restarts"] == 1  # the next page starts a fresh child


def test_timeout_becomes_a_drop_and_the_next_page_works(scripted_stage):
    stage = scripted_stage(timeout_s=0.3)
    assert stage.process(page("stall")) == Drop("timeout")
    assert stage.process(page("fine")).text == "text of fine"
    counts = stage.take_counts()
    assert counts["restarts"] == 1 and counts["cpu_ms"] >= 300  # the killed page counts its limit


@pytest.mark.parametrize("timeout_s", [0, 5])
def test_an_extractor_error_is_a_drop_and_cpu_is_counted_once(scripted_stage, timeout_s):
    stage = scripted_stage(timeout_s)
    assert stage.process(page("raise")) == Drop("extractor_error")
    assert stage.process(page("burn")).text == "text of burn"
    counts = stage.take_counts()
    assert counts["cpu_ms"] >= 50 and "restarts" not in counts  # an error keeps the child
    assert stage.take_counts() == {}  # counts are handed over once


def test_a_page_gives_the_same_text_fresh_and_after_500_other_pages():
    """Extraction is a pure function of the page: trafilatura's cross-page `deduplicate`
    cache is off by default, so the pages a worker saw before change nothing (with it on,
    a page seen earlier loses paragraphs; FineWeb's setting, measured in the README)."""
    shared = ("<p>Shared boilerplate paragraph that many pages of one site repeat word for word, long enough "
              "for trafilatura's duplicate check to count it among the segments it has seen before.</p>")
    def site_page(n: int) -> str:
        body = "".join(f"<p>Page {n} paragraph {k} says something of its own, at some length.</p>" for k in range(6))
        return f"<html><body><article><h1>Page {n}</h1>{body}{shared}</article></body></html>"

    target = site_page(10_000)
    fresh = Extractor(ExtractConfig())
    fresh.setup()
    warm = Extractor(ExtractConfig())
    warm.setup()
    try:
        first = fresh.process(page(target)).text
        for n in range(500):  # the site's other pages, and copies of this one (at other URLs)
            warm.process(page(target if n % 100 == 0 else site_page(n)))
        again = warm.process(page(target))
        assert isinstance(again, Document) and again.text == first
        assert "Shared boilerplate paragraph" in first
    finally:
        fresh.teardown()
        warm.teardown()
