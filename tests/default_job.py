"""The default command as a user runs it (`python -m ccforge.jobs.run --input ... --output
...`: no engine flags, trafilatura in its sandbox, the multi_processing engine, phase B placed
automatically), in its own process group, and its uninterrupted run on the sample, computed
once per test session for test_reliability_job.py and test_reliability_kill.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLE_DIR, computed_once

WARCS = sorted(str(p) for p in SAMPLE_DIR.glob("*.warc.gz"))
# Small pieces, so that each WARC is cut into several and a kill finds some committed and
# some not (the default, 1 MiB, would leave the sample WARCs whole). Phase A on the worker
# processes, as a crawl's runs do: by default inputs this small are done inside the driver
# (test_reliability_job.py checks that path gives the same bytes).
SETTINGS = ["read.split_min_bytes=32768", "output.in_process_phase_a_bytes=0"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CCFORGE_PROGRESS_EVERY_S": "1"}


class Job:
    """`python -m ccforge.jobs.run` in its own process group (its Beam workers with it),
    stdout collected line by line."""

    def __init__(self, out: Path, extra: list[str] = (), settings: list[str] = SETTINGS):
        args = [sys.executable, "-m", "ccforge.jobs.run", "--output", str(out)]
        for path in WARCS:
            args += ["--input", path]
        for item in settings:
            args += ["--set", item]
        self.proc = subprocess.Popen(
            args + list(extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, cwd=ROOT, env=ENV,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, condition, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                pytest.fail("the job ended before the moment to kill it:\n" + "\n".join(self.lines[-20:]))
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail("timed out waiting for the moment to kill the job:\n" + "\n".join(self.lines[-20:]))
            time.sleep(0.01)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._reader.join(5)

    def finish(self, timeout: float = 120.0) -> list[str]:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("the job did not finish:\n" + "\n".join(self.lines[-20:]))
        self._reader.join(5)
        assert self.proc.returncode == 0, "\n".join(self.lines[-30:])
        return self.lines


def outputs(out: Path, with_manifest: bool = True) -> dict[str, bytes]:
    """The reproducible outputs: documents Parquet, token shards, manifest."""
    files = sorted((out / "documents").glob("*.parquet")) + sorted((out / "tokens").glob("*.parquet"))
    found = {str(p.relative_to(out)): p.read_bytes() for p in files}
    if with_manifest:
        found["manifest.json"] = (out / "manifest.json").read_bytes()
    return found


def markers(out: Path) -> list[Path]:
    return sorted((out / "chunks").glob("*/*/_SUCCESS"))


def assert_same_outputs(out: Path, reference: dict[str, bytes]) -> None:
    got = outputs(out)
    assert sorted(got) == sorted(reference)
    for name, data in reference.items():
        assert got[name] == data, f"{name} differs from the uninterrupted run"
    stats = json.loads((out / "stats.json").read_text())
    assert all(row["in"] == row["kept"] + sum(row["dropped"].values()) for row in stats["stages"])


def run_reference(out: Path) -> None:
    lines = Job(out).finish()
    assert any(line.startswith("phase A") and "piece(s)" in line and "in this process" not in line for line in lines)
    assert any(line.startswith("phase B") and "documents" in line for line in lines)
    found = outputs(out)
    assert any(name.startswith("documents/") for name in found) and any(n.startswith("tokens/") for n in found)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["pipelines"] == 2 and stats["pieces"] > len(WARCS)  # the WARCs were cut
    assert stats["config"]["extract"]["extractor"] == "trafilatura" and stats["config"]["extract"]["timeout_s"] > 0


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """The uninterrupted default run: its directory and reproducible outputs."""
    out = computed_once(tmp_path_factory, "default-reference", run_reference)
    return out, outputs(out)
