"""Quality models built on the spot for tests: nothing is downloaded.

A fastText model trained in about a second on two made-up vocabularies ("explanatory"
against "boilerplate" words), and a tiny randomly initialised BERT with its own
WordPiece vocabulary.
"""

from __future__ import annotations

import random
from pathlib import Path

GOOD_WORDS = ("because therefore explain reason evidence science answer detail light energy study result "
              "measured shows which means").split()
BAD_WORDS = "click here buy now cookie login menu home contact subscribe sale cart share tweet".split()


def good_text(rng: random.Random, lines: int = 3) -> str:
    return "\n".join(" ".join(rng.choices(GOOD_WORDS, k=12) + rng.choices(BAD_WORDS, k=2)) for _ in range(lines))


def bad_text(rng: random.Random, lines: int = 3) -> str:
    return "\n".join(" ".join(rng.choices(BAD_WORDS, k=6) + rng.choices(GOOD_WORDS, k=1)) for _ in range(lines))


def labelled_texts(count: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    return [good_text(rng) for _ in range(count)], [bad_text(rng) for _ in range(count)]


def train_fasttext_model(path: Path, count: int = 300) -> Path:
    from ccforge.classifier import TrainSettings, train_classifier

    positives, negatives = labelled_texts(count)
    model, _ = train_classifier(positives, negatives, path, TrainSettings(threads=1, valid_fraction=0.0, dim=16, bucket=20_000))
    return model


def build_tiny_transformer(folder: Path, num_labels: int = 1, seed: int = 0) -> Path:
    """A 1-layer, 16-wide BERT with a random head: num_labels 1 is a regression head."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *GOOD_WORDS, *BAD_WORDS, "the", "a", "of", "."]
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab_file))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=64, num_labels=num_labels, initializer_range=0.5,
        problem_type="regression" if num_labels == 1 else "single_label_classification",
        id2label={i: name for i, name in enumerate(["low", "high"][:num_labels] if num_labels == 2 else
                                                    [f"LABEL_{i}" for i in range(num_labels)])},
    )
    config.label2id = {name: i for i, name in config.id2label.items()}
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
