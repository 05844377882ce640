"""The stage names of the public interface, in flow order, and the per-document stage objects.

Beam-free: the pipeline package asks this module which stage objects to run.
"""

from __future__ import annotations

from ccforge.config import REQUIRED_STAGES, RunConfig  # noqa: F401  (REQUIRED_STAGES re-exported)
from ccforge.extract.extractor import Extractor
from ccforge.filters.c4 import C4Filter
from ccforge.filters.decontaminate import DecontaminationFilter
from ccforge.filters.fineweb_quality import FineWebQualityFilter
from ccforge.filters.gopher_quality import GopherQualityFilter
from ccforge.filters.gopher_repetition import GopherRepetitionFilter
from ccforge.filters.language import LanguageFilter
from ccforge.filters.pii import PiiScrubber
from ccforge.filters.quality_classifier import QualityClassifier
from ccforge.filters.url_filter import UrlFilter
from ccforge.stage import Stage

# name -> what it does (`ccforge stages` prints this table)
STAGE_DESCRIPTIONS: dict[str, str] = {
    "read": "WARC records -> HTML pages (response, HTTP 200, HTML); charset sniffed, decoded with replacement",
    "url_filter": "drop URLs on blocklists: domains, hosts, exact URLs, banned words and sub-words (UT1 lists)",
    "extract": "HTML -> main text (trafilatura, or resiliparse), with a per-page time limit and size cap",
    "language": "fastText lid.176 language ID; keep listed languages above their score threshold",
    "gopher_repetition": "drop texts with repeated lines, paragraphs and n-grams (Gopher)",
    "gopher_quality": "drop texts failing Gopher's word-count, word-length, symbol and stop-word rules",
    "c4": "C4 line cleaning and document rules (rewrites the text)",
    "fineweb_quality": "FineWeb's rules: terminal punctuation, short lines, duplicated lines, newlines per word",
    "quality_classifier": "model quality score (fastText or transformer) into quality_score; keep above a threshold",
    "decontaminate": "drop (or flag) texts sharing a 13-word / 50-character n-gram with named benchmarks",
    "exact_dedup": "one document per normalised-text hash; newest capture per URL",
    "minhash_dedup": "MinHash-LSH near-duplicate removal (5-grams, 16 bands x 7 hashes)",
    "pii": "replace e-mails, public IPs, phones, cards, IBANs, national IDs and secrets",
    "tokenize": "tiktoken encoding into train/val token shards with a manifest",
}
STAGE_NAMES: list[str] = list(STAGE_DESCRIPTIONS)


def phase_a_stages(config: RunConfig) -> list[Stage]:
    """The enabled per-document stages between reading and the dedup keys, in flow order."""
    stages = [
        UrlFilter(config.url_filter),
        Extractor(config.extract),
        LanguageFilter(config.language),
        GopherRepetitionFilter(config.gopher_repetition),
        GopherQualityFilter(config.gopher_quality),
        C4Filter(config.c4),
        FineWebQualityFilter(config.fineweb_quality),
    ]
    if config.stage_enabled("quality_classifier"):  # built only when on: it checks that a model is named
        stages.append(QualityClassifier(config.quality_classifier))
    if config.stage_enabled("decontaminate"):  # its constructor checks the benchmark paths
        stages.append(DecontaminationFilter(config.decontaminate))
    return [stage for stage in stages if config.stage_enabled(stage.name)]


def pii_stage(config: RunConfig) -> Stage | None:
    return PiiScrubber(config.pii) if config.stage_enabled("pii") else None
