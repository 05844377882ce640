"""`ccforge export RUN --format llmc|nanogpt`: token shards as flat binary files for other trainers.

llm.c / modded-nanogpt `.bin`: a header of 256 int32 (magic, version, token count, zeros)
then the tokens: magic 20240520 version 1 with uint16 tokens (GPT-2 sized vocabularies),
magic 20240801 version 7 with uint32 tokens (larger ones). One `.bin` per Parquet shard,
named like llm.c's FineWeb files so its `*_train_*.bin` globs find them.

nanoGPT: `train.bin` / `val.bin`, the raw tokens of each split, and `meta.json` naming the
dtype (nanoGPT's own loader assumes uint16), plus `meta.pkl` with `vocab_size` for its train.py.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ccforge.tokenize.manifest import read_manifest
from ccforge.tokenize.shards import SPLITS, all_tokens

FORMATS = ("llmc", "nanogpt")
LLMC_HEADER_INTS = 256
LLMC_HEADERS = {"uint16": (20240520, 1), "uint32": (20240801, 7)}  # dtype -> (magic, version)


class ExportError(ValueError):
    """A run that cannot be exported as asked; the message is one line."""


def export_run(run_dir: str | Path, fmt: str, out_dir: str | Path) -> list[Path]:
    """Write the run's shards to `out_dir` in format `fmt`; return the files written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format '{fmt}': use one of {', '.join(FORMATS)}")
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    manifest = read_manifest(run_dir)
    dtype = manifest["tokenizer"]["dtype"]
    if dtype not in LLMC_HEADERS:
        raise ExportError(f"manifest names dtype '{dtype}'; ccforge exports uint16 or uint32 tokens")
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "llmc":
        return _export_llmc(run_dir, manifest, dtype, out_dir)
    return _export_nanogpt(run_dir, manifest, dtype, out_dir)


def write_llmc_bin(path: Path, tokens: np.ndarray, dtype: str) -> None:
    if len(tokens) >= 2**31:
        raise ExportError(f"{path.name} would hold {len(tokens):,} tokens; llm.c's header counts below 2**31")
    magic, version = LLMC_HEADERS[dtype]
    header = np.zeros(LLMC_HEADER_INTS, dtype=np.int32)
    header[:3] = (magic, version, len(tokens))
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(np.ascontiguousarray(tokens, dtype=dtype).tobytes())


def _export_llmc(run_dir: Path, manifest: dict, dtype: str, out_dir: Path) -> list[Path]:
    written = []
    for split in SPLITS:
        shards = [s for s in manifest["shards"] if s["split"] == split]
        for index, shard in enumerate(shards):
            path = out_dir / f"ccforge_{split}_{index:06d}.bin"
            write_llmc_bin(path, _verified_tokens(run_dir, shard, dtype), dtype)
            written.append(path)
    return written


def _export_nanogpt(run_dir: Path, manifest: dict, dtype: str, out_dir: Path) -> list[Path]:
    written, counts = [], {}
    for split in SPLITS:
        path = out_dir / f"{split}.bin"
        counts[split] = 0
        with open(path, "wb") as f:
            for shard in (s for s in manifest["shards"] if s["split"] == split):
                tokens = _verified_tokens(run_dir, shard, dtype)
                f.write(tokens.tobytes())
                counts[split] += len(tokens)
        written.append(path)
    tokenizer = manifest["tokenizer"]
    meta = {
        "dtype": dtype,
        "vocab_size": tokenizer["vocab_size"],
        "eot": tokenizer["eot"],
        "tokenizer": tokenizer["name"],
        "tokens": counts,
        "source": str(run_dir.resolve()),
    }
    meta_json = out_dir / "meta.json"
    meta_json.write_text(json.dumps(meta, indent=2) + "\n")
    meta_pkl = out_dir / "meta.pkl"
    with open(meta_pkl, "wb") as f:
        pickle.dump({"vocab_size": tokenizer["vocab_size"], "dtype": dtype}, f)
    return written + [meta_json, meta_pkl]


def _verified_tokens(run_dir: Path, shard: dict, dtype: str) -> np.ndarray:
    """A shard's tokens, after checking its file against the manifest's checksum."""
    path = run_dir / shard["path"]
    if not path.is_file():
        raise ExportError(f"{shard['path']} is listed in the manifest but missing; rerun the job")
    data = path.read_bytes()
    if "sha256" in shard and hashlib.sha256(data).hexdigest() != shard["sha256"]:
        raise ExportError(f"{shard['path']} does not match its manifest checksum; run `ccforge inspect --validate`")
    tokens = all_tokens(pq.read_table(pa.BufferReader(data), columns=["tokens"]))
    if len(tokens) != shard["tokens"]:
        raise ExportError(f"{shard['path']} holds {len(tokens):,} tokens, the manifest says {shard['tokens']:,}")
    return tokens.astype(dtype, copy=False)
