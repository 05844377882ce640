"""report.html: self-contained, and it works from stats.json alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ccforge.pipeline.report import ReportError, write_report
from ccforge.tokenize.config import TokenizeConfig
from ccforge.tokenize.local import write_token_shards
from ccforge.tokenize.manifest import tokenizer_info, write_manifest

STATS = {
    "stages": [
        {"name": "read", "in": 200, "kept": 200, "dropped": {}},
        {"name": "extract", "in": 200, "kept": 150, "dropped": {"empty_text": 40, "timeout": 10}},
        {"name": "language", "in": 150, "kept": 90, "dropped": {"lang_below_threshold": 60}},
        {"name": "minhash_dedup", "in": 90, "kept": 60, "dropped": {"near_duplicate": 30}},
        {"name": "pii", "in": 60, "kept": 60, "dropped": {}, "counts": {"found:email": 7, "found:ip_address": 2}},
    ],
    "languages": {"en": 50, "de": 10},
    "config": {"name": "fineweb-en"},
    "inputs": ["a.warc.gz"],
    "elapsed_s": 12.5,
}


def images(page: str) -> list[str]:
    return re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,', page)


def test_report_from_stats_json_alone(tmp_path):
    (tmp_path / "stats.json").write_text(json.dumps(STATS))
    page = write_report(tmp_path).read_text()
    assert set(images(page)) >= {"stage funnel", "drop reasons", "language mix", "pii counts"}
    assert "No documents Parquet yet." in page and "No manifest.json" in page
    assert "lang_below_threshold 60" in page  # the funnel table
    assert not re.search(r'(src|href)="(https?:|//|[^d#][^"]*\.(png|css|js))', page), "must be self-contained"


def test_report_with_documents_and_manifest(tmp_path):
    (tmp_path / "stats.json").write_text(json.dumps(STATS))
    docs = [(f"<urn:uuid:{i}>", "word " * (5 + 3 * i)) for i in range(60)]
    config = TokenizeConfig(threads=1)
    entries, counts = write_token_shards(docs, tmp_path, config)
    write_manifest(tmp_path, entries, tokenizer_info(config), {}, STATS)
    (tmp_path / "documents").mkdir()
    pq.write_table(
        pa.table(
            {
                "text": [t for _, t in docs],
                "id": [i for i, _ in docs],
                "language": ["en"] * 50 + ["de"] * 10,
                "token_count": pa.array([counts[i] for i, _ in docs], pa.int64()),
                "minhash_cluster_size": pa.array([1] * 55 + [2, 2, 3, 8, 40], pa.int64()),
            }
        ),
        tmp_path / "documents" / "part-00000.parquet",
    )
    page = write_report(tmp_path).read_text()
    assert set(images(page)) >= {
        "stage funnel",
        "language mix",
        "pii counts",
        "characters histogram",
        "tokens histogram",
        "cluster sizes",
    }
    assert "cl100k_base" in page and "5 of 60 kept documents" in page


def test_report_without_stats_is_a_one_line_error(tmp_path):
    with pytest.raises(ReportError, match="no stats.json"):
        write_report(Path(tmp_path))
