"""Phase A's pieces without a pipeline: planning, committing, a piece run twice (as a runner
retrying a bundle does), an attempt killed halfway, a changed setting, and the progress
line a person watches."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from ccforge.config import load_config
from ccforge.jobs.progress import LocalProgress, phase_a_line
from ccforge.jobs.run import phase_a_fingerprint
from ccforge.pipeline.phase_a import PlanPieces, ProcessPiece, pieces_per_input
from ccforge.pipeline.pieces import (
    Piece,
    committed_row_groups,
    input_key,
    prepare_chunks_dir,
    read_marker,
)
from ccforge.pipeline.progress import ProgressFile, read_progress
from conftest import SAMPLE_DIR

WARC = str(SAMPLE_DIR / "sample-0000.warc.gz")


@pytest.fixture
def setup(tmp_path):
    config = load_config(None, ["extract.extractor=resiliparse", "extract.timeout_s=0", "read.split_min_bytes=32768"])
    return config, str(tmp_path / "chunks"), phase_a_fingerprint(config)


def plan(config, chunks_dir, fingerprint, pieces=4):
    planner = PlanPieces(config.read, chunks_dir, fingerprint, pieces)
    planner.setup()
    out = list(planner.process((WARC, "")))
    return [p for p in out if isinstance(p, Piece)], [p.value for p in out if not isinstance(p, Piece)]


def process(config, chunks_dir, fingerprint, piece):
    step = ProcessPiece(config, chunks_dir, fingerprint)
    step.setup()
    try:
        return list(step.process(piece))
    finally:
        step.teardown()


def names_in(chunks_dir, piece) -> list[str]:
    return sorted(p.name for p in Path(piece.directory(chunks_dir)).iterdir())


def test_plan_is_kept_and_committed_pieces_are_skipped(setup):
    config, chunks_dir, fingerprint = setup
    pending, done = plan(config, chunks_dir, fingerprint)
    assert len(pending) == 4 and not done
    assert [p.start for p in pending] == sorted(p.start for p in pending) and pending[0].start == 0
    process(config, chunks_dir, fingerprint, pending[1])
    # another number of workers now: the kept plan cuts the input as before
    again, done = plan(config, chunks_dir, fingerprint, pieces=2)
    assert [(p.start, p.end) for p in again] == [(p.start, p.end) for p in pending if p != pending[1]]
    assert len(done) == 1 and done[0]["pieces_done_before"] == 1 and done[0]["counts"]["read:in"] > 0


def test_a_piece_run_twice_leaves_one_copy(setup):
    config, chunks_dir, fingerprint = setup
    piece = plan(config, chunks_dir, fingerprint)[0][0]
    first = process(config, chunks_dir, fingerprint, piece)[0]
    marker = read_marker(chunks_dir, piece, fingerprint)
    # the runner retries the bundle after the piece committed: the first marker holds
    second = process(config, chunks_dir, fingerprint, piece)[0]
    assert read_marker(chunks_dir, piece, fingerprint) == marker
    assert second["counts"] == first["counts"]
    assert names_in(chunks_dir, piece) == sorted([*(entry["name"] for entry in marker["files"]), "_SUCCESS"])
    groups = committed_row_groups((WARC, ""), chunks_dir, fingerprint)
    assert groups and len(groups) == len(set(groups))
    assert {path.rsplit("/", 1)[-1] for path, _ in groups} == {entry["name"] for entry in marker["files"]}


def test_an_attempt_killed_halfway_is_cleaned_when_the_piece_commits(setup):
    config, chunks_dir, fingerprint = setup
    piece = plan(config, chunks_dir, fingerprint)[0][0]
    directory = Path(piece.directory(chunks_dir))
    directory.mkdir(parents=True)
    (directory / "part-deadbeef0000-000.parquet").write_bytes(b"half a file")
    (directory / "part-deadbeef0000-001.parquet.tmp-1234").write_bytes(b"")
    (directory / "_SUCCESS").write_text('{"piece": "cut short')  # a marker written by a kill
    assert read_marker(chunks_dir, piece, fingerprint) is None
    process(config, chunks_dir, fingerprint, piece)
    marker = read_marker(chunks_dir, piece, fingerprint)
    assert names_in(chunks_dir, piece) == sorted([e["name"] for e in marker["files"]] + ["_SUCCESS"])


def test_a_marker_naming_a_missing_file_or_other_settings_is_not_valid(setup):
    config, chunks_dir, fingerprint = setup
    piece = plan(config, chunks_dir, fingerprint)[0][0]
    process(config, chunks_dir, fingerprint, piece)
    assert read_marker(chunks_dir, piece, "another-fingerprint") is None
    marker = read_marker(chunks_dir, piece, fingerprint)
    assert marker["files"]  # the first piece of the sample holds documents
    (Path(piece.directory(chunks_dir)) / marker["files"][0]["name"]).unlink()
    assert read_marker(chunks_dir, piece, fingerprint) is None


def test_changed_settings_clear_the_pieces(setup):
    config, chunks_dir, fingerprint = setup
    assert prepare_chunks_dir(chunks_dir, fingerprint) is False  # nothing there yet
    piece = plan(config, chunks_dir, fingerprint)[0][0]
    process(config, chunks_dir, fingerprint, piece)
    assert prepare_chunks_dir(chunks_dir, fingerprint) is False
    assert read_marker(chunks_dir, piece, fingerprint) is not None
    assert prepare_chunks_dir(chunks_dir, "other") is True
    assert read_marker(chunks_dir, piece, fingerprint) is None
    assert json.loads(open(f"{chunks_dir}/_settings.json").read()) == {"config": "other"}


def test_an_unreadable_piece_commits_nothing_and_is_reported(setup, tmp_path):
    config, chunks_dir, fingerprint = setup
    gone = tmp_path / "gone.warc.gz"
    shutil.copy(WARC, gone)
    piece = Piece(str(gone), "", 0, None)
    gone.unlink()
    summary = process(config, chunks_dir, fingerprint, piece)[0]
    assert summary["failed_inputs"] == [str(gone)]
    assert summary["counts"] == {"read:in": 1, "read:dropped:unreadable_input": 1}
    assert read_marker(chunks_dir, piece, fingerprint) is None


def test_input_keys_are_readable_and_apart():
    assert input_key("s3://b/crawl/CC-MAIN-x-00001.warc.gz").startswith("CC-MAIN-x-00001-")
    assert input_key("/a/x.warc.gz") != input_key("/b/x.warc.gz")


def test_pieces_per_input_gives_every_worker_several():
    assert pieces_per_input(workers=2, inputs=1) == 8
    assert pieces_per_input(workers=2, inputs=3) == 3
    assert pieces_per_input(workers=400, inputs=90_000) == 1


def test_progress_files_add_up_and_make_a_line(tmp_path):
    a, b = ProgressFile(str(tmp_path), every_s=0), ProgressFile(str(tmp_path), every_s=0)
    a.add(planned_bytes=1000, planned_pieces=4, bytes_read=250, records=10, pages=5, documents=3, pieces_done=1)
    b.add(bytes_read=250, records=10, pages=5, documents=2, pieces_done_before=1)
    totals = read_progress(str(tmp_path))
    assert totals["bytes_read"] == 500 and totals["records"] == 20 and totals["documents"] == 5
    line = phase_a_line(totals, elapsed=5.0)
    assert "read 0.0 MB of 0.0 MB (50%)" in line and "20 records (10 pages) -> 5 documents" in line
    assert "pieces 2/4, 1 done earlier" in line and "2 pages/s" in line and "ETA 5s" in line


def test_local_progress_prints_plain_lines_when_not_a_terminal(tmp_path, capsys, monkeypatch):
    import ccforge.jobs.progress as progress

    monkeypatch.setattr(progress, "PLAIN_EVERY_S", 0.05)
    ProgressFile(str(tmp_path), every_s=0).add(records=7, pages=3, documents=2)
    with LocalProgress(str(tmp_path), "phase A", phase_a_line, interactive=False):
        time.sleep(0.3)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 2 and all(line.startswith("phase A  ") and "7 records (3 pages) -> 2 documents" in line for line in lines)


def test_planning_writes_the_progress_file_per_bundle_not_per_input(setup, tmp_path, monkeypatch):
    import ccforge.pipeline.progress as progress

    config, chunks_dir, fingerprint = setup
    inputs = []
    for index in range(30):
        copy = tmp_path / f"in-{index:02d}.warc.gz"
        shutil.copyfile(WARC, copy)
        inputs.append((str(copy), ""))
    progress_dir = tmp_path / "progress"
    progress_dir.mkdir()
    writes = []
    real_replace = progress.os.replace
    monkeypatch.setattr(progress.os, "replace", lambda src, dst: (writes.append(dst), real_replace(src, dst)))
    planner = PlanPieces(config.read, chunks_dir, fingerprint, 1, str(progress_dir))
    planner.setup()
    planner.progress.every_s = 3600  # only the first add and the bundle's end may write
    planned = [piece for item in inputs for piece in planner.process(item)]
    planner.finish_bundle()
    assert len(planned) == 30 and len([path for path in writes if str(progress_dir) in str(path)]) <= 2
    totals = read_progress(str(progress_dir))
    assert totals["planned_pieces"] == 30 and totals["planned_bytes"] == 30 * Path(WARC).stat().st_size


def test_progress_counts_pages_apart_from_records(setup, tmp_path):
    config, chunks_dir, fingerprint = setup
    (piece,), _ = plan(config, chunks_dir, fingerprint, pieces=1)
    progress_dir = tmp_path / "progress"
    progress_dir.mkdir()
    step = ProcessPiece(config, chunks_dir, fingerprint, progress_dir=str(progress_dir))
    step.setup()
    try:
        (summary,) = step.process(piece)
    finally:
        step.teardown()
    totals = read_progress(str(progress_dir))
    counts = summary["counts"]
    # the sample WARC holds request records beside the responses: pages are the responses kept
    assert totals["records"] == counts["read:in"] and totals["pages"] == counts["read:kept"] < counts["read:in"]
    assert f"({totals['pages']:,} pages)" in phase_a_line(totals, elapsed=1.0)


class _RunningJob:
    """A remote job as watch_remote sees it: an id, a state that ends, live counters."""

    def __init__(self, polls: int, counters: dict[str, int]):
        self.polls = polls
        self.counters = counters

    def job_id(self):
        return "2026-12-03_01_02_03-42"

    @property
    def state(self):
        self.polls -= 1
        return "RUNNING" if self.polls > 0 else "DONE"

    def metrics(self):
        from types import SimpleNamespace

        class Query:
            def __init__(self, counters):
                self.counters = counters

            def query(self, _filter):
                return {"counters": [SimpleNamespace(key=SimpleNamespace(metric=SimpleNamespace(name=name)),
                                                     committed=value, attempted=value)
                                     for name, value in self.counters.items()]}

        return Query(self.counters)


def test_remote_jobs_print_their_id_link_and_each_phase_s_own_counters(capsys, monkeypatch):
    import ccforge.jobs.progress as progress
    from ccforge.jobs.options import pipeline_options

    monkeypatch.setattr(progress, "REMOTE_EVERY_S", 0)
    monkeypatch.setattr(progress, "REMOTE_POLL_S", 0.001)
    options = pipeline_options(["--runner=DataflowRunner", "--project=p", "--region=us-east1"])
    progress.watch_remote(_RunningJob(6, {"read:in": 300, "read:kept": 100, "dedup_keys:kept": 40}),
                          "phase A", options)
    phase_b = {"exact_dedup:in": 40, "exact_dedup:kept": 38, "minhash_dedup:kept": 37, "tokenize:kept": 30}
    progress.watch_remote(_RunningJob(6, phase_b), "phase B", options, progress.phase_b_counters_line)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "phase A  job 2026-12-03_01_02_03-42 submitted"
    assert lines[1] == ("phase A  console: https://console.cloud.google.com/dataflow/jobs/us-east1/"
                        "2026-12-03_01_02_03-42?project=p")
    assert "phase A  RUNNING  300 records (100 pages) -> 40 documents so far" in lines
    assert "phase B  RUNNING  40 documents through dedup -> 37 kept, 30 tokenized so far" in lines


def test_of_two_attempts_committing_at_once_the_first_marker_holds(setup):
    """The second attempt finds no valid marker when it looks, then another attempt's
    marker appears before it writes: on a local disk its write does not replace it."""
    from ccforge.pipeline import pieces as pieces_module

    config, chunks_dir, fingerprint = setup
    piece = plan(config, chunks_dir, fingerprint)[0][0]
    process(config, chunks_dir, fingerprint, piece)
    first = read_marker(chunks_dir, piece, fingerprint)
    late = {**first, "files": [], "counts": {"read:in": -1}}
    real = pieces_module.read_marker
    looks = []

    def late_look(*args):  # the late attempt's first look sees nothing; later ones see the disk
        looks.append(args)
        return None if len(looks) == 1 else real(*args)

    pieces_module.read_marker = late_look
    try:
        held = pieces_module.commit_piece(chunks_dir, piece, late)
    finally:
        pieces_module.read_marker = real
    assert held == first and read_marker(chunks_dir, piece, fingerprint) == first
    assert names_in(chunks_dir, piece) == sorted([e["name"] for e in first["files"]] + ["_SUCCESS"])
