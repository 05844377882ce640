"""Both classifier kinds inside `ccforge run` on the local runner (fastText on its worker
processes, the transformer inside the driver as a small run goes; on a separate SDK
harness: test_portable_stages.py): the quality_score column, the funnel, the report and
`inspect --show`."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from ccforge.config import ConfigError, load_config
from ccforge.jobs.run import run_job
from ccforge.tokenize.inspect import inspect_path
from ccforge.tokenize.run_files import quality_scores
from classifier_models import build_tiny_transformer, train_fasttext_model
from conftest import SAMPLE_DIR

pytestmark = pytest.mark.whole_jobs  # scheduled first (conftest)


def run_with(tmp_path, overrides, workers: int | None = 2):
    """A run on `workers` local worker processes, or (None) with no engine flags: inside
    this process, as inputs this small run by default."""
    out = tmp_path / "run"
    # resiliparse: the classifier is under test, not the extractor (trafilatura costs ~10 s here)
    config = load_config("fineweb-en-hq", ["extract.extractor=resiliparse", *overrides])
    beam_args = [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"] if workers else []
    stats = run_job([str(SAMPLE_DIR / "*.warc.gz")], str(out), config, beam_args)
    return out, stats


def stage_row(stats, name):
    return next(row for row in stats["stages"] if row["name"] == name)


@pytest.mark.slow  # make test-slow (CI runs it too)
def test_fasttext_classifier_in_a_run(tmp_path):
    model = train_fasttext_model(tmp_path / "quality.bin")
    # the toy model calls most real pages boilerplate: a low threshold keeps some, drops some
    out, stats = run_with(tmp_path, [f"quality_classifier.model_path={model}", "quality_classifier.threshold=0.05"])
    row = stage_row(stats, "quality_classifier")
    assert row["in"] == stage_row(stats, "fineweb_quality")["kept"] > 0
    assert row["in"] == row["kept"] + sum(row["dropped"].values())
    scores = quality_scores(stats)["en"]
    assert scores.scored == row["in"] and scores.thresholds == {0.05: row["in"]}

    frame = pd.read_parquet(out / "documents")
    assert "quality_score" in frame.columns and len(frame) > 0
    assert frame["quality_score"].notna().all() and (frame["quality_score"] >= 0.05).all()

    page = (out / "report.html").read_text()
    assert "Quality score" in page and 'alt="quality score histograms"' in page

    shown = io.StringIO()
    assert inspect_path(str(out), show=2, out=shown) == 0
    assert shown.getvalue().count("quality_score=") == 2


def test_transformer_classifier_in_a_run(tmp_path):
    model = build_tiny_transformer(tmp_path / "tiny", num_labels=2)
    out, stats = run_with(tmp_path, ["quality_classifier.kind=transformer", f"quality_classifier.model_path={model}",
                                     "quality_classifier.positive_label=high", "quality_classifier.threshold=0.0",
                                     "quality_classifier.batch_size=8"], workers=None)  # workers: portable test
    row = stage_row(stats, "quality_classifier")
    assert row["in"] == row["kept"] > 0  # threshold 0 keeps every probability
    frame = pd.read_parquet(out / "documents")
    assert frame["quality_score"].between(0, 1).all()
    assert json.loads((out / "stats.json").read_text())["config"]["quality_classifier"]["kind"] == "transformer"


def test_a_missing_model_stops_the_run_before_it_starts(tmp_path):
    with pytest.raises(ConfigError, match="names no model"):
        run_with(tmp_path, [])
