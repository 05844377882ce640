"""Phase B's outputs: the local runner's spill files and the shuffle give the same files,
placed and ordered by key, with memory bounded by the spill size."""

from __future__ import annotations

import hashlib
from pathlib import Path

import apache_beam as beam
import numpy as np
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from ccforge.document import Document
from ccforge.hashing import file_index
from ccforge.pipeline import phase_b, spill
from ccforge.pipeline.output_files import document_key
from ccforge.pipeline.parquet_io import WriteDocuments
from ccforge.pipeline.spill import SpillRows, WriteOutputsFromSpill, range_bits
from ccforge.pipeline.tokenize_steps import TokenizeDocuments, WriteTokenShards
from ccforge.tokenize.config import TokenizeConfig
from ccforge.tokenize.shards import order_key

pytestmark = pytest.mark.whole_jobs  # scheduled first (conftest)

TOKENIZE = TokenizeConfig(shard_tokens=300, val_fraction=0.2, batch_size=8, threads=2)
WORDS = "river stone light paper window garden music winter orange market".split()


def make_documents(n: int = 80) -> list[Document]:
    rng = np.random.default_rng(7)
    docs = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(5, 60)))) + f" number {i}."
        docs.append(Document(id=f"<urn:uuid:{i:04d}>", url=f"http://example.com/{i}", text=text,
                             language="en", language_score=0.9))
    docs.append(Document(id="<urn:uuid:0003>", url="http://example.com/again", text="the same id, twice"))
    return docs


def write_outputs(out: Path, spill_dir: Path | None) -> dict[str, str]:
    pipeline = beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions(["--direct_running_mode=in_memory"]))
    docs = pipeline | beam.Create(make_documents()) | TokenizeDocuments(TOKENIZE)
    if spill_dir is None:
        _ = docs | WriteTokenShards(str(out), TOKENIZE)
        _ = docs | WriteDocuments(f"{out}/documents", 3, "zstd")
    else:
        _ = docs | WriteOutputsFromSpill(str(spill_dir), 2, str(out), 3, "zstd", TOKENIZE)
    pipeline.run().wait_until_finish()
    files = sorted(out.glob("documents/*.parquet")) + sorted(out.glob("tokens/*.parquet"))
    return {f"{p.parent.name}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_spill_files_and_shuffle_write_the_same_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(spill, "SPILL_BYTES", 2_000)  # many spill files, each with several key ranges
    shuffled = write_outputs(tmp_path / "shuffle", None)
    spilled = write_outputs(tmp_path / "spill", tmp_path / "spill-files")
    assert spilled == shuffled
    assert len([name for name in spilled if name.startswith("tokens/train")]) > 2
    assert len([name for name in spilled if name.startswith("documents/")]) == 3
    assert len(list((tmp_path / "spill-files").glob("*.arrow"))) > 5


def test_rows_are_placed_by_key_range_and_sorted_by_key(tmp_path):
    write_outputs(tmp_path / "out", tmp_path / "spill-files")
    seen = []
    for path in sorted((tmp_path / "out" / "documents").glob("*.parquet")):
        index = int(path.name.split("-")[1])
        keys = [document_key(doc_id) for doc_id in pq.read_table(path, columns=["id"]).column("id").to_pylist()]
        assert keys == sorted(keys)
        assert {file_index(key, 3) for key in keys} == {index}
        seen += keys
    assert len(seen) == len(make_documents())  # both rows with the same id are kept
    for path in sorted((tmp_path / "out" / "tokens").glob("train-*.parquet")):
        keys = [order_key(doc_id, TOKENIZE.seed) for doc_id in pq.read_table(path, columns=["id"]).column("id").to_pylist()]
        assert keys == sorted(keys)


def test_a_bundle_holds_at_most_one_spill_of_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(spill, "SPILL_BYTES", 5_000)
    spiller = SpillRows(str(tmp_path), 3, None)
    spiller.setup()
    spiller.start_bundle()
    refs, most_held = [], 0
    for doc in make_documents(200):
        refs += list(spiller.process(doc))
        most_held = max(most_held, spiller.held)
    refs += [getattr(ref, "value", ref) for ref in spiller.finish_bundle()]
    assert most_held < 5_000
    assert len(refs) == len(list(tmp_path.glob("*.arrow"))) > 5
    for kind, (path, ranges, tokens) in refs:
        assert kind == "documents" and tokens == 0
        assert ranges == sorted(set(ranges)) and all(0 <= r < 8 for r in ranges)


def test_key_ranges_follow_the_text_volume():
    assert range_bits(0) == 0
    assert range_bits(spill.RANGE_CHARS) == 0
    assert range_bits(spill.RANGE_CHARS + 1) == 1
    assert range_bits(13_000_000) == 2
    assert range_bits(10**15) == spill.MAX_RANGE_BITS


@pytest.mark.slow  # make test-slow (CI runs it too)
def test_remote_runner_path_writes_what_the_local_one_writes(tmp_path, monkeypatch):
    """On a remote runner phase B shuffles instead of spilling and joins the dedup verdicts
    by id instead of a side input: run over the same chunks, it writes the same bytes."""
    import shutil

    from ccforge.config import load_config
    from ccforge.jobs import run
    from conftest import SAMPLE_DIR

    beam_args = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
    config = load_config(None, ["extract.extractor=resiliparse", "tokenize.val_fraction=0.2"])
    inputs = [str(SAMPLE_DIR / "*.warc.gz")]
    local, remote = tmp_path / "local", tmp_path / "remote"
    stats = run.run_job(inputs, str(local), config, beam_args)
    funnel = {row["name"]: row for row in stats["stages"]}
    assert funnel["minhash_dedup"]["kept"] < funnel["exact_dedup"]["in"]  # dedup drops some: the join has work
    shutil.copytree(local / "chunks", remote / "chunks")  # phase A is skipped: its markers are there
    monkeypatch.setattr(run, "is_local", lambda options: False)
    joins = []
    real = phase_b.DropDuplicates
    monkeypatch.setattr(phase_b, "DropDuplicates", lambda *args, **kw: joins.append(kw["join"]) or real(*args, **kw))
    run.run_job(inputs, str(remote), config, beam_args)
    assert joins == [True]

    def outputs(out: Path) -> dict:
        files = [*out.glob("documents/*.parquet"), *out.glob("tokens/*.parquet"), out / "manifest.json"]
        found = {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
        bands = [pq.read_table(p).to_pydict() for p in out.glob("dedup/band_index/*.parquet")]
        found["bands"] = sorted(zip(*(sum((b[k] for b in bands), []) for k in ("band", "band_hash"))))
        return found

    assert outputs(remote) == outputs(local)
    assert len(outputs(local)["bands"]) > 0
