"""The extractor's time limit: a stalled or crashing page costs itself, never the job."""

from __future__ import annotations

import os
import time

import pytest

from ccforge.document import Document, Drop
from ccforge.extract.extractor import ExtractConfig, Extractor, PageSandbox, PageTimeout, SandboxCrashed

PARAGRAPH = "<p>A sentence of plain words in a paragraph.</p>"
PAGE = f"<html><body><article><h1>Title</h1>{PARAGRAPH * 20}</article></body></html>"


def fake_extract(html: str) -> str:
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
        assert sandbox.cpu_s >= 0
    finally:
        sandbox.close()


def test_stalled_page_is_killed_within_the_limit_and_the_next_page_works():
    sandbox = PageSandbox(fake_extract, timeout_s=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(PageTimeout):
            sandbox.run("stall")
        assert time.monotonic() - started < 5
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


@pytest.mark.parametrize("timeout_s", [0, 5])
def test_extractor_stage_in_process_and_sandboxed(timeout_s):
    stage = Extractor(ExtractConfig(extractor="resiliparse", timeout_s=timeout_s))
    stage.setup()
    try:
        doc = stage.process(Document(id="1", url="http://example.com/", html=PAGE))
        assert isinstance(doc, Document)
        assert "plain words" in doc.text and doc.html == ""
        assert stage.process(Document(id="2", url="http://example.com/", html="")) == Drop("empty_html")
        counts = stage.take_counts()
        assert set(counts) <= {"cpu_ms", "restarts"}
        assert stage.take_counts() == {}  # counts are handed over once
    finally:
        stage.teardown()
