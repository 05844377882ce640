"""Resumable and reproducible runs: SIGKILL at several moments then the same command again,
and the in_memory and multi_processing engines, all give byte-identical documents Parquet
and manifest.json (which holds no times)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, SAMPLE_DIR

WARCS = sorted(str(p) for p in SAMPLE_DIR.glob("*.warc.gz"))
# The extractor runs in its sandbox, as by default: its forked children used to die now
# and then beside a worker's busy gRPC threads, which made runs differ (see jobs/options.py).
SETTINGS = ["output.files_per_chunk=2", "extract.extractor=resiliparse"]
IN_MEMORY = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
CHUNKS = 2  # three WARCs, two per chunk
MULTI = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


class Job:
    """`python -m ccforge.jobs.run` in its own process group (its Beam workers with it),
    stdout collected line by line."""

    def __init__(self, out: Path, beam_args: list[str]):
        args = [sys.executable, "-m", "ccforge.jobs.run", "--output", str(out)]
        for path in WARCS:
            args += ["--input", path]
        for item in SETTINGS:
            args += ["--set", item]
        self.proc = subprocess.Popen(
            args + beam_args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, cwd=ROOT, env=ENV,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, condition, timeout: float = 50.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                pytest.fail("the job ended before the moment to kill it:\n" + "\n".join(self.lines[-20:]))
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail("timed out waiting for the moment to kill the job:\n" + "\n".join(self.lines[-20:]))
            time.sleep(0.02)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._reader.join(5)

    def finish(self, timeout: float = 55.0) -> list[str]:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("the job did not finish:\n" + "\n".join(self.lines[-20:]))
        self._reader.join(5)
        assert self.proc.returncode == 0, "\n".join(self.lines[-30:])
        return self.lines


def run_to_end(out: Path, beam_args: list[str]) -> list[str]:
    return Job(out, beam_args).finish()


def outputs(out: Path) -> dict[str, bytes]:
    """The reproducible outputs: documents Parquet, token shards, manifest."""
    files = sorted((out / "documents").glob("*.parquet")) + sorted((out / "tokens").glob("*.parquet"))
    found = {str(p.relative_to(out)): p.read_bytes() for p in files}
    found["manifest.json"] = (out / "manifest.json").read_bytes()
    return found


def markers(out: Path) -> list[Path]:
    return sorted((out / "chunks").glob("*/_SUCCESS"))


def assert_same_outputs(out: Path, reference: dict[str, bytes]) -> None:
    got = outputs(out)
    assert sorted(got) == sorted(reference)
    for name, data in reference.items():
        assert got[name] == data, f"{name} differs from the uninterrupted run"
    stats = json.loads((out / "stats.json").read_text())
    assert all(row["in"] == row["kept"] + sum(row["dropped"].values()) for row in stats["stages"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("reference")
    lines = run_to_end(out, IN_MEMORY)
    assert sum("phase A  chunk" in line for line in lines) == CHUNKS  # progress, a line per chunk
    assert any(line.startswith("phase B") and "documents" in line for line in lines)
    found = outputs(out)
    assert any(name.startswith("documents/") for name in found) and any(n.startswith("tokens/") for n in found)
    return found


def test_manifest_and_parquet_hold_no_times(reference):
    manifest = json.loads(reference["manifest.json"])
    assert "created" not in manifest
    assert not any("time_s" in row or "counts" in row for row in manifest["funnel"])
    assert sum(s["rows"] for s in manifest["shards"]) == manifest["funnel"][-1]["kept"] > 0
    for name, data in reference.items():
        if name.endswith(".parquet"):
            meta = pq.ParquetFile(pa.BufferReader(data)).metadata
            keys = set((meta.metadata or {}).keys())
            assert keys <= {b"ARROW:schema", b"ccforge"}, keys  # no writer timestamps anywhere
            assert meta.created_by.startswith("parquet-cpp-arrow")


def test_kill_during_phase_a_then_rerun(tmp_path, reference):
    out = tmp_path / "run"
    # killed while the first chunk is being read: nothing committed
    job = Job(out, IN_MEMORY)
    job.wait_for(lambda: (out / "chunks").is_dir())
    job.kill()
    assert not markers(out)
    # killed right after the first chunk committed
    job = Job(out, IN_MEMORY)
    job.wait_for(lambda: len(markers(out)) >= 1)
    job.kill()
    done = len(markers(out))
    assert 1 <= done < CHUNKS
    lines = run_to_end(out, IN_MEMORY)
    skipped = [line for line in lines if "done earlier, skipped" in line]
    assert len(skipped) == done
    assert_same_outputs(out, reference)
    # rerun of a finished run over what an earlier phase B might have left (other file
    # counts, temp files) and a marker cut short: that chunk is redone, the rest skipped
    for name in ("documents/documents-00003-of-00004.parquet", "tokens/val-00007.parquet",
                 "documents/documents-00000-of-00001.parquet.tmp-0badf00d",
                 "dedup/band_index/bands-00009-of-00010.parquet"):
        (out / name).write_bytes(b"stale")
    marker = markers(out)[0]
    marker.write_text(marker.read_text()[:20])
    lines = run_to_end(out, IN_MEMORY)
    assert sum("done earlier, skipped" in line for line in lines) == CHUNKS - 1
    assert_same_outputs(out, reference)
    assert not list(out.rglob("*.tmp-*")) and not (out / "dedup/band_index/bands-00009-of-00010.parquet").exists()


def test_kill_during_phase_b_then_rerun_on_multi_processing(tmp_path, reference):
    """Also the determinism check across engines: this run is multi_processing."""
    out = tmp_path / "run"
    job = Job(out, MULTI)
    job.wait_for(lambda: any(line.startswith("phase B") for line in job.lines))
    written = [out / "documents", out / "tokens", out / "dedup"]
    job.wait_for(lambda: any(d.is_dir() and any(d.rglob("*")) for d in written))
    job.kill()
    assert len(markers(out)) == CHUNKS and not (out / "manifest.json").exists()
    lines = run_to_end(out, MULTI)
    assert sum("done earlier, skipped" in line for line in lines) == CHUNKS
    assert_same_outputs(out, reference)
