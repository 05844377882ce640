"""Reading what a run directory holds (stats.json, documents Parquet) for inspect and the report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

STATS_FILE = "stats.json"
DOCUMENTS_DIR = "documents"


@dataclass
class DocumentColumns:
    """Per-document values of a run, read column by column (the text only as its length)."""

    count: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    characters: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    token_count: np.ndarray | None = None
    cluster_size: np.ndarray | None = None


def load_stats(run_dir: Path) -> dict | None:
    path = Path(run_dir) / STATS_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def document_files(run_dir: Path) -> list[Path]:
    return sorted((Path(run_dir) / DOCUMENTS_DIR).glob("*.parquet"))


def read_document_columns(paths: list[Path]) -> DocumentColumns:
    """Languages, text lengths, token counts and MinHash cluster sizes of the documents files."""
    result = DocumentColumns()
    characters, token_counts, cluster_sizes = [], [], []
    for path in paths:
        parquet = pq.ParquetFile(path)
        names = set(parquet.schema_arrow.names)
        wanted = [c for c in ("text", "language", "token_count", "minhash_cluster_size") if c in names]
        # Small batches: only the text lengths are kept, so memory stays one batch of text.
        for batch in parquet.iter_batches(columns=wanted, batch_size=512):
            result.count += batch.num_rows
            if "text" in names:
                characters.append(pc.utf8_length(batch.column("text")).to_numpy(zero_copy_only=False))
            if "language" in names:
                counts = pc.value_counts(batch.column("language")).to_pylist()
                for entry in counts:
                    key = entry["values"] or "unknown"
                    result.languages[key] = result.languages.get(key, 0) + entry["counts"]
            if "token_count" in names:
                token_counts.append(batch.column("token_count").to_numpy(zero_copy_only=False))
            if "minhash_cluster_size" in names:
                cluster_sizes.append(batch.column("minhash_cluster_size").to_numpy(zero_copy_only=False))
    result.languages = dict(sorted(result.languages.items(), key=lambda kv: (-kv[1], kv[0])))
    if characters:
        result.characters = np.concatenate(characters).astype(np.int64)
    if token_counts:
        result.token_count = np.nan_to_num(np.concatenate(token_counts).astype(float)).astype(np.int64)
    if cluster_sizes:
        result.cluster_size = np.nan_to_num(np.concatenate(cluster_sizes).astype(float), nan=1).astype(np.int64)
    return result


def funnel_rows(stats: dict | None) -> list[dict]:
    return list((stats or {}).get("stages", []))


def stage_row(stats: dict | None, name: str) -> dict | None:
    return next((row for row in funnel_rows(stats) if row.get("name") == name), None)


def pii_counts(stats: dict | None) -> dict[str, int]:
    """Found PII per type, from the `found:<type>` extras of the pii stage."""
    row = stage_row(stats, "pii") or {}
    counts = row.get("counts", {}) or {}
    found = {key.split(":", 1)[1]: int(value) for key, value in counts.items() if key.startswith("found:")}
    return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass
class QualityScores:
    """One language's scores at the quality_classifier stage (all it scored, kept or not)."""

    bins: dict[float, int] = field(default_factory=dict)  # histogram: bin start -> documents
    thresholds: dict[float, int] = field(default_factory=dict)  # threshold -> documents judged by it
    kept: int = 0
    dropped: int = 0
    no_model: int = 0  # passed through unscored: no model for the language

    @property
    def scored(self) -> int:
        return sum(self.bins.values())


def quality_scores(stats: dict | None) -> dict[str, QualityScores]:
    """Per language, from the stage's counts `score:<lang>:<bin>`, `threshold:<lang>:<t>`,
    `<lang>:kept`, `<lang>:<drop reason>` and `<lang>:no_model`; most scored first."""
    counts = (stage_row(stats, "quality_classifier") or {}).get("counts", {}) or {}
    found: dict[str, QualityScores] = {}
    for key, value in counts.items():
        parts = key.split(":")
        if parts[0] in ("score", "threshold") and len(parts) == 3:
            entry = found.setdefault(parts[1], QualityScores())
            target = entry.bins if parts[0] == "score" else entry.thresholds
            target[float(parts[2])] = target.get(float(parts[2]), 0) + int(value)
        elif len(parts) == 2:
            entry = found.setdefault(parts[0], QualityScores())
            if parts[1] == "kept":
                entry.kept += int(value)
            elif parts[1] == "no_model":
                entry.no_model += int(value)
            else:
                entry.dropped += int(value)
    return dict(sorted(found.items(), key=lambda kv: (-kv[1].scored, -kv[1].no_model, kv[0])))


def dropped_total(row: dict) -> int:
    return int(sum((row.get("dropped") or {}).values()))


def language_counts(stats: dict | None) -> dict[str, int]:
    """stats.json's language mix: {"en": 12} or {"en": {"documents": 12, ...}}."""
    raw = (stats or {}).get("languages") or {}
    counts = {}
    for lang, value in raw.items():
        if isinstance(value, dict):
            value = next((value[k] for k in ("documents", "docs", "kept", "count") if k in value), 0)
        if isinstance(value, (int, float)):
            counts[str(lang)] = int(value)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def percentiles(values: np.ndarray) -> dict[str, float]:
    if values is None or len(values) == 0:
        return {}
    points = np.percentile(values, [5, 25, 50, 75, 95])
    return {
        "mean": round(float(np.mean(values)), 1),
        "p5": float(points[0]),
        "p25": float(points[1]),
        "p50": float(points[2]),
        "p75": float(points[3]),
        "p95": float(points[4]),
        "max": float(np.max(values)),
    }
