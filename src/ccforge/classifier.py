"""`ccforge classifier train/eval`: fastText quality classifiers from positive and negative texts.

Training writes DCLM's labels (`__label__hq` for positives, `__label__cc` for negatives)
and DCLM's preprocessing (a document's lines joined by spaces: `fasttext_line`), and the
evaluation scores through the same scorer the `quality_classifier` stage uses, so the
figures printed here are the figures of the model as the pipeline applies it.

The held-out split is by a hash of each text: the same text always lands on the same
side, so a text that occurs twice cannot be trained on and tested on.

Training uses fasttext-new (`pip install 'ccforge[classifiers]'`), a Rust port of fastText
that writes fastText's own file format; the pipeline scores its models with the C++ code
of `fasttext-predict`, as it scores DCLM's. Why not the C++ trainer: its wheels
(fasttext-numpy2-wheel and kin) install the same `fasttext` module as fasttext-predict,
so one silently overwrites the other, and with one thread it intermittently stopped with
"Encountered NaN" on the same data and seed here (1 to 8 runs in 10 in one process),
which fasttext-new did not.
"""

from __future__ import annotations

import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu

from ccforge.filters.quality_models import FASTTEXT_NEGATIVE, FASTTEXT_POSITIVE, fasttext_line, make_scorer
from ccforge.filters.text_sources import read_texts
from ccforge.hashing import stable_hash64


class ClassifierError(ValueError):
    """A training or evaluation that cannot run as asked; the message is one line."""


@dataclass
class TrainSettings:
    epochs: int = 5
    lr: float = 0.1
    word_ngrams: int = 2  # DCLM's classifier uses bigrams
    dim: int = 100
    bucket: int = 2_000_000  # hashed n-gram rows: the model file is about bucket x dim x 4 bytes
    min_count: int = 1
    threads: int = 0  # 0 = every core; 1 makes training reproducible bit for bit
    seed: int = 0
    valid_fraction: float = 0.1


@dataclass
class Evaluation:
    n: int
    n_positive: int
    n_negative: int
    threshold: float
    precision: float
    recall: float
    auc: float

    def as_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def load_texts(specs: list[str], text_column: str, language: str, limit: int | None) -> list[str]:
    texts: list[str] = []
    for spec in specs:
        left = None if limit is None else limit - len(texts)
        if left is not None and left <= 0:
            break
        texts += [item.text for item in read_texts(spec, text_column, language, left)]
    return texts


def is_held_out(text: str, fraction: float) -> bool:
    return stable_hash64(text, "classifier-split") % 1_000_000 < fraction * 1_000_000


def train_classifier(positives: list[str], negatives: list[str], out: str | Path,
                     settings: TrainSettings | None = None) -> tuple[Path, Evaluation | None]:
    """Train on the texts not held out, save the model to `out`, and evaluate it on the
    held-out ones (None when nothing was held out)."""
    settings = settings or TrainSettings()
    try:
        from fasttext_new import train_supervised
    except ImportError:
        raise ClassifierError("training needs fasttext-new: pip install 'ccforge[classifiers]' "
                              "(fasttext-predict, used for language ID, can only predict)") from None
    if not positives or not negatives:
        raise ClassifierError(f"need positive and negative texts; got {len(positives)} and {len(negatives)}")
    train_rows, held = [], ([], [])
    for label, texts, held_texts in ((FASTTEXT_POSITIVE, positives, held[0]), (FASTTEXT_NEGATIVE, negatives, held[1])):
        for text in texts:
            line = fasttext_line(text)
            if not line:
                continue
            if settings.valid_fraction > 0 and is_held_out(line, settings.valid_fraction):
                held_texts.append(text)
            else:
                train_rows.append(f"{label} {line}\n")
    random.Random(settings.seed).shuffle(train_rows)  # SGD sees the classes mixed
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        train_file = Path(scratch) / "train.txt"
        train_file.write_text("".join(train_rows), encoding="utf-8")
        model = train_supervised(
            input=str(train_file), epoch=settings.epochs, lr=settings.lr, wordNgrams=settings.word_ngrams,
            dim=settings.dim, bucket=settings.bucket, minCount=settings.min_count, thread=settings.threads or os.cpu_count() or 1,
            seed=settings.seed, verbose=0,
        )
    model.save_model(str(out))
    if not held[0] or not held[1]:
        return out, None
    return out, evaluate_model(str(out), held[0], held[1])


def evaluate_model(model_path: str, positives: list[str], negatives: list[str], threshold: float = 0.5,
                   kind: str = "fasttext", positive_label: str = "") -> Evaluation:
    """Precision and recall at `threshold`, and ROC AUC, of a model as the stage scores it."""
    if not positives or not negatives:
        raise ClassifierError(f"need positive and negative texts; got {len(positives)} and {len(negatives)}")
    scorer = make_scorer(kind, model_path, positive_label)
    scorer.load()
    pos = np.asarray(scorer.scores(positives), dtype=float)
    neg = np.asarray(scorer.scores(negatives), dtype=float)
    return evaluation_of(pos, neg, threshold)


def evaluation_of(pos: np.ndarray, neg: np.ndarray, threshold: float) -> Evaluation:
    true_pos = int((pos >= threshold).sum())
    false_pos = int((neg >= threshold).sum())
    # ROC AUC is the Mann-Whitney U of the positives' scores over both sizes (ties count half)
    auc = float(mannwhitneyu(pos, neg, alternative="two-sided").statistic) / (len(pos) * len(neg))
    return Evaluation(
        n=len(pos) + len(neg), n_positive=len(pos), n_negative=len(neg), threshold=threshold,
        precision=true_pos / (true_pos + false_pos) if true_pos + false_pos else 0.0,
        recall=true_pos / len(pos), auc=auc,
    )
