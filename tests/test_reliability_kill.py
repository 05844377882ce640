"""The default command killed (SIGKILL to its process group) at three moments in a row,
then rerun: it ends with the bytes of an uninterrupted run, and redoes no committed piece."""

from __future__ import annotations

import json

import pytest

from default_job import Job, assert_same_outputs, markers, reference  # noqa: F401 (a fixture)

pytestmark = pytest.mark.whole_jobs


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
