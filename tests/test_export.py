"""`ccforge export`: llm.c .bin shards and nanoGPT train/val.bin, read back from the format alone."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from ccforge.tokenize.config import TokenizeConfig
from ccforge.tokenize.export import ExportError, export_run
from ccforge.tokenize.local import write_token_shards
from ccforge.tokenize.manifest import ManifestError, read_manifest, tokenizer_info, write_manifest
from ccforge.tokenize.shards import all_tokens, read_shard


def read_llmc(path: Path) -> tuple[int, int, np.ndarray]:
    """llm.c's rules: 256 little-endian int32 header (magic, version, count), then the tokens.

    Version 1 (magic 20240520) stores uint16 tokens, version 7 (magic 20240801) uint32.
    """
    raw = path.read_bytes()
    header = np.frombuffer(raw[: 256 * 4], dtype="<i4")
    magic, version, count = int(header[0]), int(header[1]), int(header[2])
    dtype = {(20240520, 1): "<u2", (20240801, 7): "<u4"}[(magic, version)]
    assert not header[3:].any()
    tokens = np.frombuffer(raw[256 * 4 :], dtype=dtype)
    assert len(tokens) == count, "header count must equal the tokens that follow"
    return magic, version, tokens


def build_run(run_dir: Path, encoding: str = "cl100k_base") -> Path:
    docs = [(f"<urn:uuid:{i}>", f"Page {i} says hello to the world. " * (1 + i % 5)) for i in range(40)]
    config = TokenizeConfig(encoding=encoding, shard_tokens=250, val_fraction=0.25, threads=1)
    entries, _ = write_token_shards(docs, run_dir, config)
    write_manifest(run_dir, entries, tokenizer_info(config), {}, [])
    return run_dir


def split_tokens(run_dir: Path, split: str) -> list[np.ndarray]:
    return [
        all_tokens(read_shard(run_dir / s["path"])) for s in read_manifest(run_dir)["shards"] if s["split"] == split
    ]


def test_llmc_uint32_bins_read_back(tmp_path):
    run = build_run(tmp_path / "run")
    written = export_run(run, "llmc", tmp_path / "out")
    for split in ("train", "val"):
        files = sorted(p for p in written if f"_{split}_" in p.name)
        expected = split_tokens(run, split)
        assert len(files) == len(expected) > 0
        for path, tokens in zip(files, expected):
            magic, version, got = read_llmc(path)
            assert (magic, version) == (20240801, 7)
            assert np.array_equal(got, tokens)
            assert got[-1] == 100257
    assert [p.name for p in written][0] == "ccforge_train_000000.bin"


def test_llmc_uint16_bins_for_small_vocabularies(tmp_path):
    bpe = tmp_path / "tiny.tiktoken"
    tokens = [bytes([b]) for b in range(256)] + [b"he", b"ll", b"hell", b"hello"]
    bpe.write_text("".join(f"{base64.b64encode(t).decode()} {rank}\n" for rank, t in enumerate(tokens)))
    run = build_run(tmp_path / "run", encoding=str(bpe))
    written = export_run(run, "llmc", tmp_path / "out")
    magic, version, got = read_llmc(written[0])
    assert (magic, version) == (20240520, 1)
    assert np.array_equal(got, split_tokens(run, "train")[0])
    assert got[-1] == 260  # the end-of-text id follows the 260 ranks


def test_nanogpt_bins_and_meta(tmp_path):
    run = build_run(tmp_path / "run")
    written = export_run(run, "nanogpt", tmp_path / "out")
    assert {p.name for p in written} == {"train.bin", "val.bin", "meta.json", "meta.pkl"}
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert meta["dtype"] == "uint32" and meta["vocab_size"] == 100277 and meta["eot"] == 100257
    for split in ("train", "val"):
        got = np.fromfile(tmp_path / "out" / f"{split}.bin", dtype=meta["dtype"])
        assert np.array_equal(got, np.concatenate(split_tokens(run, split)))
        assert meta["tokens"][split] == len(got)


def test_export_refuses_a_corrupt_shard_and_unknown_format(tmp_path):
    run = build_run(tmp_path / "run")
    with pytest.raises(ExportError, match="unknown export format 'hf'"):
        export_run(run, "hf", tmp_path / "out")
    shard = run / read_manifest(run)["shards"][0]["path"]
    data = bytearray(shard.read_bytes())
    data[40] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(ExportError, match="does not match its manifest checksum"):
        export_run(run, "llmc", tmp_path / "out")
    with pytest.raises(ManifestError, match="no manifest"):
        export_run(tmp_path / "nothing", "llmc", tmp_path / "out")


def test_export_command_prints_what_it_wrote(tmp_path, capsys):
    from ccforge.cli import main

    run = build_run(tmp_path / "run")
    assert main(["export", str(run), "--format", "nanogpt", "--output", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in printed) == ["meta.json", "meta.pkl", "train.bin", "val.bin"]
    got = np.fromfile(tmp_path / "out" / "train.bin", dtype="uint32")
    assert np.array_equal(got, np.concatenate(split_tokens(run, "train")))
    assert main(["export", str(tmp_path / "nothing"), "--format", "llmc", "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ccforge export: error: no manifest") and len(err.splitlines()) == 1
