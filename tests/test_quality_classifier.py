"""The quality_classifier stage: scores, thresholds, fractions, languages, bad input, URLs."""

from __future__ import annotations

import functools
import http.server
import random
import threading

import pytest

from ccforge.config import ConfigError, load_config
from ccforge.document import Document, Drop
from ccforge.filters.quality_classifier import QualityClassifier, QualityClassifierConfig, score_bin
from ccforge.filters.quality_models import FastTextScorer, ModelError, fasttext_line, local_model_file
from ccforge.stages import phase_a_stages
from classifier_models import bad_text, good_text, labelled_texts, train_fasttext_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train_fasttext_model(tmp_path_factory.mktemp("model") / "quality.bin")


def stage_for(model, **settings) -> QualityClassifier:
    stage = QualityClassifier(QualityClassifierConfig(enabled=True, model_path=str(model), **settings))
    stage.setup()
    return stage


def doc(text: str, language: str = "en", n: int = 0) -> Document:
    return Document(id=f"<urn:{n}>", url=f"http://example.com/{n}", text=text, language=language)


def test_scores_go_to_metadata_and_the_threshold_decides(model):
    rng = random.Random(5)
    stage = stage_for(model)
    docs = [doc(good_text(rng), n=1), doc(bad_text(rng), n=2)]
    results = stage.process_batch(docs)
    assert results[0] is docs[0] and docs[0].metadata["quality_score"] > 0.9
    assert results[1] == Drop("below_threshold") and docs[1].metadata["quality_score"] < 0.1
    counts = stage.take_counts()
    assert counts["en:kept"] == 1 and counts["en:below_threshold"] == 1
    assert counts["threshold:en:0.5"] == 2
    assert sum(v for k, v in counts.items() if k.startswith("score:en:")) == 2


def test_a_batch_scores_like_documents_one_at_a_time(model):
    positives, negatives = labelled_texts(20, seed=9)
    stage = stage_for(model)
    batch = [doc(t, n=i) for i, t in enumerate(positives + negatives)]
    single = [doc(t, n=i) for i, t in enumerate(positives + negatives)]
    stage.process_batch(batch)
    for d in single:
        stage.process(d)
    assert [d.metadata for d in batch] == [d.metadata for d in single]


def test_text_reaches_fasttext_as_one_line_the_way_it_was_trained(model):
    scorer = FastTextScorer(str(model))
    scorer.load()
    text = "  because the evidence shows\nwhich means\r\nthe study result  \n"
    assert fasttext_line(text) == "because the evidence shows which means the study result"
    # the full bindings refuse a newline outright; ours never send one
    assert scorer.scores([text]) == scorer.scores(["because the evidence shows which means the study result"])


def test_keep_fraction_calibrates_the_threshold_on_a_sample(model, tmp_path):
    positives, negatives = labelled_texts(50, seed=3)
    sample = tmp_path / "sample.txt"
    sample.write_text("\n".join(fasttext_line(t) for t in positives[:10] + negatives) + "\n")
    stage = stage_for(model, keep_fraction=0.2, calibration_path=str(sample))
    docs = [doc(t, n=i) for i, t in enumerate(positives[:10] + negatives)]
    kept = [r for r in stage.process_batch(docs) if isinstance(r, Document)]
    # the sample is 10 good of 60: the top 20% (12 texts) reaches into the bad ones,
    # and the threshold keeps the same share of documents that score like the sample
    assert abs(len(kept) - 12) <= 1
    threshold = [k for k in stage.take_counts() if k.startswith("threshold:en:")]
    assert len(threshold) == 1 and float(threshold[0].split(":")[2]) < 0.5


def test_languages_without_a_model_pass_through_and_are_counted(model):
    rng = random.Random(2)
    config = QualityClassifierConfig(
        enabled=True, model_path="", languages={"en": {"model_path": str(model)}, "de": {"threshold": 0.0}}
    )
    stage = QualityClassifier(config)
    stage.setup()
    zh, en = doc(bad_text(rng), language="zh", n=1), doc(bad_text(rng), language="en", n=2)
    results = stage.process_batch([zh, en])
    assert results[0] is zh and "quality_score" not in zh.metadata
    assert results[1] == Drop("below_threshold")
    assert stage.take_counts()["zh:no_model"] == 1


def test_per_language_threshold_overrides_the_default(model):
    rng = random.Random(4)
    stage = stage_for(model, languages={"de": {"threshold": 0.9999}})
    text = good_text(rng)
    en, de = doc(text, "en", 1), doc(text, "de", 2)
    assert stage.process_batch([en, de]) == [en, Drop("below_threshold")]


def test_a_document_that_breaks_the_model_drops_alone(model, monkeypatch):
    rng = random.Random(6)
    stage = stage_for(model)
    scorer = next(iter(stage._scorers.values()))
    real = scorer.scores

    def fragile(texts):
        if any("BOOM" in t for t in texts):
            raise RuntimeError("bad input")
        return real(texts)

    monkeypatch.setattr(scorer, "scores", fragile)
    good = doc(good_text(rng), n=1)
    results = stage.process_batch([good, doc("BOOM", n=2)])
    assert results == [good, Drop("error:RuntimeError")]


def test_stage_is_off_in_fineweb_en_and_on_in_fineweb_en_hq(model):
    assert not load_config("fineweb-en").stage_enabled("quality_classifier")
    assert "quality_classifier" not in [s.name for s in phase_a_stages(load_config("fineweb-en"))]
    with pytest.raises(ConfigError, match="names no model") as info:
        phase_a_stages(load_config("fineweb-en-hq"))
    assert "\n" not in str(info.value)
    config = load_config("fineweb-en-hq", [f"quality_classifier.model_path={model}"])
    names = [s.name for s in phase_a_stages(config)]
    assert names[-2:] == ["fineweb_quality", "quality_classifier"]
    assert "quality_classifier" not in [s.name for s in phase_a_stages(
        load_config("fineweb-en-hq", [f"quality_classifier.model_path={model}"], skip=["quality_classifier"]))]


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"kind": "bert"}, "quality_classifier.kind' must be one of"),
        ({"keep_fraction": 1.5}, "keep_fraction' must be in (0, 1]"),
        ({"languages": {"zh": {"modelpath": "x"}}}, "unknown config key 'quality_classifier.languages.zh.modelpath'"),
    ],
)
def test_config_errors_are_one_line(settings, message):
    with pytest.raises(ConfigError) as info:
        QualityClassifierConfig(enabled=True, model_path="m.bin", **settings)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_keep_fraction_without_a_sample_is_an_error():
    with pytest.raises(ConfigError, match="keep_fraction needs quality_classifier.calibration_path"):
        QualityClassifier(QualityClassifierConfig(enabled=True, model_path="m.bin", keep_fraction=0.1))


def test_a_label_the_model_lacks_is_named(model):
    with pytest.raises(ModelError, match="positive_label '__label__good' is not a label"):
        stage_for(model, positive_label="good")


def test_model_url_is_fetched_once_per_worker(model, tmp_path, monkeypatch):
    monkeypatch.setenv("CCFORGE_MODELS", str(tmp_path / "cache"))
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Handler, directory=str(model.parent)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{model.name}"
        rng = random.Random(1)
        first = stage_for(url)
        second = stage_for(url)
        text = good_text(rng)
        a, b = doc(text, n=1), doc(text, n=2)
        first.process(a)
        second.process(b)
        assert a.metadata == b.metadata and a.metadata["quality_score"] > 0.9
        assert requests == [f"/{model.name}"]
        assert local_model_file(url).read_bytes() == model.read_bytes()
        with pytest.raises(ModelError, match="could not download the model"):
            local_model_file(url.replace(model.name, "missing.bin"), retries=0)
    finally:
        server.shutdown()


def test_score_bins():
    assert score_bin(0.0, (0.0, 1.0)) == "0.00"
    assert score_bin(0.87, (0.0, 1.0)) == "0.85"
    assert score_bin(1.0, (0.0, 1.0)) == "0.95"  # the top bin holds 1.0
    assert score_bin(3.6, None) == "3.50"
    assert score_bin(-0.1, None) == "-0.25"


def test_report_draws_scores_per_language_with_the_threshold(tmp_path):
    import json

    from ccforge.pipeline.report import write_report
    from ccforge.tokenize.run_files import quality_scores

    counts = {"score:en:0.10": 30, "score:en:0.85": 50, "threshold:en:0.5": 80, "en:kept": 50,
              "en:below_threshold": 30, "score:zh:0.90": 4, "threshold:zh:0.7": 4, "zh:kept": 4, "ja:no_model": 6}
    stats = {"stages": [{"name": "quality_classifier", "in": 90, "kept": 60, "dropped": {"below_threshold": 30},
                         "counts": counts}]}
    by_language = quality_scores(stats)
    assert list(by_language) == ["en", "zh", "ja"]
    assert by_language["en"].scored == 80 and by_language["en"].bins == {0.1: 30, 0.85: 50}
    assert by_language["ja"].no_model == 6 and by_language["zh"].thresholds == {0.7: 4}
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    page = write_report(tmp_path).read_text()
    assert 'alt="quality score histograms"' in page
    assert "<td>en</td><td>80</td><td>50</td><td>62.5</td><td>0.5</td><td>0</td>" in page
    assert "<td>ja</td><td>0</td><td>0</td><td>-</td><td>-</td><td>6</td>" in page
