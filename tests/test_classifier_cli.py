"""`ccforge classifier train/eval` and the SPECs they read texts from."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ccforge.classifier import evaluation_of, is_held_out
from ccforge.cli import main
from ccforge.filters.text_sources import TextSourceError, read_texts
from classifier_models import labelled_texts


def write_specs(folder, positives, negatives):
    """Positives as a run directory's documents Parquet, negatives as JSONL.gz."""
    (folder / "run" / "documents").mkdir(parents=True)
    table = pa.table({"text": positives, "language": ["en"] * len(positives)})
    pq.write_table(table, folder / "run" / "documents" / "part-0.parquet")
    with gzip.open(folder / "neg.jsonl.gz", "wt") as out:
        for text in negatives:
            out.write(json.dumps({"body": text, "language": "en"}) + "\n")
    return str(folder / "run"), str(folder / "neg.jsonl.gz")


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_train_then_eval_from_the_command_line(tmp_path, capsys):
    positives, negatives = labelled_texts(200, seed=11)
    pos_spec, _ = write_specs(tmp_path, positives, negatives)
    neg_txt = tmp_path / "neg.txt"
    neg_txt.write_text("\n".join(t.replace("\n", " ") for t in negatives) + "\n")
    model = tmp_path / "model.bin"
    code = main(["classifier", "train", "--positive", pos_spec, "--negative", str(neg_txt), "--out", str(model),
                 "--threads", "1", "--epochs", "5", "--dim", "16", "--bucket", "20000"])
    out = capsys.readouterr().out
    assert code == 0 and model.is_file()
    held = last_json(out)
    assert 0 < held["n"] < 400 and held["auc"] > 0.95
    assert {"precision", "recall", "auc", "n"} <= held.keys()

    fresh_pos, fresh_neg = labelled_texts(50, seed=12)  # texts the model never saw
    pos_spec2, _ = write_specs(tmp_path / "fresh", fresh_pos, fresh_neg)
    fresh_neg_txt = tmp_path / "fresh-neg.txt"
    fresh_neg_txt.write_text("\n".join(t.replace("\n", " ") for t in fresh_neg) + "\n")
    code = main(["classifier", "eval", str(model), "--positive", pos_spec2, "--negative", str(fresh_neg_txt)])
    result = last_json(capsys.readouterr().out)
    assert code == 0 and result["n"] == 100 and result["auc"] > 0.95


def test_eval_reads_jsonl_with_a_named_column_and_reports_bad_specs(tmp_path, capsys):
    positives, negatives = labelled_texts(30, seed=2)
    pos_spec, neg_spec = write_specs(tmp_path, positives, negatives)
    model = tmp_path / "m.bin"
    assert main(["classifier", "train", "--positive", pos_spec, "--negative", neg_spec, "--text-column", "body",
                 "--out", str(model), "--threads", "1"]) == 2  # the Parquet has no 'body' column
    assert "has no column 'body'" in capsys.readouterr().err
    assert main(["classifier", "eval", str(tmp_path / "none.bin"), "--positive", pos_spec,
                 "--negative", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and len(err.strip().splitlines()) == 1


def test_specs_read_parquet_folders_jsonl_text_and_filter_by_language(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    pq.write_table(pa.table({"text": ["a", "", "b"], "language": ["en", "en", "zh-Hans"]}), folder / "x.parquet")
    (tmp_path / "lines.txt").write_text("one\n\ntwo\n")
    (tmp_path / "rows.jsonl").write_text('{"text": "x", "language": "de"}\n\n{"text": "y"}\n')
    assert [t.text for t in read_texts(str(folder))] == ["a", "b"]
    assert [t.text for t in read_texts(str(folder), language="zh")] == ["b"]
    assert [t.text for t in read_texts(str(tmp_path / "lines.txt"))] == ["one", "two"]
    assert [t.text for t in read_texts(str(tmp_path / "rows.jsonl"), language="en")] == ["y"]  # no field: kept
    assert [t.text for t in read_texts(str(tmp_path / "*.txt"))] == ["one", "two"]
    assert [t.text for t in read_texts(str(folder), limit=1)] == ["a"]
    (tmp_path / "bad.jsonl").write_text("not json\n")
    with pytest.raises(TextSourceError, match="line 1 is not JSON"):
        list(read_texts(str(tmp_path / "bad.jsonl")))
    with pytest.raises(TextSourceError, match="holds no files"):
        list(read_texts(str(tmp_path / "empty-*.parquet")))


def test_auc_precision_recall_against_hand_counts():
    pos, neg = np.array([0.9, 0.8, 0.4, 0.6]), np.array([0.1, 0.6, 0.3])
    result = evaluation_of(pos, neg, 0.5)
    assert result.precision == pytest.approx(3 / 4) and result.recall == pytest.approx(3 / 4)
    # pairs (pos > neg) counted by hand: 0.9 beats 3, 0.8 beats 3, 0.4 beats 2, 0.6 beats 2 and ties 1
    assert result.auc == pytest.approx((3 + 3 + 2 + 2.5) / 12)


def test_held_out_split_is_by_text_and_near_the_fraction():
    texts = [f"document number {i}" for i in range(4000)]
    held = [t for t in texts if is_held_out(t, 0.1)]
    assert 300 < len(held) < 500
    assert held == [t for t in texts if is_held_out(t, 0.1)]


def test_trained_model_scores_alike_in_the_rust_trainer_and_the_cpp_predictor(tmp_path):
    import fasttext_new

    from ccforge.classifier import TrainSettings, train_classifier
    from ccforge.filters.quality_models import FastTextScorer, fasttext_line

    positives, negatives = labelled_texts(100, seed=4)
    settings = TrainSettings(threads=1, dim=16, bucket=20_000, valid_fraction=0.0)
    first, _ = train_classifier(positives, negatives, tmp_path / "a.bin", settings)
    second, _ = train_classifier(positives, negatives, tmp_path / "b.bin", settings)
    assert first.read_bytes() == second.read_bytes()  # one thread: reproducible bit for bit
    cpp = FastTextScorer(str(first))  # fasttext-predict: fastText's own C++ code
    cpp.load()
    rust = fasttext_new.load_model(str(first))
    sample = positives[:20] + negatives[:20]
    rust_scores = []
    for text in sample:
        labels, probs = rust.predict(fasttext_line(text), k=-1)
        rust_scores.append(dict(zip(labels, probs))["__label__hq"])
    assert cpp.scores(sample) == pytest.approx(rust_scores, abs=1e-6)
