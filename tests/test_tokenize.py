"""Tokenize stage: encodings, the Beam steps, shard layout, determinism and the manifest."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from ccforge.document import Document
from ccforge.pipeline.metrics import counters_from_result
from ccforge.pipeline.tokenize_steps import TokenizeDocuments, WriteTokenShards
from ccforge.tokenize.config import TokenizeConfig
from ccforge.tokenize.encoding import EncodingError, describe_encoding, load_encoding
from ccforge.tokenize.local import write_token_shards
from ccforge.tokenize.manifest import read_manifest, tokenizer_info, write_manifest
from ccforge.tokenize.shards import iter_rows, order_key, read_shard, shard_metadata, split_of

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Ünïcödé, emoji 🦊🐕 and CJK 狐狸跳过了懒狗。",
    "  leading and trailing whitespace \n\n\t",
    "A literal <|endoftext|> inside a page is text, not a separator.",
    "line one\r\nline two\r\n" * 5,
    "numbers 1234567890 and symbols ~!@#$%^&*()",
]


def make_documents(n: int = 48) -> list[Document]:
    docs = [
        Document(
            id=f"<urn:uuid:{i:04d}>", url=f"http://example.com/{i}", text=f"{TEXTS[i % len(TEXTS)]} {i} " * (1 + i % 4)
        )
        for i in range(n)
    ]
    docs.append(Document(id="<urn:uuid:empty>", url="http://example.com/empty", text=""))
    return docs


CONFIG = TokenizeConfig(shard_tokens=400, val_fraction=0.2, batch_size=8, threads=2)


def run_pipeline(run_dir: Path, docs: list[Document], config: TokenizeConfig, mode: str = "in_memory"):
    """Tokenize and write shards with Beam; checks token counts and that the shard entries
    it emits are those of the Beam-free writer (same files, same checksums)."""
    encoding = load_encoding(config.encoding)
    expected_counts = [(d.id, len(encoding.encode_ordinary(d.text))) for d in docs if d.text]
    expected_entries, _ = write_token_shards([(d.id, d.text) for d in docs], run_dir.parent / "reference", config)
    options = PipelineOptions(["--direct_running_mode", mode, "--direct_num_workers", "2"])
    pipeline = beam.Pipeline(runner=FnApiRunner(), options=options)
    tokenized = pipeline | beam.Create(docs) | TokenizeDocuments(config)
    counts = tokenized | beam.Map(lambda d: (d.id, d.metadata["token_count"]))
    assert_that(counts, equal_to(expected_counts), label="token counts")
    entries = tokenized | WriteTokenShards(str(run_dir), config)
    assert_that(entries, equal_to(expected_entries), label="shard entries")
    result = pipeline.run()
    result.wait_until_finish()
    return expected_entries, counters_from_result(result)


@pytest.fixture(scope="module")
def beam_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("beam") / "run"
    docs = make_documents()
    entries, counters = run_pipeline(run_dir, docs, CONFIG)
    manifest_path = write_manifest(run_dir, entries, tokenizer_info(CONFIG), {"tokenize": {"seed": CONFIG.seed}}, [])
    return run_dir, docs, counters, read_manifest(manifest_path.parent)


def shard_digests(run_dir: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((run_dir / "tokens").glob("*.parquet"))}


def test_cl100k_loads_offline_with_public_name():
    encoding = load_encoding("cl100k_base")
    info = describe_encoding("cl100k_base", encoding)
    assert (info.name, info.vocab_size, info.eot, info.dtype) == ("cl100k_base", 100277, 100257, "uint32")
    assert encoding.encode_ordinary("hello world") == [15339, 1917]


def test_unknown_encoding_is_a_one_line_error():
    with pytest.raises(EncodingError, match="unknown encoding 'no_such_bpe'") as caught:
        load_encoding("no_such_bpe")
    assert "\n" not in str(caught.value)
    with pytest.raises(EncodingError, match="does not exist"):
        load_encoding("/nowhere/custom.tiktoken")


def write_tiny_bpe(path: Path) -> Path:
    """A byte-level BPE file: all 256 bytes plus a few merges, in tiktoken's 'base64 rank' lines."""
    tokens = [bytes([b]) for b in range(256)] + [b"th", b"he", b"the", b" the", b"in", b"ing"]
    path.write_text("".join(f"{base64.b64encode(t).decode()} {rank}\n" for rank, t in enumerate(tokens)))
    return path


def test_custom_bpe_file_gives_uint16_shards(tmp_path):
    bpe = write_tiny_bpe(tmp_path / "tiny.tiktoken")
    encoding = load_encoding(str(bpe))
    info = describe_encoding(str(bpe), encoding)
    assert (info.vocab_size, info.eot, info.dtype) == (263, 262, "uint16")
    assert info.sha256 == hashlib.sha256(bpe.read_bytes()).hexdigest()
    config = TokenizeConfig(encoding=str(bpe), val_fraction=0.0, threads=1)
    entries, counts = write_token_shards([(d.id, d.text) for d in make_documents(12)], tmp_path / "run", config)
    table = read_shard(tmp_path / "run" / entries[0]["path"])
    assert table.schema.field("tokens").type.value_type == "uint16"
    for doc_id, tokens in iter_rows(table):
        assert tokens[-1] == 262 and len(tokens) - 1 == counts[doc_id]


def val_ids_in_a_fresh_interpreter(count: int, hash_seed: str) -> list[str]:
    code = (
        "from ccforge.tokenize.shards import split_of\n"
        f"print('\\n'.join(i for i in (f'<urn:uuid:{{n}}>' for n in range({count})) if split_of(i, 0.1) == 'val'))"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return out.stdout.split()


def test_split_is_seed_free_and_order_is_seeded():
    ids = [f"<urn:uuid:{i}>" for i in range(4000)]
    val = [i for i in ids if split_of(i, 0.1) == "val"]
    assert 300 < len(val) < 500
    # the same split in any process: nothing hangs on Python's per-process string hashing
    assert val_ids_in_a_fresh_interpreter(4000, "1") == val_ids_in_a_fresh_interpreter(4000, "2") == val
    # a larger val_fraction only moves documents into val
    assert set(i for i in ids if split_of(i, 0.05) == "val") < set(val)
    assert [order_key(i, 1) for i in ids[:5]] != [order_key(i, 2) for i in ids[:5]]
    assert split_of("x", 0.0) == "train" and split_of("x", 1.0) == "val"


def test_tokens_decode_back_to_each_text_exactly(beam_run):
    run_dir, docs, _, manifest = beam_run
    encoding = load_encoding("cl100k_base")
    texts = {d.id: d.text for d in docs}
    seen = set()
    for shard in manifest["shards"]:
        for doc_id, tokens in iter_rows(read_shard(run_dir / shard["path"])):
            assert tokens[-1] == encoding.eot_token
            assert encoding.eot_token not in tokens[:-1]
            assert encoding.decode(tokens[:-1].tolist()) == texts[doc_id]
            assert split_of(doc_id, CONFIG.val_fraction) == shard["split"]
            seen.add(doc_id)
    assert seen == {d.id for d in docs if d.text}


def test_funnel_counts_the_empty_document_as_dropped(beam_run):
    _, docs, counters, _ = beam_run
    assert counters["tokenize:in"] == len(docs)
    assert counters["tokenize:kept"] == len(docs) - 1
    assert counters["tokenize:dropped:empty_tokens"] == 1


def test_manifest_totals_equal_shard_sums_and_token_counts(beam_run):
    run_dir, docs, _, manifest = beam_run
    encoding = load_encoding("cl100k_base")
    token_count = sum(len(encoding.encode_ordinary(d.text)) for d in docs)
    assert manifest["tokenizer"] == {"name": "cl100k_base", "vocab_size": 100277, "eot": 100257, "dtype": "uint32"}
    assert {s["split"] for s in manifest["shards"]} == {"train", "val"}
    assert len([s for s in manifest["shards"] if s["split"] == "train"]) > 1  # shard_tokens forces several
    rows = tokens = 0
    for shard in manifest["shards"]:
        table = read_shard(run_dir / shard["path"])
        assert table.num_rows == shard["rows"]
        assert sum(len(t) for _, t in iter_rows(table)) == shard["tokens"]
        assert hashlib.sha256((run_dir / shard["path"]).read_bytes()).hexdigest() == shard["sha256"]
        assert shard_metadata(table.schema)["split"] == shard["split"]
        rows += shard["rows"]
        tokens += shard["tokens"]
    totals = manifest["totals"]
    assert totals["train"]["rows"] + totals["val"]["rows"] == rows == len(docs) - 1
    assert totals["train"]["tokens"] + totals["val"]["tokens"] == tokens == token_count + rows


def test_rows_are_in_seeded_order_within_each_shard(beam_run):
    run_dir, _, _, manifest = beam_run
    for shard in manifest["shards"]:
        ids = pq.read_table(run_dir / shard["path"], columns=["id"]).column("id").to_pylist()
        keys = [order_key(i, CONFIG.seed) for i in ids]
        assert keys == sorted(keys)


def test_beam_shards_equal_the_local_writer_and_other_runner_modes(beam_run, tmp_path):
    run_dir, docs, _, _ = beam_run
    write_token_shards([(d.id, d.text) for d in docs], tmp_path / "local", CONFIG)
    assert shard_digests(tmp_path / "local") == shard_digests(run_dir)
    (tmp_path / "threads" / "tokens").mkdir(parents=True)
    (tmp_path / "threads" / "tokens" / "train-00099.parquet").write_bytes(b"left by an earlier run")
    (tmp_path / "threads" / "tokens" / "notes.parquet").write_bytes(b"not ours")
    run_pipeline(tmp_path / "threads", list(reversed(docs)), CONFIG, mode="multi_threading")
    assert not (tmp_path / "threads" / "tokens" / "train-00099.parquet").exists()
    (tmp_path / "threads" / "tokens" / "notes.parquet").unlink()
    assert shard_digests(tmp_path / "threads") == shard_digests(run_dir)


def test_rewriting_with_bigger_shards_removes_stale_files(tmp_path):
    docs = [(d.id, d.text) for d in make_documents()]
    write_token_shards(docs, tmp_path, CONFIG)
    assert len(list((tmp_path / "tokens").glob("train-*.parquet"))) > 1
    entries, _ = write_token_shards(docs, tmp_path, TokenizeConfig(shard_tokens=10**9, val_fraction=0.2))
    assert sorted(p.name for p in (tmp_path / "tokens").glob("*.parquet")) == [
        "train-00000.parquet",
        "val-00000.parquet",
    ]
    assert len(entries) == 2


def test_tokens_are_uint_arrays_with_trailing_eot():
    config = TokenizeConfig(batch_size=3, threads=1)
    docs = make_documents(7)
    with beam.Pipeline(runner=FnApiRunner()) as pipeline:
        out = (
            pipeline
            | beam.Create(docs)
            | TokenizeDocuments(config)
            | beam.Map(
                lambda d: (
                    d.id,
                    d.metadata["tokens"].dtype.name,
                    int(d.metadata["tokens"][-1]),
                    len(d.metadata["tokens"]) - 1 == d.metadata["token_count"],
                )
            )
        )
        assert_that(out, equal_to([(d.id, "uint32", 100257, True) for d in docs if d.text]))


@pytest.mark.parametrize("key, value", [("val_fraction", 1.5), ("shard_tokens", 0), ("threads", 0)])
def test_bad_settings_are_refused_before_the_job_starts(key, value):
    config = TokenizeConfig(**{key: value})
    with pytest.raises(ValueError, match=f"tokenize.{key}"):
        TokenizeDocuments(config) if key != "shard_tokens" else WriteTokenShards("/tmp/unused", config)
