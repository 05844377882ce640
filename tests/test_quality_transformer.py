"""Transformer classifiers in the quality_classifier stage: a tiny random BERT built here."""

from __future__ import annotations

import random

import pytest

from ccforge.classifier import evaluate_model
from ccforge.document import Document, Drop
from ccforge.filters.quality_classifier import QualityClassifier, QualityClassifierConfig
from ccforge.filters.quality_models import ModelError, TransformerScorer
from classifier_models import bad_text, build_tiny_transformer, good_text


@pytest.fixture(scope="module")
def regression_model(tmp_path_factory):
    return build_tiny_transformer(tmp_path_factory.mktemp("reg"), num_labels=1)


@pytest.fixture(scope="module")
def two_class_model(tmp_path_factory):
    return build_tiny_transformer(tmp_path_factory.mktemp("cls"), num_labels=2)


def texts(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    # lengths differ a lot, so a batch pads the short ones
    return [good_text(rng, lines=1 + i % 4) if i % 2 else bad_text(rng, lines=1 + i % 3) for i in range(count)]


def test_regression_head_scores_batched_like_one_at_a_time(regression_model):
    scorer = TransformerScorer(str(regression_model), batch_size=8, max_length=64)
    scorer.load()
    assert scorer.regression and scorer.device == "cpu" and scorer.score_range is None
    sample = texts(12)
    batched = scorer.scores(sample)
    alone = [scorer.scores([t])[0] for t in sample]
    assert batched == pytest.approx(alone, abs=1e-5)
    assert len(set(round(s, 4) for s in batched)) > 3  # the random head does tell texts apart


def test_classification_head_scores_the_named_class(two_class_model):
    high = TransformerScorer(str(two_class_model), positive_label="high")
    low = TransformerScorer(str(two_class_model), positive_label="0")
    high.load()
    low.load()
    sample = texts(6)
    for p_high, p_low in zip(high.scores(sample), low.scores(sample)):
        assert 0 <= p_high <= 1 and p_high + p_low == pytest.approx(1, abs=1e-5)
    with pytest.raises(ModelError, match="positive_label 'great' is not a class"):
        TransformerScorer(str(two_class_model), positive_label="great").load()


def test_stage_keeps_by_threshold_in_batches(regression_model):
    sample = texts(10, seed=1)
    scorer = TransformerScorer(str(regression_model))
    scorer.load()
    scores = scorer.scores(sample)
    distinct = sorted({round(score, 4) for score in scores})
    threshold = (distinct[len(distinct) // 2 - 1] + distinct[len(distinct) // 2]) / 2  # between two scores
    expected = sum(score >= threshold for score in scores)
    assert 0 < expected < len(scores)
    config = QualityClassifierConfig(enabled=True, kind="transformer", model_path=str(regression_model),
                                     threshold=threshold, batch_size=4)
    stage = QualityClassifier(config)
    assert stage.batch_size == 4
    stage.setup()
    docs = [Document(id=str(i), url="", text=t, language="en") for i, t in enumerate(sample)]
    results = stage.process_batch(docs)
    kept = [r for r in results if isinstance(r, Document)]
    assert len(kept) == expected
    assert all(r == Drop("below_threshold") for r in results if not isinstance(r, Document))
    assert [d.metadata["quality_score"] for d in docs] == pytest.approx(scores, abs=1e-5)
    counts = stage.take_counts()
    # a regression score is binned by quarters, not as a probability
    assert all(float(k.split(":")[2]) * 4 == int(float(k.split(":")[2]) * 4) for k in counts if k.startswith("score:"))


def test_eval_takes_a_transformer_too(two_class_model):
    rng = random.Random(3)
    result = evaluate_model(str(two_class_model), [good_text(rng) for _ in range(5)],
                            [bad_text(rng) for _ in range(5)], kind="transformer", positive_label="high")
    assert result.n == 10 and 0 <= result.auc <= 1


def test_a_missing_model_directory_is_one_line(tmp_path):
    with pytest.raises(ModelError) as info:
        TransformerScorer(str(tmp_path / "nothing-here")).load()
    assert "cannot load the transformer" in str(info.value) and "\n" not in str(info.value)
