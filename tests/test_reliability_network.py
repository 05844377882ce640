"""The whole job over http(s) inputs from a loopback server that drops connections, answers
500/503/502 and stalls: every record is still read exactly once (the same phase-A output
and funnel as reading the same WARCs from disk)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ccforge.cli import main as ccforge
from ccforge.pipeline.stats import funnel_without_timing
from conftest import SAMPLE_DIR
from test_read_http import Server, drop_after, stall, status

pytestmark = pytest.mark.whole_jobs  # scheduled first (conftest)

WARCS = sorted(SAMPLE_DIR.glob("*.warc.gz"))
SETTINGS = [
    "extract.extractor=resiliparse",
    "extract.timeout_s=0",  # extraction in-process: the reader's faults are under test here
    "read.split_min_bytes=20000",  # several byte ranges per file: several Range reads
    "read.backoff_s=0.01",
    "read.timeout_s=0.5",
    "read.retries=4",
]
BEAM = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def run(inputs: list[str], out: Path) -> dict:
    args = ["run", "--output", str(out), "--skip", "pii,tokenize"]
    for spec in inputs:
        args += ["--input", spec]
    for item in SETTINGS:
        args += ["--set", item]
    assert ccforge(args + BEAM) == 0
    return json.loads((out / "stats.json").read_text())


def phase_a_ids(out: Path) -> Counter:
    ids: Counter = Counter()
    for path in (out / "chunks").glob("*/*/*.parquet"):
        ids.update(pq.read_table(path, columns=["id"]).column("id").to_pylist())
    return ids


def documents(out: Path) -> list[dict]:
    rows = pq.read_table(out / "documents").drop_columns(["file_path"]).to_pylist()
    return sorted(rows, key=lambda row: row["id"])


@pytest.fixture
def server():
    srv = Server()
    for path in WARCS:
        srv.files[f"/{path.name}"] = path.read_bytes()
    yield srv
    srv.close()


@pytest.mark.slow  # make test-slow (CI runs it too)
def test_faulty_http_inputs_read_every_record_exactly_once(tmp_path, server):
    local = run([str(p) for p in WARCS], tmp_path / "local")
    server.faults = [
        drop_after(30_000), status(503), stall(1.0), status(500), drop_after(2_000),
        status(502), drop_after(60_000), stall(1.0), drop_after(1),
    ]
    remote = run([server.url(p.name) for p in WARCS], tmp_path / "http")

    assert not server.faults, "every fault should have been met and survived"
    assert remote["failed_inputs"] == []
    assert funnel_without_timing(remote["stages"]) == funnel_without_timing(local["stages"])
    ids = phase_a_ids(tmp_path / "http")
    assert ids == phase_a_ids(tmp_path / "local") and max(ids.values()) == 1
    assert documents(tmp_path / "http") == documents(tmp_path / "local")
    gets = [rng for method, _, rng in server.log if method == "GET"]
    assert any(rng and rng != "bytes=0-" for rng in gets)  # resumed and split reads used Range
