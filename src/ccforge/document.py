"""The one record type that flows through every stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Document:
    """A page on its way from WARC record to training text.

    `html` is filled by the reader and cleared by the extractor once `text` exists,
    so later stages never carry raw markup around.
    """

    id: str  # WARC-Record-ID, e.g. "<urn:uuid:...>"
    url: str
    date: str = ""  # WARC-Date, ISO 8601
    dump: str = ""  # crawl id such as CC-MAIN-2024-10, "" when unknown
    file_path: str = ""  # the WARC this record came from
    html: str = ""
    text: str = ""
    language: str = ""
    language_score: float = 0.0
    # Per-stage extras that end up as columns (e.g. minhash_cluster_size) or in stats
    # (e.g. pii counts). Values must be plain JSON-able Python types.
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Drop:
    """What a stage returns instead of a document: the reason it was dropped.

    Reasons are short snake_case words (`empty_text`, `timeout`, `lang_below_threshold`);
    they become the keys of the funnel's `dropped` counts.
    """

    reason: str
