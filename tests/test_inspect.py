"""`ccforge inspect`: summary, --show, --json and --validate catching damaged runs."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ccforge.tokenize.config import TokenizeConfig
from ccforge.tokenize.encoding import load_encoding
from ccforge.tokenize.inspect import inspect_path
from ccforge.tokenize.local import write_token_shards
from ccforge.tokenize.manifest import read_manifest, tokenizer_info, write_manifest
from ccforge.tokenize.shards import encode_shard

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def build_run(run_dir: Path) -> Path:
    """A finished run: documents Parquet, stats.json, three+ shards and a manifest."""
    docs = [
        (f"<urn:uuid:{i:03d}>", f"Document {i}: " + " ".join(WORDS[(i + j) % 12] for j in range(5 + 7 * i)))
        for i in range(30)
    ]
    config = TokenizeConfig(shard_tokens=300, val_fraction=0.2, threads=1)
    entries, counts = write_token_shards(docs, run_dir, config)
    (run_dir / "documents").mkdir()
    pq.write_table(
        pa.table(
            {
                "text": [t for _, t in docs],
                "id": [i for i, _ in docs],
                "url": [f"http://example.com/{n}" for n in range(len(docs))],
                "language": ["en"] * 25 + ["de"] * 5,
                "language_score": [0.9] * len(docs),
                "token_count": pa.array([counts[i] for i, _ in docs], pa.int64()),
                "minhash_cluster_size": pa.array([1] * 27 + [2, 3, 5], pa.int64()),
            }
        ),
        run_dir / "documents" / "part-00000.parquet",
    )
    stats = {
        "stages": [
            {"name": "minhash_dedup", "in": 40, "kept": 30, "dropped": {"near_duplicate": 10}},
            {"name": "pii", "in": 30, "kept": 30, "dropped": {}, "counts": {"found:email": 4, "found:phone": 1}},
            {"name": "tokenize", "in": 30, "kept": 30, "dropped": {}},
        ]
    }
    (run_dir / "stats.json").write_text(json.dumps(stats))
    write_manifest(run_dir, entries, tokenizer_info(config), {"tokenize": {"shard_tokens": 300}}, stats)
    return run_dir


@pytest.fixture(scope="module")
def pristine_run(tmp_path_factory) -> Path:
    return build_run(tmp_path_factory.mktemp("inspect") / "run")


@pytest.fixture
def run(pristine_run, tmp_path) -> Path:
    """A copy each test may damage."""
    return Path(shutil.copytree(pristine_run, tmp_path / "run"))


def inspect(path, **kwargs) -> tuple[int, str]:
    out = io.StringIO()
    code = inspect_path(path, out=out, **kwargs)
    return code, out.getvalue()


def train_shard(run: Path, index: int = 1) -> Path:
    return run / [s for s in read_manifest(run)["shards"] if s["split"] == "train"][index]["path"]


def test_summary_json_counts_documents_tokens_languages_dedup_pii(run):
    code, text = inspect(run, as_json=True)
    assert code == 0
    report = json.loads(text)
    summary = report["summary"]
    manifest = read_manifest(run)
    assert report["kind"] == "run"
    assert summary["documents"] == 30
    assert summary["tokens"] == sum(s["tokens"] for s in manifest["shards"])
    assert summary["languages"] == {"en": 25, "de": 5}
    assert summary["dedup"] == {"minhash_dedup_dropped": 10, "documents_from_clusters": 3, "largest_cluster": 5}
    assert summary["pii"] == {"email": 4, "phone": 1}
    assert summary["tokens_per_document"]["p50"] > 0


def test_table_output_and_show_decode_documents(run):
    code, text = inspect(run, show=2)
    assert code == 0
    assert "cl100k_base" in text and "documents" in text and "splits" in text
    first = pq.read_table(run / read_manifest(run)["shards"][0]["path"]).column("id").to_pylist()[:2]
    texts = dict(zip(*pq.read_table(run / "documents", columns=["id", "text"]).to_pydict().values()))
    for doc_id in first:
        assert doc_id in text
        assert texts[doc_id][:60] in text


def test_show_json_carries_metadata(run):
    code, text = inspect(run, show=3, as_json=True)
    shown = json.loads(text)["documents"]
    assert code == 0 and len(shown) == 3
    assert all(d["metadata"]["url"].startswith("http://example.com/") for d in shown)
    assert all(d["tokens"] == d["metadata"]["token_count"] for d in shown)


def test_validate_passes_on_a_good_run_and_a_single_shard(run):
    assert inspect(run, validate=True)[0] == 0
    code, text = inspect(train_shard(run), validate=True)
    assert code == 0 and "valid" in text
    assert inspect(run / "tokens", validate=True)[0] == 0


def test_validate_catches_truncated_shard(run):
    shard = train_shard(run)
    shard.write_bytes(shard.read_bytes()[:-100])
    code, text = inspect(run, validate=True)
    assert code == 1
    assert f"invalid: tokens/{shard.name}" in text and "truncated" in text


def test_validate_catches_flipped_byte(run):
    shard = train_shard(run)
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    code, text = inspect(run, validate=True, as_json=True)
    validation = json.loads(text)["validation"]
    assert code == 1 and not validation["ok"]
    assert validation["problem"].startswith(f"tokens/{shard.name}: sha256 differs")


def test_validate_catches_missing_shard(run):
    shard = train_shard(run, index=0)
    shard.unlink()
    code, text = inspect(run, validate=True)
    assert code == 1
    assert f"tokens/{shard.name}: listed in the manifest but missing" in text


def rewrite_shard(run: Path, shard_path: str, rows: list[tuple[int, str, bytes]]) -> None:
    """Replace a shard with other rows and fix its manifest entry, so only deeper checks can fail."""
    info = tokenizer_info(TokenizeConfig())
    entry_index = next(i for i, s in enumerate(read_manifest(run)["shards"]) if s["path"] == shard_path)
    split, index = Path(shard_path).stem.split("-")
    data, entry = encode_shard(split, int(index), rows, info, "zstd", 8192)
    (run / shard_path).write_bytes(data)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["shards"][entry_index] = entry
    shards = manifest["shards"]
    manifest["totals"][split] = {
        "shards": sum(s["split"] == split for s in shards),
        "rows": sum(s["rows"] for s in shards if s["split"] == split),
        "tokens": sum(s["tokens"] for s in shards if s["split"] == split),
    }
    (run / "manifest.json").write_text(json.dumps(manifest))


def test_validate_catches_token_ids_beyond_the_vocabulary(run):
    shard = read_manifest(run)["shards"][0]
    tokens = pa.array([5, 200_000, 100257], pa.uint32()).to_numpy().tobytes()
    rewrite_shard(run, shard["path"], [(1, "<urn:uuid:bad>", tokens)])
    code, text = inspect(run, validate=True)
    assert code == 1 and "200000 is not below the vocab size 100277" in text


def test_validate_catches_documents_that_disagree_with_shards(run):
    shard = read_manifest(run)["shards"][0]
    encoding = load_encoding("cl100k_base")
    body = encoding.encode_ordinary("a different text") + [encoding.eot_token]
    rows = [
        (1, doc_id, pa.array(body, pa.uint32()).to_numpy().tobytes())
        for doc_id in pq.read_table(run / shard["path"]).column("id").to_pylist()
    ]
    rewrite_shard(run, shard["path"], rows)
    code, text = inspect(run, validate=True)
    assert code == 1 and ("token_count column sums to" in text or "decode to a different text" in text)


def test_missing_path_exits_2_with_one_line(tmp_path):
    code, text = inspect(tmp_path / "nope")
    assert code == 2 and text.count("\n") == 1 and "does not exist" in text
