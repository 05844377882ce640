"""`ccforge inspect`: summary, --show, --json and --validate catching damaged runs."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ccforge.tokenize.config import TokenizeConfig
from ccforge.tokenize.encoding import load_encoding
from ccforge.tokenize.inspect import inspect_path
from ccforge.tokenize.local import write_token_shards
from ccforge.tokenize.manifest import read_manifest, tokenizer_info, totals_of, write_manifest
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


# --- one damaged run per --validate check ------------------------------------------------

ENCODING = load_encoding("cl100k_base")
EOT = ENCODING.eot_token


def edit_manifest(run: Path, change, retotal: bool = True) -> None:
    """Apply `change` to manifest.json; with `retotal`, its totals follow the shard entries."""
    manifest = json.loads((run / "manifest.json").read_text())
    change(manifest)
    if retotal:
        manifest["totals"] = totals_of(manifest["shards"])
    (run / "manifest.json").write_text(json.dumps(manifest))


def edit_entry(run: Path, shard_path: str, **changes) -> None:
    edit_manifest(run, lambda m: next(s for s in m["shards"] if s["path"] == shard_path).update(changes))


def replace_shard_file(run: Path, shard_path: str, data: bytes, **changes) -> None:
    """New bytes for a shard, with a manifest entry that matches them: only deeper checks can fail."""
    (run / shard_path).write_bytes(data)
    edit_entry(run, shard_path, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), **changes)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def rows_of(*documents: tuple[str, list[int]]) -> list[tuple[int, str, bytes]]:
    return [(n, doc_id, np.array(tokens, np.uint32).tobytes()) for n, (doc_id, tokens) in enumerate(documents)]


def shard_paths(run: Path) -> list[str]:
    return [s["path"] for s in read_manifest(run)["shards"]]


def rewrite_documents(run: Path, change) -> None:
    path = run / "documents" / "part-00000.parquet"
    pq.write_table(change(pq.read_table(path)), path)


def first_shard_as_val(run: Path) -> None:
    train = shard_paths(run)[0]
    rows = [(n, i, t) for n, (i, t) in enumerate(zip(*pq.read_table(run / train).to_pydict().values()))]
    rows = [(n, doc_id, np.array(tokens, np.uint32).tobytes()) for n, doc_id, tokens in rows]
    data, _ = encode_shard("val", 0, rows, tokenizer_info(TokenizeConfig()), "zstd", 8192)
    replace_shard_file(run, train, data)  # listed as train, its own metadata says val


def garble_pages(run: Path) -> None:
    """Every byte between the magic and the footer inverted: the footer reads, the pages do not."""
    shard = shard_paths(run)[0]
    data = bytearray((run / shard).read_bytes())
    footer_start = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    data[4:footer_start] = bytes(b ^ 0xFF for b in data[4:footer_start])
    replace_shard_file(run, shard, bytes(data))


def tokenizer_file_changed(run: Path) -> None:
    bpe = run / "tiny.tiktoken"
    bpe.write_text("".join(f"{base64.b64encode(bytes([b])).decode()} {b}\n" for b in range(256)))
    edit_manifest(run, lambda m: m["tokenizer"].update(name=str(bpe), sha256="0" * 64))


def damage_token_counts(run: Path) -> None:
    rewrite_documents(run, lambda t: t.set_column(
        t.schema.get_field_index("token_count"), "token_count", pc.add(t.column("token_count"), 1)))


def damage_texts(run: Path) -> None:  # token counts still agree: only the decoded texts differ
    rewrite_documents(run, lambda t: t.set_column(0, "text", pc.binary_join_element_wise(t.column("text"), "!", "")))


THE = ENCODING.encode_ordinary("the")
T_HE = ENCODING.encode_ordinary("t") + ENCODING.encode_ordinary("he")  # the same text, tokenized otherwise

DAMAGES = {
    "manifest is not JSON": (lambda run: (run / "manifest.json").write_text('{"format": "ccfo'), "is not valid JSON"),
    "manifest lacks shards": (lambda run: edit_manifest(run, lambda m: m.pop("shards"), retotal=False),
                              "lacks shards; it was not written by ccforge"),
    "manifest of another format": (lambda run: edit_manifest(run, lambda m: m.update(format="other/9")),
                                   "has format 'other/9'"),
    "no manifest": (lambda run: (run / "manifest.json").unlink(), "the run did not finish tokenizing"),
    "unknown tokenizer": (lambda run: edit_manifest(run, lambda m: m["tokenizer"].update(name="no_such_bpe")),
                          "unknown encoding 'no_such_bpe'"),
    "tokenizer file changed": (tokenizer_file_changed, "tiny.tiktoken changed since the run (sha256 differs)"),
    "vocab size": (lambda run: edit_manifest(run, lambda m: m["tokenizer"].update(vocab_size=50257)),
                   "has vocab 100277 / eot 100257, the manifest says 50257 / 100257"),
    "end-of-text id": (lambda run: edit_manifest(run, lambda m: m["tokenizer"].update(eot=100256)),
                       "the manifest says 100277 / 100256"),
    "dtype": (lambda run: edit_manifest(run, lambda m: m["tokenizer"].update(dtype="uint16")),
              "dtype uint16 does not suit vocab size 100277 (expected uint32)"),
    "totals": (lambda run: edit_manifest(run, lambda m: m["totals"]["train"].update(rows=99), retotal=False),
               "manifest totals say 99 train rows"),
    "unreadable shard": (lambda run: replace_shard_file(run, shard_paths(run)[0], b"PAR1" + bytes(200) + b"PAR1"),
                         "not a readable Parquet file"),
    "garbled pages": (garble_pages, "train-00000.parquet: not a readable Parquet file"),
    "wrong schema": (lambda run: replace_shard_file(run, shard_paths(run)[0], parquet_bytes(pa.table(
        {"id": ["a"], "tokens": pa.array([[5, EOT]], pa.list_(pa.int64()))}))), "expected id: string, tokens: list"),
    "split": (first_shard_as_val, "holds split 'val', listed as 'train'"),
    "rows": (lambda run: edit_entry(run, shard_paths(run)[0], rows=1000), "rows, the manifest says 1000"),
    "tokens": (lambda run: edit_entry(run, shard_paths(run)[0], tokens=10**6), "tokens, the manifest says 1000000"),
    "duplicate id": (lambda run: rewrite_shard(run, shard_paths(run)[-1], rows_of(
        (pq.read_table(run / shard_paths(run)[0]).column("id")[0].as_py(), [5, EOT]))), "appears twice"),
    "empty document": (lambda run: rewrite_shard(run, shard_paths(run)[0], rows_of(("<urn:uuid:e>", [EOT]))),
                       "has no tokens before its end-of-text"),
    "no end-of-text": (lambda run: rewrite_shard(run, shard_paths(run)[0], rows_of(("<urn:uuid:e>", [5, 6]))),
                       "does not end with the end-of-text id 100257"),
    "end-of-text inside": (lambda run: rewrite_shard(run, shard_paths(run)[0], rows_of(
        ("<urn:uuid:e>", [5, EOT, 6, EOT]))), "an end-of-text id appears inside a document"),
    "tokens that do not round trip": (lambda run: rewrite_shard(run, shard_paths(run)[0], rows_of(
        ("<urn:uuid:e>", T_HE + [EOT]))), "does not survive a decode/encode round trip"),
    "documents missing": (lambda run: rewrite_documents(run, lambda t: t.slice(1)),
                          "documents Parquet holds 29 documents, the shards 30"),
    "token counts": (damage_token_counts, "token_count column sums to"),
    "texts": (damage_texts, "its tokens decode to a different text than the documents Parquet holds"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_validate_names_each_kind_of_damage(run, damage):
    assert inspect(run, validate=True)[0] == 0
    breaks, expected = DAMAGES[damage]
    breaks(run)
    code, text = inspect(run, validate=True, as_json=True)
    validation = json.loads(text)["validation"]
    assert code == 1 and not validation["ok"]
    assert expected in validation["problem"]


def test_round_trip_damage_is_the_same_text(run):
    assert ENCODING.decode(T_HE) == ENCODING.decode(THE) and T_HE != THE


def test_validate_a_documents_file_without_ids(tmp_path):
    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"text": ["some text"]}), path)
    code, text = inspect(path, validate=True)
    assert code == 1 and "documents file lacks columns ['id']" in text


def test_validate_shards_that_name_no_tokenizer(tmp_path):
    pq.write_table(pa.table({"id": ["a"], "tokens": pa.array([[5, EOT]], pa.list_(pa.uint32()))}),
                   tmp_path / "train-00000.parquet")
    code, text = inspect(tmp_path, validate=True)
    assert code == 1 and "the shards name no tokenizer" in text
    assert inspect(tmp_path, validate=True, encoding="cl100k_base")[0] == 0  # named, they pass


def test_inspect_command_exit_codes(run, tmp_path, capsys):
    from ccforge.cli import main

    assert main(["inspect", str(run), "--validate", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["validation"]["ok"] and report["summary"]["documents"] == 30
    assert main(["inspect", str(run), "--show", "1"]) == 0
    assert "cl100k_base" in capsys.readouterr().out
    train_shard(run).write_bytes(b"damaged")
    assert main(["inspect", str(run), "--validate"]) == 1
    assert "invalid: tokens/" in capsys.readouterr().out
    assert main(["inspect", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().out
