"""OUT/manifest.json: the tokenizer, every shard with its counts and checksum, the config and the funnel.

The driver writes it after the Beam job, from the shard entries WriteTokenShards emitted
and the funnel read from the job's metrics.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ccforge.tokenize.config import TokenizeConfig
from ccforge.tokenize.encoding import TokenizerInfo, describe_encoding, load_encoding
from ccforge.tokenize.shards import FORMAT, SPLITS

MANIFEST_FILE = "manifest.json"


class ManifestError(ValueError):
    """A missing or malformed manifest; the message is one line."""


def manifest_dict(
    shard_infos: list[dict],
    tokenizer_info: TokenizerInfo | dict,
    config_dict: dict | None,
    funnel: list[dict] | dict | None,
) -> dict:
    """The manifest's content: shards sorted by split and path, totals summed from them.

    Nothing in it depends on when or how fast the job ran, so reruns give the same bytes.
    """
    if isinstance(tokenizer_info, TokenizerInfo):
        tokenizer_info = tokenizer_info.to_dict()
    if isinstance(funnel, dict):
        funnel = funnel.get("stages", [])
    shards = sort_shards(shard_infos)
    return {
        "format": FORMAT,
        "tokenizer": tokenizer_info,
        "shards": shards,
        "totals": totals_of(shards),
        "config": config_dict or {},
        "funnel": funnel or [],
    }


def write_manifest(
    run_dir: str | Path,
    shard_infos: list[dict],
    tokenizer_info: TokenizerInfo | dict,
    config_dict: dict | None,
    funnel: list[dict] | dict | None,
) -> Path:
    """Write OUT/manifest.json on a local path (the job writes it through Beam's FileSystems)."""
    path = Path(run_dir) / MANIFEST_FILE
    write_json_atomically(path, manifest_dict(shard_infos, tokenizer_info, config_dict, funnel))
    return path


def tokenizer_info(config: TokenizeConfig) -> TokenizerInfo:
    """The manifest's tokenizer entry for the encoding a config names."""
    return describe_encoding(config.encoding, load_encoding(config.encoding))


def read_manifest(run_dir: str | Path) -> dict:
    path = Path(run_dir)
    if path.is_dir():
        path = path / MANIFEST_FILE
    if not path.is_file():
        raise ManifestError(f"no manifest at {path}: point at a run directory that has finished tokenizing")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path} is not valid JSON ({exc}); rerun the job to rewrite it") from None
    missing = [key for key in ("format", "tokenizer", "shards", "totals") if key not in manifest]
    if missing:
        raise ManifestError(f"{path} lacks {', '.join(missing)}; it was not written by ccforge")
    if manifest["format"] != FORMAT:
        raise ManifestError(f"{path} has format '{manifest['format']}', this ccforge reads '{FORMAT}'")
    return manifest


def sort_shards(shard_infos: list[dict]) -> list[dict]:
    return sorted((dict(info) for info in shard_infos), key=lambda s: (SPLITS.index(s["split"]), s["path"]))


def totals_of(shards: list[dict]) -> dict[str, dict[str, int]]:
    totals = {split: {"shards": 0, "rows": 0, "tokens": 0} for split in SPLITS}
    for shard in shards:
        entry = totals[shard["split"]]
        entry["shards"] += 1
        entry["rows"] += int(shard["rows"])
        entry["tokens"] += int(shard["tokens"])
    return totals


def write_json_atomically(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)
