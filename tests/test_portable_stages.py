"""The model stages on the remote path: a quality classifier (fastText and transformer) and
decontamination in `flag` mode, submitted through Beam's job service as Flink, Spark and
Dataflow Runner v2 receive a job (tests/conftest.py `job_service`)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ccforge.config import load_config
from ccforge.jobs.run import run_job
from classifier_models import build_tiny_transformer, train_fasttext_model
from conftest import PORTABLE, SAMPLE_DIR
from test_decontaminate import SAMPLE_PARAGRAPH, write_jsonl

pytestmark = pytest.mark.whole_jobs  # scheduled first (conftest)


def portable_run(tmp_path, job_service, overrides: list[str]) -> tuple[pd.DataFrame, dict]:
    port, _ = job_service
    config = load_config("fineweb-en-hq", ["extract.extractor=resiliparse", *overrides])
    out = tmp_path / "run"
    stats = run_job([str(SAMPLE_DIR / "sample-0000.warc.gz")], str(out), config,
                    [*PORTABLE, f"--job_endpoint=localhost:{port}"])
    return pd.read_parquet(out / "documents"), {row["name"]: row for row in stats["stages"]}


def test_fasttext_classifier_and_flagged_decontamination_on_the_portable_runner(tmp_path, job_service):
    model = train_fasttext_model(tmp_path / "quality.bin")
    bench = write_jsonl(tmp_path / "blog.jsonl", [{"text": SAMPLE_PARAGRAPH.upper()}])
    documents, funnel = portable_run(tmp_path, job_service, [
        f"quality_classifier.model_path={model}", "quality_classifier.threshold=0.0",
        "decontaminate.action=flag", f"decontaminate.benchmarks=[{{name: blog, path: {bench}}}]"])
    assert funnel["quality_classifier"]["in"] == funnel["quality_classifier"]["kept"] == len(documents) > 0
    assert documents["quality_score"].between(0, 1).all()
    assert funnel["decontaminate"]["counts"] == {"matched:blog": 1}
    assert documents[documents["contamination"].notna()]["contamination"].map(list).tolist() == [["blog"]]


@pytest.mark.slow  # make test-slow (CI runs it too)
def test_transformer_classifier_on_the_portable_runner(tmp_path, job_service):
    model = build_tiny_transformer(tmp_path / "tiny", num_labels=1)  # a regression head
    documents, funnel = portable_run(tmp_path, job_service, [
        "quality_classifier.kind=transformer", f"quality_classifier.model_path={model}",
        "quality_classifier.threshold=-1000", "quality_classifier.batch_size=4"])
    assert funnel["quality_classifier"]["kept"] == len(documents) > 0
    assert documents["quality_score"].notna().all()
    assert json.dumps(funnel["quality_classifier"]["dropped"]) == "{}"
