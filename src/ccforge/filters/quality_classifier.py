"""Model-based quality scoring: a fastText or transformer classifier scores each document,
the score goes to the `quality_score` column, and documents below the threshold drop.

One model per worker process, loaded in `setup()` (a fastText `.bin`/`.ftz` from a path
or an http(s) URL fetched once per worker; a transformer from a model directory or a Hub
id, on the GPU when torch sees one). Documents come in batches (`batch_size`), which a
transformer scores in one forward pass each. Per-language models go under
`languages: {zh: {model_path: ...}}`; a document whose language has no model is passed
through unscored and counted as `<lang>:no_model`.

Keeping a fraction: `keep_fraction: 0.1` replaces the threshold by the score that the
top 10% of a calibration sample (`calibration_path`, read on every worker) reach. Every
worker computes the same threshold from the same sample, so the output does not depend
on how documents were spread over workers; the share actually kept is the sample's only
as far as the crawl scores like the sample (the funnel shows the real share).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ccforge.document import Document, Drop
from ccforge.filters.per_language import PerLanguageStage, check_language_overrides
from ccforge.filters.quality_models import KINDS, make_scorer
from ccforge.filters.text_sources import read_texts

SCORE_KEY = "quality_score"  # doc.metadata key, and the documents column
PROBABILITY_BIN = 0.05  # histogram bins of the score (stats.json counts `score:<lang>:<bin start>`)
REGRESSION_BIN = 0.25  # a regression head's score (FineWeb-Edu: 0-5) is binned wider
log = logging.getLogger(__name__)


@dataclass
class QualityClassifierConfig:
    section: ClassVar[str] = "quality_classifier"

    enabled: bool = False
    kind: str = "fasttext"  # fasttext | transformer
    # fasttext: a .bin/.ftz path or http(s) URL; transformer: a model directory or a Hub id
    model_path: str = ""
    # The score is this label's probability. fastText: "" = __label__hq (what `ccforge
    # classifier train` and DCLM use); transformer: a class name or index, "" = the last
    # class; a one-output (regression) head's value is the score itself.
    positive_label: str = ""
    threshold: float = 0.5  # keep documents scoring at least this
    keep_fraction: float | None = None  # instead: keep this top share, calibrated on calibration_path
    calibration_path: str = ""  # a SPEC of texts like the crawl's (e.g. an earlier run's directory)
    calibration_texts: int = 10_000  # at most this many of them are scored, in file order
    batch_size: int = 64  # documents per batch (per forward pass for transformers)
    max_length: int = 512  # transformer tokens per document; longer texts are truncated
    device: str = ""  # transformer: "" = cuda when torch sees a GPU, else cpu
    # transformer on CPU: torch threads per worker process. Runners start a process per
    # core, so more threads only make the processes fight over the cores.
    cpu_threads: int = 1
    languages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from ccforge.config import ConfigError  # here: ccforge.config imports the filters

        if self.kind not in KINDS:
            raise ConfigError(f"config key '{self.section}.kind' must be one of {', '.join(KINDS)}, got '{self.kind}'")
        if self.keep_fraction is not None and not 0 < self.keep_fraction <= 1:
            raise ConfigError(f"config key '{self.section}.keep_fraction' must be in (0, 1], got {self.keep_fraction}")
        if self.batch_size < 1:
            raise ConfigError(f"config key '{self.section}.batch_size' must be at least 1")
        check_language_overrides(self, self.section)


class QualityClassifier(PerLanguageStage):
    name = "quality_classifier"
    config_section = QualityClassifierConfig.section

    def __init__(self, config: QualityClassifierConfig):
        from ccforge.config import ConfigError

        super().__init__(config)
        self.batch_size = config.batch_size  # per instance: the config sets it
        judged = [(f"{self.config_section}.languages.{lang}", cfg) for lang, cfg in self._configs.items()]
        judged.append((self.config_section, config))
        if not any(cfg.enabled and cfg.model_path for _, cfg in judged):
            raise ConfigError(f"{self.config_section} is on but names no model: set {self.config_section}.model_path "
                              "(a fastText .bin or a transformer), or skip the stage")
        for where, cfg in judged:
            if cfg.enabled and cfg.model_path and cfg.keep_fraction is not None and not cfg.calibration_path:
                raise ConfigError(f"{where}.keep_fraction needs {where}.calibration_path: a sample of texts "
                                  "to find the score that keeps that share")
        self._scorers: dict[tuple, Any] = {}
        self._thresholds: dict[int, float] = {}

    @staticmethod
    def _model_key(config: QualityClassifierConfig) -> tuple | None:
        if not (config.enabled and config.model_path):
            return None
        return (config.kind, config.model_path, config.positive_label, config.max_length, config.device)

    def setup(self) -> None:
        for language, config in [("", self.config), *self._configs.items()]:
            key = self._model_key(config)
            if key is None:
                continue
            if key not in self._scorers:
                scorer = make_scorer(*key[:3], max_length=config.max_length, batch_size=config.batch_size,
                                     device=config.device, cpu_threads=config.cpu_threads)
                scorer.load()
                self._scorers[key] = scorer
            self._thresholds[id(config)] = self._threshold(config, self._scorers[key], language)

    @staticmethod
    def _threshold(config: QualityClassifierConfig, scorer, language: str) -> float:
        if config.keep_fraction is None:
            return config.threshold
        texts = [t.text for t in read_texts(config.calibration_path, language=language, limit=config.calibration_texts)]
        if not texts:
            raise ValueError(f"calibration sample {config.calibration_path} holds no texts"
                             + (f" in language '{language}'" if language else ""))
        scores = np.asarray(scorer.scores(texts), dtype=float)
        return float(np.quantile(scores, 1.0 - config.keep_fraction))

    def process(self, doc: Document) -> Document | Drop:
        return self.process_batch([doc])[0]

    def process_batch(self, docs: list[Document]) -> list[Document | Drop]:
        results: list[Document | Drop] = list(docs)
        groups: dict[int, list[int]] = {}
        configs: dict[int, QualityClassifierConfig] = {}
        for index, doc in enumerate(docs):
            config = self.config_for(doc.language)
            if self._model_key(config) is None:
                self._counts[f"{doc.language or 'und'}:no_model"] += 1
                continue
            groups.setdefault(id(config), []).append(index)
            configs[id(config)] = config
        for group_id, indices in groups.items():
            config = configs[group_id]
            scorer = self._scorers[self._model_key(config)]
            for index, score in zip(indices, self._scores(scorer, [docs[i] for i in indices])):
                results[index] = self._judge(docs[index], score, scorer, self._thresholds[group_id])
        return results

    def _scores(self, scorer, docs: list[Document]) -> list[float | Drop]:
        """Scores of a batch; if the batch fails, each document alone, so one bad text
        drops only itself."""
        try:
            return scorer.scores([doc.text for doc in docs])
        except Exception:
            return [self._scores_one(scorer, doc) for doc in docs]

    @staticmethod
    def _scores_one(scorer, doc: Document) -> float | Drop:
        try:
            return scorer.scores([doc.text])[0]
        except Exception as exc:  # bad input is counted and skipped, never kills the job
            log.warning("quality_classifier failed on %s: %s: %s", doc.id, type(exc).__name__, exc)
            return Drop(f"error:{type(exc).__name__}")

    def _judge(self, doc: Document, score: float | Drop, scorer, threshold: float) -> Document | Drop:
        language = doc.language or "und"
        if isinstance(score, Drop):
            result: Document | Drop = score
        elif not math.isfinite(score):
            result = Drop("score_not_finite")
        else:
            doc.metadata[SCORE_KEY] = float(score)
            self._counts[f"score:{language}:{score_bin(score, scorer.score_range)}"] += 1
            self._counts[f"threshold:{language}:{threshold:.4g}"] += 1
            result = doc if score >= threshold else Drop("below_threshold")
        self._counts[f"{language}:{'kept' if isinstance(result, Document) else result.reason}"] += 1
        return result

    def teardown(self) -> None:
        self._scorers.clear()


def named_files(config: QualityClassifierConfig) -> list[tuple[str, str]]:
    """(config key, value) of every model and calibration sample the config names, for
    the driver's warning that remote workers cannot see this machine's files."""
    found = []
    for prefix, cfg in [("", config), *((f"languages.{k}.", v) for k, v in config.languages.items())]:
        for key in ("model_path", "calibration_path"):
            value = cfg.get(key) if isinstance(cfg, dict) else getattr(cfg, key)
            if value:
                found.append((f"{config.section}.{prefix}{key}", value))
    return found


def score_bin(score: float, score_range: tuple[float, float] | None) -> str:
    """The start of the histogram bin holding `score`, as text (a stats.json key part)."""
    if score_range is None:
        width = REGRESSION_BIN
    else:
        width = PROBABILITY_BIN
        score = min(max(score, score_range[0]), score_range[1] - width / 2)
    return f"{math.floor(score / width + 1e-9) * width:.2f}"
