"""scrub_file: JSONL (plain and gzipped) and Parquet in, same format out, only the text changed."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ccforge.filters.pii import PiiConfig
from ccforge.scrub import scrub_file

ROWS = [
    {"id": "a", "text": "Write to bob@gmail.com or call (415) 495-8700.", "score": 0.5, "tags": ["x", "y"]},
    {"id": "b", "text": "Nothing personal here, version 1.2.3.4.", "score": 1.0, "tags": []},
    {"id": "c", "text": None, "score": None, "tags": ["z"]},
    {"id": "d", "text": "Server 93.184.216.34, café ☕", "score": 2.25, "tags": ["ü"]},
]
TAGGED = PiiConfig(replacement="tag")
EXPECTED_TEXT = [
    "Write to <EMAIL> or call <PHONE>.",
    "Nothing personal here, version 1.2.3.4.",
    None,
    "Server <IP_ADDRESS>, café ☕",
]
EXPECTED_COUNTS = {"rows": 4, "rows_changed": 2, "found:email": 1, "found:phone": 1, "found:ipv4": 1}


def _write_jsonl(path, rows):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as sink:
        for row in rows:
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as source:
        return [json.loads(line) for line in source]


@pytest.mark.parametrize(("source", "target"), [("in.jsonl", "out.jsonl"), ("in.jsonl.gz", "out.jsonl.gz")])
def test_jsonl_keeps_other_fields(tmp_path, source, target):
    _write_jsonl(tmp_path / source, ROWS)
    counts = scrub_file(tmp_path / source, tmp_path / target, config=TAGGED)
    assert counts == EXPECTED_COUNTS
    out = _read_jsonl(tmp_path / target)
    assert [row["text"] for row in out] == EXPECTED_TEXT
    assert [{k: v for k, v in row.items() if k != "text"} for row in out] == [
        {k: v for k, v in row.items() if k != "text"} for row in ROWS
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([source, target])  # no leftovers


def test_jsonl_rows_without_pii_are_copied_byte_for_byte(tmp_path):
    line = '{"text":  "no pii",   "n": 1.50}\n'
    (tmp_path / "in.jsonl").write_text(line)
    scrub_file(tmp_path / "in.jsonl", tmp_path / "out.jsonl")
    assert (tmp_path / "out.jsonl").read_text() == line


def test_parquet_keeps_schema_and_other_columns(tmp_path):
    table = pa.Table.from_pylist(ROWS)
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=2, compression="snappy")
    counts = scrub_file(tmp_path / "in.parquet", tmp_path / "out.parquet", config=TAGGED)
    assert counts == EXPECTED_COUNTS
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema == table.schema
    assert out.column("text").to_pylist() == EXPECTED_TEXT
    assert out.drop_columns(["text"]).equals(table.drop_columns(["text"]))
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(0).column(0).compression == "SNAPPY"


def test_other_text_column(tmp_path):
    _write_jsonl(tmp_path / "in.jsonl", [{"body": "mail eve@web.de", "text": "eve@web.de stays"}])
    scrub_file(tmp_path / "in.jsonl", tmp_path / "out.jsonl", text_column="body", config=TAGGED)
    assert _read_jsonl(tmp_path / "out.jsonl") == [{"body": "mail <EMAIL>", "text": "eve@web.de stays"}]


@pytest.mark.parametrize(
    ("source", "target", "column", "message"),
    [
        ("in.parquet", "out.parquet", "body", "no column 'body'"),
        ("in.jsonl", "out.jsonl", "body", "no field 'body'"),
        ("in.csv", "out.csv", "text", "cannot tell the format"),
        ("in.jsonl", "out.parquet", "text", "same format"),
        ("missing.jsonl", "out.jsonl", "text", "no such input file"),
    ],
)
def test_errors_are_one_line_value_errors(tmp_path, source, target, column, message):
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "in.parquet")
    _write_jsonl(tmp_path / "in.jsonl", ROWS)
    (tmp_path / "in.csv").write_text("text\nx\n")
    with pytest.raises(ValueError, match=message) as error:
        scrub_file(tmp_path / source, tmp_path / target, text_column=column)
    assert "\n" not in str(error.value)
    assert not (tmp_path / target).exists()
