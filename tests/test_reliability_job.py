"""The default command, as a user runs it (no engine flags: trafilatura in its sandbox, the
multi_processing engine, phase B placed automatically): it gives the same bytes run twice,
after SIGKILL at three moments in a row and a rerun, and when the inputs are cut into other
pieces and run on another number of workers."""

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
# Small pieces, so that each WARC is cut into several and a kill finds some committed and
# some not (the default, 1 MiB, would leave the sample WARCs whole). Phase A on the worker
# processes: by default inputs this small are done inside the driver (tested apart below).
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


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path_factory.mktemp("reference")
    lines = Job(out).finish()
    assert any(line.startswith("phase A") and "piece(s)" in line and "in this process" not in line for line in lines)
    assert any(line.startswith("phase B") and "documents" in line for line in lines)
    found = outputs(out)
    assert any(name.startswith("documents/") for name in found) and any(n.startswith("tokens/") for n in found)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["pipelines"] == 2 and stats["pieces"] > len(WARCS)  # the WARCs were cut
    assert stats["config"]["extract"]["extractor"] == "trafilatura" and stats["config"]["extract"]["timeout_s"] > 0
    return out, found


def test_the_default_command_gives_the_same_bytes_twice(tmp_path, reference):
    _, found = reference
    Job(tmp_path / "again").finish()
    assert_same_outputs(tmp_path / "again", found)


def test_manifest_and_parquet_hold_no_times(reference):
    _, found = reference
    manifest = json.loads(found["manifest.json"])
    assert "created" not in manifest
    assert not any("time_s" in row or "counts" in row for row in manifest["funnel"])
    assert sum(s["rows"] for s in manifest["shards"]) == manifest["funnel"][-1]["kept"] > 0
    for name, data in found.items():
        if name.endswith(".parquet"):
            meta = pq.ParquetFile(pa.BufferReader(data)).metadata
            keys = set((meta.metadata or {}).keys())
            assert keys <= {b"ARROW:schema", b"ccforge"}, keys  # no writer timestamps anywhere
            assert meta.created_by.startswith("parquet-cpp-arrow")


def test_killed_three_times_in_a_row_then_rerun(tmp_path, reference):
    reference_dir, found = reference
    pieces = json.loads((reference_dir / "stats.json").read_text())["pieces"]
    out = tmp_path / "run"
    # 1. during phase A: some pieces committed, not all
    job = Job(out)
    job.wait_for(lambda: len(markers(out)) >= 1)
    job.kill()
    committed = {path: path.stat().st_mtime_ns for path in markers(out)}
    assert 1 <= len(committed) < pieces and not (out / "chunks" / "_phase_a.json").exists()
    # 2. at the end of phase A: its summary written, phase B not begun
    job = Job(out)
    job.wait_for(lambda: (out / "chunks" / "_phase_a.json").exists())
    job.kill()
    assert len(markers(out)) == pieces
    assert {path: path.stat().st_mtime_ns for path in committed} == committed  # not redone
    # 3. during phase B: some of its outputs on disk, no manifest
    job = Job(out)
    written = [out / "documents", out / "tokens", out / "_spill", out / "dedup"]
    job.wait_for(lambda: any(d.is_dir() and any(d.rglob("*")) for d in written))
    job.kill()
    assert not (out / "manifest.json").exists()
    # 4. to the end
    lines = Job(out).finish()
    assert any(f"{pieces} done earlier" in line for line in lines)
    assert_same_outputs(out, found)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["pieces_done_before"] == pieces
    reference_stats = json.loads((reference_dir / "stats.json").read_text())
    assert [row["kept"] for row in stats["stages"]] == [row["kept"] for row in reference_stats["stages"]]
    assert not list(out.rglob("*.tmp-*")) and not (out / "_spill").exists()
    # every piece directory holds its marker and the files it names, nothing else
    for marker in markers(out):
        named = {entry["name"] for entry in json.loads(marker.read_text())["files"]} | {"_SUCCESS"}
        assert {p.name for p in marker.parent.iterdir()} == named


def test_other_cuts_and_worker_counts_give_the_same_documents_and_shards(tmp_path, reference):
    reference_dir, found = reference
    out = tmp_path / "one-worker"
    Job(out, ["--direct_num_workers=1"], settings=["read.split_min_bytes=65536", *SETTINGS[1:]]).finish()
    pieces = json.loads((out / "stats.json").read_text())["pieces"]
    assert pieces != json.loads((reference_dir / "stats.json").read_text())["pieces"]  # cut otherwise
    got = outputs(out, with_manifest=False)
    assert got == {name: data for name, data in found.items() if name != "manifest.json"}
    manifest, expected = json.loads((out / "manifest.json").read_text()), json.loads(found["manifest.json"])
    assert manifest["shards"] == expected["shards"] and manifest["funnel"] == expected["funnel"]


def test_phase_a_inside_the_driver_gives_the_same_documents_and_shards(tmp_path, reference):
    """Inputs this small are done inside the driver by default; the same pieces, the same bytes."""
    reference_dir, found = reference
    out = tmp_path / "in-driver"
    lines = Job(out, settings=SETTINGS[:1]).finish()
    assert any(line.startswith("phase A") and "in this process" in line for line in lines)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["pieces"] == json.loads((reference_dir / "stats.json").read_text())["pieces"]
    assert outputs(out, with_manifest=False) == {name: data for name, data in found.items() if name != "manifest.json"}
    manifest, expected = json.loads((out / "manifest.json").read_text()), json.loads(found["manifest.json"])
    assert manifest["shards"] == expected["shards"] and manifest["funnel"] == expected["funnel"]
