"""Benchmark files for decontamination: JSONL(.gz), JSON arrays, Parquet, CSV and directories
saved by Hugging Face `datasets`, local and over http; and `ccforge decontaminate-check`."""

from __future__ import annotations

import csv
import functools
import gzip
import http.server
import json
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ccforge.cli import main
from ccforge.document import Document
from ccforge.pipeline.parquet_io import DOCUMENT_SCHEMA, document_row
from ccforge.read.benchmark_files import BenchmarkFile
from ccforge.read.errors import ReadError

ROWS = [
    {"question": "What is the boiling point of water at sea level in degrees Celsius?",
     "choices": ["90", "one hundred"], "answer": 1},
    {"question": "Name the largest planet of the solar system.", "choices": ["Jupiter", "Mars"], "answer": 0},
]
TEXTS = [
    "What is the boiling point of water at sea level in degrees Celsius?\n90\none hundred",
    "Name the largest planet of the solar system.\nJupiter\nMars",
]


def write_jsonl(path, rows=ROWS):
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def write_arrow_split(directory, rows):
    """A split laid out as `Dataset.save_to_disk` writes it: an Arrow stream and state.json."""
    directory.mkdir(parents=True)
    table = pa.Table.from_pylist(rows)
    with pa.OSFile(str(directory / "data-00000-of-00001.arrow"), "wb") as sink:
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    state = {"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_split": None}
    (directory / "state.json").write_text(json.dumps(state))
    (directory / "dataset_info.json").write_text("{}")


def make(kind: str, tmp_path):
    if kind in ("jsonl", "jsonl.gz"):
        return write_jsonl(tmp_path / f"bench.{kind}")
    if kind == "json array":
        path = tmp_path / "bench.json"
        path.write_text(json.dumps(ROWS))
        return path
    if kind == "parquet":
        pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "bench.parquet")
        return tmp_path / "bench.parquet"
    if kind == "csv":
        path = tmp_path / "bench.csv"
        with open(path, "w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(["question", "choices", "answer"])
            for row in ROWS:  # a CSV cell holds one string: the choices one per line
                writer.writerow([row["question"], "\n".join(row["choices"]), row["answer"]])
        return path
    if kind == "datasets layout":
        write_arrow_split(tmp_path / "bench", ROWS)
        return tmp_path / "bench"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["jsonl", "jsonl.gz", "json array", "parquet", "csv", "datasets layout"])
def test_every_format_gives_the_same_item_texts(kind, tmp_path):
    source = BenchmarkFile(str(make(kind, tmp_path)), ["question", "choices"])
    assert list(source.texts()) == TEXTS
    assert source.bad_rows == 0


def test_no_columns_means_every_text_field(tmp_path):
    rows = [{"id": "q1", "question": "Why?", "answers": {"text": ["Because", "So"], "start": [3, 9]}}]
    assert list(BenchmarkFile(str(write_jsonl(tmp_path / "b.jsonl", rows))).texts()) == ["q1\nWhy?\nBecause\nSo"]


def test_broken_lines_are_skipped_and_counted(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n{not json\n[1, 2]\n\n" + json.dumps(ROWS[1]) + "\n")
    source = BenchmarkFile(str(path), ["question"])
    assert list(source.texts()) == [ROWS[0]["question"], ROWS[1]["question"]]
    assert source.bad_rows == 2


def test_dataset_saved_by_datasets_is_read_without_it(tmp_path):
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    test_split = datasets.Dataset.from_list(ROWS)
    test_split.save_to_disk(str(tmp_path / "one"))
    assert list(BenchmarkFile(str(tmp_path / "one"), ["question", "choices"]).texts()) == TEXTS
    both = datasets.DatasetDict({"test": test_split, "validation": test_split.select([1])})
    both.save_to_disk(str(tmp_path / "dict"))
    assert list(BenchmarkFile(str(tmp_path / "dict"), ["question", "choices"]).texts()) == TEXTS + TEXTS[1:]
    assert list(BenchmarkFile(str(tmp_path / "dict"), ["question"], ["validation"]).texts()) == [ROWS[1]["question"]]
    with pytest.raises(ReadError, match="no split 'train' .*splits: test, validation"):
        list(BenchmarkFile(str(tmp_path / "dict"), [], ["train"]).texts())


@pytest.mark.parametrize("kind, columns, message", [
    ("jsonl", ["prompt"], "has no column 'prompt' \\(columns: answer, choices, question\\)"),
    ("parquet", ["prompt"], "has no column 'prompt'"),
    ("csv", ["prompt"], "has no column 'prompt'"),
    ("datasets layout", ["prompt"], "has no column 'prompt'"),
])
def test_a_missing_column_is_named(kind, columns, message, tmp_path):
    with pytest.raises(ReadError, match=message):
        list(BenchmarkFile(str(make(kind, tmp_path)), columns).texts())


def test_a_folder_that_datasets_did_not_write_is_a_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReadError, match="is not a JSONL\\(.gz\\), Parquet or CSV file, or a directory saved by"):
        list(BenchmarkFile(str(tmp_path / "empty")).texts())


@pytest.fixture
def served(tmp_path):
    """tmp_path over http on the loopback interface."""
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.parametrize("kind", ["jsonl.gz", "parquet", "datasets layout"])
def test_benchmarks_are_read_over_http(kind, tmp_path, served):
    name = make(kind, tmp_path).name
    assert list(BenchmarkFile(f"{served}/{name}", ["question", "choices"]).texts()) == TEXTS


def write_run(run_dir, texts):
    (run_dir / "documents").mkdir(parents=True)
    docs = [Document(id=f"<urn:{i}>", url=f"https://site{i}.example/", text=text) for i, text in enumerate(texts)]
    pq.write_table(pa.Table.from_pylist([document_row(d) for d in docs], schema=DOCUMENT_SCHEMA),
                   run_dir / "documents" / "part-00000.parquet")


def test_check_counts_a_runs_contaminated_documents_without_changing_it(tmp_path, capsys):
    bench = make("jsonl", tmp_path)
    write_run(tmp_path / "run", ["Quiz night! what is the BOILING point of water, at sea level in degrees celsius? 90",
                                 "A clean page about gardening and tomatoes in the summer.",
                                 "What is the boiling point of water at sea level in degrees"])
    before = (tmp_path / "run" / "documents" / "part-00000.parquet").read_bytes()
    assert main(["decontaminate-check", str(bench), str(tmp_path / "run"), "--columns", "question,choices"]) == 0
    out = capsys.readouterr().out
    assert "benchmark bench (" in out and "2 items (1 shorter than one n-gram)" in out
    assert "3 documents, 1 (33.33%) share n-grams with bench" in out
    assert 'https://site0.example/  <urn:0>  2 shared n-grams, e.g. "what is the boiling point' in out
    assert (tmp_path / "run" / "documents" / "part-00000.parquet").read_bytes() == before


def test_check_without_a_run_is_a_one_line_error(tmp_path, capsys):
    assert main(["decontaminate-check", str(make("jsonl", tmp_path)), str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no documents Parquet in" in err and len(err.splitlines()) == 1
