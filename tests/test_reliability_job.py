"""The default command, as a user runs it: it gives the same bytes run twice, when the inputs
are cut into other pieces and run on another number of workers, and with phase A inside the
driver (the default for inputs this small). Killed and rerun: test_reliability_kill.py."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from default_job import SETTINGS, Job, assert_same_outputs, outputs, reference  # noqa: F401 (a fixture)

pytestmark = pytest.mark.whole_jobs


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


@pytest.mark.slow  # make test-slow (CI runs it too)
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


@pytest.mark.slow  # make test-slow (CI runs it too)
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
