"""Quality models that turn texts into scores: fastText supervised models and Hugging Face
sequence-classification transformers. Shared by the `quality_classifier` stage and by
`ccforge classifier train/eval`, so a model is scored exactly the way it was evaluated.

fastText needs only the prediction bindings (`fasttext-predict`, already there for
language ID); transformers need `pip install 'ccforge[classifiers]'`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from pathlib import Path

from ccforge.read.errors import ReadError
from ccforge.read.http import USER_AGENT, with_retries

FASTTEXT_POSITIVE = "__label__hq"  # the labels `classifier train` writes, as DCLM's model has them
FASTTEXT_NEGATIVE = "__label__cc"
KINDS = ("fasttext", "transformer")


class ModelError(ValueError):
    """A model that cannot be used as configured; the message is one line."""


def fasttext_line(text: str) -> str:
    """A document as one fastText input line: its lines joined by spaces, as DCLM's
    classifier was trained and is applied (fastText reads a newline as end of input)."""
    return " ".join(text.strip().splitlines())


def model_cache_dir() -> Path:
    """$CCFORGE_MODELS, else $XDG_CACHE_HOME/ccforge/models (~/.cache/...)."""
    if os.environ.get("CCFORGE_MODELS"):
        return Path(os.environ["CCFORGE_MODELS"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ccforge" / "models"


def local_model_file(path_or_url: str, retries: int = 3) -> Path:
    """A local path as is; an http(s) URL downloaded once into the model cache (several
    worker processes may race: each writes its own part file and renames it into place)."""
    if not path_or_url.startswith(("http://", "https://")):
        if "://" in path_or_url:
            raise ModelError(f"model {path_or_url}: only local paths and http(s) URLs can be fetched; "
                             "copy the model into the worker container or serve it over https")
        path = Path(path_or_url).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"quality model not found at {path}; check quality_classifier.model_path")
        return path
    name = path_or_url.rstrip("/").rsplit("/", 1)[-1] or "model.bin"
    digest = hashlib.sha256(path_or_url.encode()).hexdigest()[:16]
    final = model_cache_dir() / f"{digest}-{name}"
    if final.is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(f"{final.name}.part-{os.getpid()}")

    def download() -> None:
        request = urllib.request.Request(path_or_url, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=120) as response, open(part, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)

    try:
        with_retries(path_or_url, "download the model", download, retries, 1.0)
        os.replace(part, final)
    except ReadError:
        raise ModelError(f"could not download the model {path_or_url}; check the URL and the network") from None
    finally:
        part.unlink(missing_ok=True)
    return final


class FastTextScorer:
    """P(positive label) of a fastText supervised model, one document at a time (the C++
    predict call is the cost; a Python batch would not make it cheaper)."""

    kind = "fasttext"
    score_range = (0.0, 1.0)

    def __init__(self, model_path: str, positive_label: str = ""):
        self.model_path = model_path
        label = positive_label or FASTTEXT_POSITIVE
        self.positive_label = label if label.startswith("__label__") else f"__label__{label}"
        self._model = None

    def load(self) -> None:
        import fasttext

        path = local_model_file(self.model_path)
        try:
            self._model = fasttext.load_model(str(path))
        except ValueError as exc:
            raise ModelError(f"{path} is not a fastText model ({exc})") from None
        # fasttext-predict has no get_labels(); a prediction of every label names them all
        labels = list(self._model.predict("", k=-1)[0])
        if self.positive_label not in labels:
            raise ModelError(f"positive_label '{self.positive_label}' is not a label of {path} "
                             f"(its labels: {', '.join(labels[:10])}); set quality_classifier.positive_label")

    def scores(self, texts: list[str]) -> list[float]:
        out = []
        for text in texts:
            labels, probs = self._model.predict(fasttext_line(text), k=-1)
            found = dict(zip(labels, probs))
            out.append(min(float(found.get(self.positive_label, 0.0)), 1.0))
        return out


class TransformerScorer:
    """A Hugging Face sequence classifier: the regression output of a one-output head
    (FineWeb-Edu's 0-5 score), or the softmax probability of the positive class."""

    kind = "transformer"

    def __init__(self, model_path: str, positive_label: str = "", max_length: int = 512,
                 batch_size: int = 64, device: str = "", cpu_threads: int = 0):
        self.model_path = model_path
        self.cpu_threads = cpu_threads  # torch threads on CPU; 0 leaves torch's default (every core)
        self.positive_label = positive_label
        self.max_length = max_length
        self.batch_size = max(1, batch_size)
        self.device = device
        self._model = self._tokenizer = None
        self._positive_index = 0
        self.regression = False

    @property
    def score_range(self) -> tuple[float, float] | None:
        return None if self.regression else (0.0, 1.0)

    def load(self) -> None:
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
            from transformers.utils import logging as transformers_logging
        except ImportError:
            raise ModelError("transformer classifiers need extra packages: pip install 'ccforge[classifiers]'") from None
        transformers_logging.disable_progress_bar()  # one bar per worker start is noise in the logs
        self.device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        if self.device == "cpu" and self.cpu_threads:
            torch.set_num_threads(self.cpu_threads)
        local = Path(self.model_path).expanduser()
        source = str(local) if local.exists() else self.model_path  # else a Hub id
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(source)
            model = AutoModelForSequenceClassification.from_pretrained(source)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load the transformer {self.model_path}: {str(exc).splitlines()[0]}") from None
        self._model = model.to(self.device).eval()
        config = model.config
        # never more tokens than the model has positions for (a tokenizer saved without a
        # limit says 1e30); RoBERTa-style models reserve two positions
        limits = [self.max_length, getattr(self._tokenizer, "model_max_length", None) or self.max_length]
        positions = getattr(config, "max_position_embeddings", None)
        if positions:
            limits.append(positions - 2 if config.model_type in ("roberta", "xlm-roberta", "camembert") else positions)
        self.max_length = int(min(limits))
        self.regression = config.num_labels == 1 or config.problem_type == "regression"
        if not self.regression:
            self._positive_index = self._class_index(config)

    def _class_index(self, config) -> int:
        if not self.positive_label:
            return config.num_labels - 1
        if self.positive_label in config.label2id:
            return int(config.label2id[self.positive_label])
        if self.positive_label.isdigit() and int(self.positive_label) < config.num_labels:
            return int(self.positive_label)
        raise ModelError(f"positive_label '{self.positive_label}' is not a class of {self.model_path} "
                         f"(its classes: {', '.join(map(str, config.label2id))}); set quality_classifier.positive_label")

    def scores(self, texts: list[str]) -> list[float]:
        import torch

        out: list[float] = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = self._tokenizer(texts[start:start + self.batch_size], truncation=True,
                                        max_length=self.max_length, padding=True, return_tensors="pt")
                logits = self._model(**batch.to(self.device)).logits.float()
                if self.regression:
                    values = logits[:, 0]
                else:
                    values = logits.softmax(dim=-1)[:, self._positive_index]
                out.extend(values.cpu().tolist())
        return out


def make_scorer(kind: str, model_path: str, positive_label: str = "", max_length: int = 512,
                batch_size: int = 64, device: str = "", cpu_threads: int = 0):
    if kind == "fasttext":
        return FastTextScorer(model_path, positive_label)
    if kind == "transformer":
        return TransformerScorer(model_path, positive_label, max_length, batch_size, device, cpu_threads)
    raise ModelError(f"unknown classifier kind '{kind}'; use one of: {', '.join(KINDS)}")
