"""The whole job end to end on the bundled sample WARCs, as `ccforge run` runs them with no
engine flags (inputs this small: both phases inside the driver; the worker processes' path,
which gives the same bytes, is test_reliability_job.py's)."""

import json

import duckdb
import pandas as pd
import pytest

from ccforge.config import load_config
from ccforge.jobs.run import run_job
from ccforge.stages import STAGE_NAMES
from conftest import SAMPLE_DIR

pytestmark = pytest.mark.whole_jobs  # scheduled first (conftest)

FINEWEB_COLUMNS = ["text", "id", "dump", "url", "date", "file_path", "language", "language_score", "token_count"]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    config = load_config("fineweb-en", ["extract.timeout_s=30", "output.write_rejects=true"])
    stats = run_job([str(SAMPLE_DIR / "*.warc.gz")], str(out), config, [])
    return out, stats


def test_funnel_has_every_stage_and_adds_up(sample_run):
    out, stats = sample_run
    on_disk = json.loads((out / "stats.json").read_text())
    assert [row["name"] for row in on_disk["stages"]] == STAGE_NAMES
    for row in on_disk["stages"]:
        assert row["in"] == row["kept"] + sum(row["dropped"].values()), row
    read = on_disk["stages"][0]
    assert read["in"] > read["kept"] > 0  # request/metadata records are counted, not kept
    for before, after in zip(on_disk["stages"], on_disk["stages"][1:]):
        assert after["in"] == before["kept"]
    # every stage that did work says how long it took (dedup's hashing happens in phase A)
    timed = {row["name"] for row in on_disk["stages"] if "time_s" in row}
    assert {"extract", "language", "minhash_dedup", "pii", "tokenize"} <= timed


def test_documents_parquet_has_fineweb_columns_and_readers_agree(sample_run):
    out, stats = sample_run
    frame = pd.read_parquet(out / "documents")
    assert list(frame.columns)[: len(FINEWEB_COLUMNS)] == FINEWEB_COLUMNS
    kept = [row for row in stats["stages"] if row["name"] == "tokenize"][0]["kept"]
    assert len(frame) == kept > 0
    assert frame["id"].is_unique
    assert (frame["language"] == "en").all()
    assert frame["text"].str.len().min() > 0
    assert frame["quality_score"].isna().all()  # no classifier ran in fineweb-en
    count = duckdb.sql(f"select count(*) from read_parquet('{out}/documents/*.parquet')").fetchall()[0][0]
    assert count == len(frame)


def test_run_writes_report_and_a_marker_per_piece(sample_run):
    out, stats = sample_run
    assert (out / "report.html").stat().st_size > 1000
    assert not (out / "_spill").exists()  # phase B's spill files are gone once it ends
    markers = list((out / "chunks").glob("*/*/_SUCCESS"))
    assert len(markers) == stats["pieces"] == 3  # the sample WARCs are under read.split_min_bytes
    assert stats["pipelines"] == 2


def test_rejects_are_written_per_stage_with_their_reason(sample_run):
    out, stats = sample_run
    language = [row for row in stats["stages"] if row["name"] == "language"][0]
    lines = [json.loads(line) for path in (out / "rejects" / "language").glob("*.jsonl")
             for line in path.read_text().splitlines()]
    assert len(lines) == sum(language["dropped"].values()) > 0
    assert {line["reason"] for line in lines} == set(language["dropped"])
