"""Per-language thresholds for the quality filters, and their funnel by language.

Each quality filter's config has `languages: {code: {key: value}}`; a document whose
`language` is `code` (or starts with `code-`, as `zh-Hant` does `zh`) is judged with
the config's values replaced by those, e.g.

    gopher_quality:
      min_avg_word_length: 3
      languages:
        zh: {min_avg_word_length: 1, max_avg_word_length: 4}

Keys are checked like the rest of the config: an unknown key or a wrong type is a
one-line error naming `gopher_quality.languages.zh.<key>`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from ccforge.document import Document, Drop
from ccforge.stage import Stage


@dataclass(frozen=True)
class Measure:
    """One rule's statistic on one page, beside the bound the config holds it to.

    The filters judge a page by the first measure that fails; the calibration benchmark
    reads every measure of reference pages to set a language's bounds.
    """

    key: str  # the config key of the bound, e.g. 'min_alpha_words_ratio', 'top_ngram_frac.2'
    reason: str  # the drop reason when the bound is crossed
    value: float
    bound: float
    at_least: bool  # True: the page needs value >= bound; False: value <= bound

    @property
    def fails(self) -> bool:
        return self.value < self.bound if self.at_least else self.value > self.bound


def first_failure(measures: Iterable[Measure]) -> str | None:
    """The reason of the first failing measure (later ones are never computed), or None."""
    for measure in measures:
        if measure.fails:
            return measure.reason
    return None


def config_for_language(config: Any, language: str, section: str) -> Any:
    """`config` with `config.languages[language]` applied (checked, converted)."""
    from ccforge.config import ConfigError, from_dict  # here: ccforge.config imports the filters

    override = config.languages[language]
    path = f"{section}.languages.{language}"
    if not isinstance(override, dict):
        raise ConfigError(f"config section '{path}' must be a mapping of settings, got {override!r}")
    if "languages" in override:
        raise ConfigError(f"config key '{path}.languages' cannot nest; give each language its own entry")
    values = {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name != "languages"}
    values.update(override)
    return from_dict(type(config), values, path)


def check_language_overrides(config: Any, section: str) -> None:
    """Raise ConfigError now for a bad `languages` entry, rather than at the first page."""
    for language in config.languages:
        config_for_language(config, language, section)


class PerLanguageStage(Stage):
    """A quality stage whose thresholds depend on the document's language.

    Subclasses implement `judge`. Documents with no language (the language stage
    skipped) are judged as English, as FineWeb's filters default to, and counted as
    'und'. Counts by language (`zh:kept`, `zh:<reason>`) go to the funnel via
    `take_counts`.
    """

    config_section: ClassVar[str] = ""

    def __init__(self, config: Any):
        self.config = config
        self._configs = {
            language: config_for_language(config, language, self.config_section) for language in config.languages
        }
        self._counts: Counter[str] = Counter()

    def config_for(self, language: str) -> Any:
        if language in self._configs:
            return self._configs[language]
        base = language.replace("_", "-").split("-")[0]
        return self._configs.get(base, self.config)

    def judge(self, doc: Document, config: Any, language: str) -> Document | Drop:
        """Keep (possibly rewritten) or drop `doc` under `config`; `language` splits its words."""
        raise NotImplementedError

    def process(self, doc: Document) -> Document | Drop:
        language = doc.language or "en"
        config = self.config_for(language)
        result = self.judge(doc, config, language) if config.enabled else doc
        outcome = "kept" if isinstance(result, Document) else result.reason
        self._counts[f"{doc.language or 'und'}:{outcome}"] += 1
        return result

    def take_counts(self) -> dict[str, int]:
        counts, self._counts = dict(self._counts), Counter()
        return counts
