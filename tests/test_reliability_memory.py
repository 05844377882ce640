"""Phase A's chunk writer holds one row group at a time, however much a bundle brings
(benchmarks/bench_memory.py measures the whole job)."""

from __future__ import annotations

import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq

from ccforge.document import Document
from ccforge.pipeline.parquet_io import CHUNK_SCHEMA, WriteParquetBundles, chunk_row


def doc(i: int) -> Document:
    text = f"document {i} " + "word " * 2000
    return Document(id=f"<urn:uuid:{i:08d}>", url=f"http://x.test/{i}", text=text, language="en",
                    language_score=0.9, metadata={"exact_hash": i, "minhash_bands": [i] * 14})


def unwrap(value):
    return getattr(value, "value", value)  # finish_bundle yields WindowedValues


def test_chunk_writer_holds_one_row_group_and_rolls_files(tmp_path):
    writer = WriteParquetBundles(str(tmp_path), CHUNK_SCHEMA, chunk_row, target_bytes=400_000,
                                 compression="zstd", row_group_bytes=50_000)
    writer.setup()
    writer.start_bundle()
    paths = [unwrap(p) for p in writer.process(doc(-1))]  # the first row group sets up the file
    # What the writer really holds, not what it says it holds: Python objects (tracemalloc)
    # and Arrow buffers, measured while 100 documents (1 MB of text) pass through it.
    tracemalloc.start()
    arrow_base, arrow_most = pa.total_allocated_bytes(), 0
    try:
        for i in range(100):
            paths += [unwrap(p) for p in writer.process(doc(i))]
            arrow_most = max(arrow_most, pa.total_allocated_bytes() - arrow_base)
        python_most = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    paths += [unwrap(p) for p in writer.finish_bundle()]
    # about one row group (50 kB of text) and the document in hand; holding a whole file
    # (400 kB) or the bundle (1 MB) fails these
    assert python_most < 150_000 and arrow_most < 150_000
    assert len(paths) == len(set(paths)) >= 2  # files roll over at target_bytes
    ids, groups = [], 0
    for path in paths:
        parquet = pq.ParquetFile(path)
        groups += parquet.num_row_groups
        ids += parquet.read(columns=["id"]).column("id").to_pylist()
    assert sorted(ids) == sorted(doc(i).id for i in range(-1, 100))
    assert groups >= 10
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.rsplit("/", 1)[-1] for p in paths)  # no temp files


def test_empty_bundle_writes_nothing(tmp_path):
    writer = WriteParquetBundles(str(tmp_path), CHUNK_SCHEMA, chunk_row, 1000, "zstd")
    writer.setup()
    writer.start_bundle()
    assert list(writer.finish_bundle()) == []
    assert not list(tmp_path.iterdir())
