"""Every document appears once in the output, however often the input repeats it: the same
WARC under two names, a WARC concatenated with itself, and one record inside two different
WARCs each give the same documents and shards, bytes included, as the WARCs read once; the
funnel counts the copies as `duplicate_record`. (The portable-runner path of the same runs
is in test_portable_runner.py.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from ccforge.config import load_config
from ccforge.jobs.run import run_job
from conftest import PORTABLE, SAMPLE_DIR

pytestmark = pytest.mark.whole_jobs  # scheduled first (conftest)

SETTINGS = ["extract.extractor=resiliparse"]  # the keep rule is under test, not the extractor
A, B = SAMPLE_DIR / "sample-0000.warc.gz", SAMPLE_DIR / "sample-0001.warc.gz"


def first_html_record(path: Path) -> bytes:
    """The bytes of the first HTML response record of a per-record-gzip WARC (its gzip member)."""
    data = path.read_bytes()
    with open(path, "rb") as stream:
        records = ArchiveIterator(stream)
        for record in records:
            if record.rec_type == "response" and "html" in (record.http_headers.get_header("Content-Type") or ""):
                start = records.get_record_offset()
                record.content_stream().read()
                records.read_to_end(record)
                return data[start: start + records.get_record_length()]
    raise AssertionError("no HTML response")


def run(inputs: list[Path], out: Path, beam_args: list[str] | None = None) -> dict:
    return run_job([str(p) for p in inputs], str(out), load_config(None, SETTINGS), beam_args or [])


def outputs(out: Path) -> dict[str, bytes]:
    files = sorted((out / "documents").glob("*.parquet")) + sorted((out / "tokens").glob("*.parquet"))
    return {str(p.relative_to(out)): p.read_bytes() for p in files}


def repeated_inputs(tmp_path: Path) -> dict[str, list[Path]]:
    """The plain inputs, and the same records repeated three ways (paths chosen so that the
    original copy of each record has the smallest (file, offset))."""
    plain = tmp_path / "x"
    plain.mkdir()
    shutil.copy(A, plain / "a.warc.gz")
    shutil.copy(B, plain / "b.warc.gz")
    renamed = tmp_path / "y"
    renamed.mkdir()
    shutil.copy(A, renamed / "a.warc.gz")
    # a concatenated with itself, and b with one record of a appended, at the same paths
    doubled = tmp_path / "z" / "x"
    doubled.mkdir(parents=True)
    (doubled / "a.warc.gz").write_bytes(A.read_bytes() * 2)
    (doubled / "b.warc.gz").write_bytes(B.read_bytes() + first_html_record(A))
    return {
        "plain": [plain / "a.warc.gz", plain / "b.warc.gz"],
        "renamed": [plain / "a.warc.gz", plain / "b.warc.gz", renamed / "a.warc.gz"],
        "doubled": [doubled / "a.warc.gz", doubled / "b.warc.gz"],
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("repeats")
    inputs = repeated_inputs(base)
    stats = {name: run(paths, base / f"run-{name}") for name, paths in inputs.items() if name != "doubled"}
    # the doubled run must see the same paths as the plain one: swap the files in place
    plain = inputs["plain"]
    for path, doubled in zip(plain, inputs["doubled"]):
        shutil.copy(doubled, path)
    stats["doubled"] = run(plain, base / "run-doubled")
    return base, stats


def funnel(stats: dict) -> dict:
    return {row["name"]: row for row in stats["stages"]}


def test_the_same_warc_under_two_names_gives_the_same_outputs(runs):
    base, stats = runs
    assert outputs(base / "run-renamed") == outputs(base / "run-plain") != {}
    plain, renamed = funnel(stats["plain"]), funnel(stats["renamed"])
    extra = renamed["exact_dedup"]["in"] - plain["exact_dedup"]["in"]  # every document of the second name
    assert extra > 1 and renamed["exact_dedup"]["dropped"]["duplicate_record"] == extra
    assert renamed["tokenize"]["kept"] == plain["tokenize"]["kept"]


def test_a_concatenated_warc_and_a_record_in_two_warcs_give_the_same_outputs(runs):
    base, stats = runs
    assert outputs(base / "run-doubled") == outputs(base / "run-plain")
    plain, doubled = funnel(stats["plain"]), funnel(stats["doubled"])
    extra = doubled["exact_dedup"]["in"] - plain["exact_dedup"]["in"]
    assert extra > 1 and doubled["exact_dedup"]["dropped"]["duplicate_record"] == extra
    assert doubled["tokenize"]["kept"] == plain["tokenize"]["kept"]
    for stats_ in stats.values():
        assert all(row["in"] == row["kept"] + sum(row["dropped"].values()) for row in stats_["stages"])


def test_inspect_validate_fails_a_run_whose_documents_repeat_an_id(runs, tmp_path, capsys):
    from ccforge.cli import main as ccforge

    base, _ = runs
    broken = tmp_path / "broken"
    shutil.copytree(base / "run-plain", broken)
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = sorted((broken / "documents").glob("*.parquet"))[0]
    table = pq.read_table(path)
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), path)
    assert ccforge(["inspect", str(broken), "--validate"]) != 0
    assert json.dumps(table.column("id")[0].as_py())[1:-1] in capsys.readouterr().out


@pytest.mark.slow  # make test-slow (CI runs it too)
def test_the_portable_runner_writes_the_same_bytes_in_two_jobs(runs, job_service):
    """The remote path (verdicts joined by id, clusters by rounds of shuffles, outputs by
    shuffles) over the repeated inputs gives what the local run gave over the plain ones."""
    base, stats = runs
    port, log = job_service
    inputs = sorted((base / "x").glob("*.warc.gz"))  # the doubled files, at the plain paths
    beam_args = [*PORTABLE, f"--job_endpoint=localhost:{port}"]
    jobs_before = log.read_text().count("Running job")  # the service is shared by the session
    remote = run(inputs, base / "run-portable", beam_args)
    assert outputs(base / "run-portable") == outputs(base / "run-plain")
    assert log.read_text().count("Running job") - jobs_before == 2
    assert remote["pipelines"] == 2
    clusters = remote["dedup_clusters"]
    assert clusters["method"] == "large-star/small-star rounds" and clusters["unsettled_at_end"] == 0
    assert 0 <= clusters["settled_after_round"] <= clusters["rounds"]
    local, portable = funnel(stats["doubled"]), funnel(remote)
    assert {name: (row["in"], row["kept"], row["dropped"]) for name, row in portable.items()} == {
        name: (row["in"], row["kept"], row["dropped"]) for name, row in local.items()}


@pytest.mark.slow  # make test-slow (CI runs it too)
def test_many_small_warcs_are_two_pipelines(tmp_path, monkeypatch):
    """Forty WARCs (one Common Crawl sample cut at record boundaries) are one phase-A
    pipeline and one phase-B pipeline, and give the documents the whole file gives."""
    import apache_beam as beam
    import pyarrow.parquet as pq

    data = A.read_bytes()
    with open(A, "rb") as stream:
        records = ArchiveIterator(stream)
        starts = []
        for _ in records:
            starts.append(records.get_record_offset())
    cuts = [starts[i] for i in range(0, len(starts), max(1, len(starts) // 40))][:40] + [len(data)]
    inputs = []
    for index, (start, end) in enumerate(zip(cuts, cuts[1:])):
        path = tmp_path / "in" / f"part-{index:03d}.warc.gz"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data[start:end])
        inputs.append(path)
    submitted = []
    real_run = beam.Pipeline.run
    monkeypatch.setattr(beam.Pipeline, "run", lambda self, *a, **k: submitted.append(1) or real_run(self, *a, **k))
    stats = run(inputs, tmp_path / "many")
    whole = run([A], tmp_path / "one")
    assert len(inputs) >= 30 and len(submitted) == 4 and stats["pipelines"] == whole["pipelines"] == 2
    assert stats["pieces"] == len(inputs)

    def ids(out):
        return sorted(pq.read_table(out / "documents", columns=["id"]).column("id").to_pylist())

    assert ids(tmp_path / "many") == ids(tmp_path / "one") != []
