"""`ccforge inspect PATH`: summarise, show and validate token shards (one, a folder or a run).

Exit codes: 0 fine, 1 `--validate` found a problem (the first one is named), 2 the path
cannot be inspected.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from ccforge.tokenize.encoding import EncodingError, TokenizerInfo, file_sha256, load_encoding, token_dtype
from ccforge.tokenize.manifest import MANIFEST_FILE, ManifestError, read_manifest, totals_of
from ccforge.tokenize.run_files import (
    STATS_FILE,
    DocumentColumns,
    document_files,
    dropped_total,
    funnel_rows,
    language_counts,
    load_stats,
    percentiles,
    pii_counts,
    read_document_columns,
    stage_row,
)
from ccforge.tokenize.shards import SHARD_FILE, SPLITS, shard_metadata

SHOW_MAX_CHARS = 1500  # per document in the terminal; --json prints whole texts


class InspectError(ValueError):
    """A path that cannot be inspected; the message is one line."""


@dataclass
class Target:
    """What a PATH turned out to be, and the files that belong to it."""

    path: Path
    kind: str  # run | shards | shard | documents
    run_dir: Path | None = None
    manifest: dict | None = None
    manifest_problem: str | None = None
    shard_paths: list[Path] = field(default_factory=list)
    document_paths: list[Path] = field(default_factory=list)
    stats: dict | None = None
    tokenizer: dict | None = None


def inspect_path(
    path: str | Path,
    show: int = 0,
    validate: bool = False,
    as_json: bool = False,
    out: TextIO | None = None,
    encoding: str | None = None,
    sample: int = 64,
) -> int:
    """Print a summary of PATH (and N documents, and a validation verdict); return the exit code.

    `encoding` names the tokenizer for shards that carry no manifest or metadata.
    """
    out = out or sys.stdout  # looked up per call: a default bound at import misses a redirected stdout
    console = Console(file=out, highlight=False, soft_wrap=True)
    try:
        target = locate(Path(path), encoding)
    except (InspectError, ManifestError, OSError, pa.ArrowInvalid) as exc:
        _say_error(console, out, as_json, str(exc).splitlines()[0])
        return 2
    report: dict = {"path": str(target.path), "kind": target.kind, "summary": summarize(target)}
    if show:
        try:
            report["documents"] = show_documents(target, show)
        except EncodingError as exc:
            _say_error(console, out, as_json, str(exc))
            return 2
    problem = None
    if validate:
        problem, warnings = first_problem(target, sample)
        report["validation"] = {"ok": problem is None, "problem": problem, "warnings": warnings}
    if as_json:
        out.write(json.dumps(report, indent=2, default=_json_default) + "\n")
    else:
        _print_report(console, report)
    return 1 if problem else 0


# --- locating ---------------------------------------------------------------------------


def locate(path: Path, encoding: str | None = None) -> Target:
    if not path.exists():
        raise InspectError(f"{path} does not exist: give a run directory, a tokens folder or a .parquet shard")
    if path.is_file() and path.name in (MANIFEST_FILE, STATS_FILE):
        path = path.parent
    if path.is_dir() and any((path / name).exists() for name in (MANIFEST_FILE, STATS_FILE, "tokens", "documents")):
        target = _run_target(path)
    elif path.is_dir():
        files = sorted(p for p in path.glob("*.parquet"))
        if not files:
            raise InspectError(f"{path} holds no .parquet files, manifest.json or stats.json: nothing to inspect")
        token_files = [p for p in files if "tokens" in _columns(p)]
        if token_files:
            target = Target(path=path, kind="shards", shard_paths=_shard_order(token_files))
        else:
            target = Target(path=path, kind="documents", document_paths=files)
        target.run_dir = _enclosing_run(path)
    elif path.suffix == ".parquet":
        columns = _columns(path)
        if "tokens" in columns:
            target = Target(path=path, kind="shard", shard_paths=[path])
        elif "text" in columns:
            target = Target(path=path, kind="documents", document_paths=[path])
        else:
            raise InspectError(f"{path} has neither a 'tokens' nor a 'text' column: not a ccforge shard")
        target.run_dir = _enclosing_run(path.parent)
    else:
        raise InspectError(f"{path} is not a .parquet file, a folder or a run directory")
    if target.kind != "run" and target.run_dir is not None:
        # A shard inside a run: borrow the run's manifest for the tokenizer and the documents for metadata.
        try:
            target.manifest = read_manifest(target.run_dir)
        except ManifestError:
            target.manifest = None
        target.document_paths = target.document_paths or document_files(target.run_dir)
    target.tokenizer = _tokenizer_of(target, encoding)
    return target


def _run_target(run_dir: Path) -> Target:
    target = Target(path=run_dir, kind="run", run_dir=run_dir, stats=load_stats(run_dir))
    target.document_paths = document_files(run_dir)
    if (run_dir / MANIFEST_FILE).exists():
        try:
            target.manifest = read_manifest(run_dir)
            target.shard_paths = [run_dir / s["path"] for s in target.manifest["shards"]]
        except ManifestError as exc:
            target.manifest_problem = str(exc)
    if target.manifest is None:
        found = [p for p in (run_dir / "tokens").glob("*.parquet") if SHARD_FILE.match(p.name)]
        target.shard_paths = _shard_order(found)
    return target


def _enclosing_run(folder: Path) -> Path | None:
    for candidate in (folder, folder.parent):
        if (candidate / MANIFEST_FILE).is_file() or (candidate / STATS_FILE).is_file():
            return candidate
    return None


def _shard_order(paths: list[Path]) -> list[Path]:
    def key(p: Path):
        match = SHARD_FILE.match(p.name)
        return (SPLITS.index(match.group(1)), int(match.group(2)), p.name) if match else (len(SPLITS), 0, p.name)

    return sorted(paths, key=key)


def _columns(path: Path) -> list[str]:
    return pq.read_schema(path).names


def _tokenizer_of(target: Target, encoding: str | None) -> dict | None:
    if encoding:
        enc = load_encoding(encoding)
        return {"name": encoding, "vocab_size": enc.n_vocab, "eot": enc.eot_token, "dtype": token_dtype(enc.n_vocab)}
    if target.manifest:
        return dict(target.manifest["tokenizer"])
    for path in target.shard_paths[:1]:
        meta = shard_metadata(pq.read_schema(path))
        if meta.get("tokenizer"):
            return dict(meta["tokenizer"])
    return None


# --- summary ----------------------------------------------------------------------------


def summarize(target: Target) -> dict:
    summary: dict = {"tokenizer": target.tokenizer}
    shard_totals, lengths = _shard_totals(target)
    summary["splits"] = shard_totals
    summary["documents"] = sum(s["rows"] for s in shard_totals.values())
    summary["tokens"] = sum(s["tokens"] for s in shard_totals.values())
    columns = read_document_columns(target.document_paths) if target.document_paths else DocumentColumns()
    if target.kind == "documents":
        summary["documents"] = columns.count
    per_doc_tokens = columns.token_count if columns.token_count is not None else lengths
    summary["tokens_per_document"] = percentiles(per_doc_tokens)
    summary["characters_per_document"] = percentiles(columns.characters)
    summary["languages"] = dict(list((columns.languages or language_counts(target.stats)).items())[:12])
    summary["dedup"] = _dedup_summary(target.stats, columns)
    summary["pii"] = pii_counts(target.stats)
    summary["funnel"] = [
        {"name": r["name"], "in": r.get("in", 0), "kept": r.get("kept", 0), "dropped": dropped_total(r)}
        for r in funnel_rows(target.stats)
    ]
    if target.manifest_problem:
        summary["manifest_problem"] = target.manifest_problem
    return summary


def _shard_totals(target: Target) -> tuple[dict, np.ndarray | None]:
    """Rows and tokens per split (the manifest's, or counted from the files) and per-row lengths."""
    if target.kind == "run" and target.manifest:
        totals = {k: dict(v) for k, v in target.manifest["totals"].items()}
        return totals, None
    totals = {split: {"shards": 0, "rows": 0, "tokens": 0} for split in SPLITS}
    lengths = []
    for path in target.shard_paths:
        split = _split_of_file(path)
        table = pq.read_table(path, columns=["tokens"])
        row_lengths = pc.list_value_length(table.column("tokens")).to_numpy(zero_copy_only=False)
        totals.setdefault(split, {"shards": 0, "rows": 0, "tokens": 0})
        totals[split]["shards"] += 1
        totals[split]["rows"] += len(row_lengths)
        totals[split]["tokens"] += int(row_lengths.sum())
        lengths.append(row_lengths - 1)  # the EOT is not part of the document
    return totals, (np.concatenate(lengths) if lengths else None)


def _split_of_file(path: Path) -> str:
    match = SHARD_FILE.match(path.name)
    if match:
        return match.group(1)
    return shard_metadata(pq.read_schema(path)).get("split", "other")


def _dedup_summary(stats: dict | None, columns: DocumentColumns) -> dict:
    dedup = {}
    for stage in ("exact_dedup", "minhash_dedup"):
        row = stage_row(stats, stage)
        if row:
            dedup[f"{stage}_dropped"] = dropped_total(row)
    if columns.cluster_size is not None and len(columns.cluster_size):
        dedup["documents_from_clusters"] = int((columns.cluster_size > 1).sum())
        dedup["largest_cluster"] = int(columns.cluster_size.max())
    return dedup


# --- show -------------------------------------------------------------------------------


def show_documents(target: Target, count: int) -> list[dict]:
    """The first `count` documents, decoded from their tokens, with their documents-Parquet metadata."""
    if target.kind == "documents":
        return _documents_from_text(target.document_paths, count)
    if not target.tokenizer:
        raise EncodingError("the shards name no tokenizer (no manifest): pass the encoding name to decode them")
    encoding = load_encoding(target.tokenizer["name"])
    eot = target.tokenizer["eot"]
    shown = []
    for path in target.shard_paths:
        if len(shown) >= count:
            break
        if not path.exists():
            continue
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=max(1, count)):
            for doc_id, tokens in zip(batch.column("id").to_pylist(), batch.column("tokens").to_pylist()):
                body = tokens[:-1] if tokens and tokens[-1] == eot else tokens
                shown.append({"id": doc_id, "shard": path.name, "tokens": len(body), "text": encoding.decode(body)})
                if len(shown) >= count:
                    break
            if len(shown) >= count:
                break
    _attach_metadata(shown, target.document_paths)
    return shown


def _documents_from_text(paths: list[Path], count: int) -> list[dict]:
    shown = []
    for path in paths:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=max(1, count)):
            for row in batch.to_pylist():
                shown.append({"file": path.name, **row})
                if len(shown) >= count:
                    return shown
    return shown


def _attach_metadata(shown: list[dict], document_paths: list[Path]) -> None:
    wanted = {d["id"] for d in shown}
    if not wanted or not document_paths:
        return
    found: dict[str, dict] = {}
    for path in document_paths:
        names = [n for n in pq.read_schema(path).names if n != "text"]
        if "id" not in names:
            continue
        table = pq.read_table(path, columns=names)
        table = table.filter(pc.is_in(table.column("id"), value_set=pa.array(sorted(wanted))))
        for row in table.to_pylist():
            found[row["id"]] = row
        if len(found) == len(wanted):
            break
    for doc in shown:
        meta = found.get(doc["id"])
        if meta:
            doc["metadata"] = {k: v for k, v in meta.items() if k != "id"}


# --- validate ---------------------------------------------------------------------------


def first_problem(target: Target, sample: int = 64) -> tuple[str | None, list[str]]:
    """The first thing wrong with the shards (None if none), and warnings that are not failures."""
    warnings: list[str] = []
    try:
        problem = _validate(target, sample, warnings)
    except (OSError, pa.ArrowException, EncodingError, ValueError) as exc:
        problem = str(exc).splitlines()[0]
    return problem, warnings


def _validate(target: Target, sample: int, warnings: list[str]) -> str | None:
    if target.kind == "documents":
        missing = {"text", "id"} - set(_columns(target.document_paths[0]))
        return f"documents file lacks columns {sorted(missing)}" if missing else None
    if target.manifest_problem:
        return target.manifest_problem
    if target.kind == "run" and target.manifest is None:
        return f"no {MANIFEST_FILE} in {target.path}: the run did not finish tokenizing (rerun it)"
    if not target.tokenizer:
        return "the shards name no tokenizer (no manifest, no shard metadata): pass the encoding to check them"
    info = TokenizerInfo.from_dict(target.tokenizer)
    encoding = load_encoding(info.name)
    if info.sha256 and Path(info.name).is_file() and file_sha256(Path(info.name)) != info.sha256:
        return f"tokenizer file {info.name} changed since the run (sha256 differs)"
    if encoding.n_vocab != info.vocab_size or encoding.eot_token != info.eot:
        return (
            f"tokenizer {info.name} has vocab {encoding.n_vocab} / eot {encoding.eot_token}, "
            f"the manifest says {info.vocab_size} / {info.eot}"
        )
    if info.dtype != token_dtype(info.vocab_size):
        return (
            f"dtype {info.dtype} does not suit vocab size {info.vocab_size} (expected {token_dtype(info.vocab_size)})"
        )

    entries = _shard_entries(target, warnings)
    if target.manifest:
        sums = totals_of(target.manifest["shards"])
        for split, listed in target.manifest["totals"].items():
            for key in ("rows", "tokens"):
                if split in sums and listed.get(key) != sums[split][key]:
                    summed = sums[split][key]
                    return f"manifest totals say {listed.get(key)} {split} {key}, its shard entries sum to {summed}"
    checker = _ShardChecker(info, encoding, sample_per_shard=max(1, math.ceil(sample / max(1, len(entries)))))
    for entry in entries:
        problem = checker.check(entry)
        if problem:
            return f"{entry['path']}: {problem}"
    return _check_documents(target, entries, checker, warnings)


def _shard_entries(target: Target, warnings: list[str]) -> list[dict]:
    if target.kind == "run" and target.manifest:
        listed = {target.path / s["path"] for s in target.manifest["shards"]}
        stray = [p.name for p in (target.path / "tokens").glob("*.parquet") if p not in listed]
        if stray:
            warnings.append(f"files in tokens/ the manifest does not list: {', '.join(sorted(stray)[:5])}")
        return [dict(s, file=target.path / s["path"]) for s in target.manifest["shards"]]
    listed = {}
    if target.manifest and target.run_dir:
        listed = {(target.run_dir / s["path"]).resolve(): s for s in target.manifest["shards"]}
    entries = []
    for path in target.shard_paths:
        entry = listed.get(path.resolve())
        if entry is None:
            entries.append({"path": path.name, "file": path, "split": _split_of_file(path)})
        else:
            entries.append(dict(entry, file=path))
    unlisted = [e["path"] for e in entries if "sha256" not in e]
    if unlisted:
        warnings.append(f"no manifest entry for {', '.join(unlisted[:5])}: checksums and counts are not checked")
    return entries


class _ShardChecker:
    """Checks one shard file at a time; remembers ids (for duplicates) and the sampled rows."""

    def __init__(self, info: TokenizerInfo, encoding, sample_per_shard: int):
        self.info = info
        self.encoding = encoding
        self.sample_per_shard = sample_per_shard
        self.ids: set[str] = set()
        self.sampled: dict[str, list[int]] = {}  # id -> tokens without EOT, for the documents check
        self.expected_type = pa.list_(pa.from_numpy_dtype(np.dtype(info.dtype)))

    def check(self, entry: dict) -> str | None:
        path: Path = entry["file"]
        if not path.is_file():
            return "listed in the manifest but missing"
        if "bytes" in entry and path.stat().st_size != entry["bytes"]:
            return f"{path.stat().st_size} bytes, the manifest says {entry['bytes']} (truncated or replaced)"
        if "sha256" in entry and file_sha256(path) != entry["sha256"]:
            return "sha256 differs from the manifest (the file is corrupt or was changed)"
        try:
            return self._check_contents(entry, path)
        except (pa.ArrowException, OSError) as exc:  # damaged footer (thrift) or pages (decompression)
            return f"not a readable Parquet file ({str(exc).splitlines()[0]})"

    def _check_contents(self, entry: dict, path: Path) -> str | None:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        tokens_type = schema.field("tokens").type if "tokens" in schema.names else None
        if schema.names[:2] != ["id", "tokens"] or not (
            pa.types.is_list(tokens_type) and tokens_type.value_type == self.expected_type.value_type
        ):
            return f"schema is {schema.names} {schema.types}, expected id: string, tokens: {self.expected_type}"
        meta_split = shard_metadata(schema).get("split")
        if entry.get("split") and meta_split and meta_split != entry["split"]:
            return f"holds split '{meta_split}', listed as '{entry['split']}'"
        rows = tokens = 0
        sample_rows = set(np.linspace(0, max(0, parquet.metadata.num_rows - 1), self.sample_per_shard).astype(int))
        for batch in parquet.iter_batches(batch_size=8192):
            problem = self._check_batch(batch, rows, sample_rows)
            if problem:
                return problem
            rows += batch.num_rows
            tokens += int(pc.sum(pc.list_value_length(batch.column("tokens"))).as_py() or 0)
        if "rows" in entry and rows != entry["rows"]:
            return f"{rows} rows, the manifest says {entry['rows']}"
        if "tokens" in entry and tokens != entry["tokens"]:
            return f"{tokens} tokens, the manifest says {entry['tokens']}"
        return None

    def _check_batch(self, batch: pa.RecordBatch, first_row: int, sample_rows: set[int]) -> str | None:
        ids = batch.column("id").to_pylist()
        for doc_id in ids:
            if doc_id in self.ids:
                return f"document id {doc_id} appears twice"
            self.ids.add(doc_id)
        column = batch.column("tokens")
        offsets = column.offsets.to_numpy()
        values = column.values.to_numpy(zero_copy_only=False)
        lengths = np.diff(offsets)
        if len(values) and int(values.max()) >= self.info.vocab_size:
            return f"token id {int(values.max())} is not below the vocab size {self.info.vocab_size}"
        if len(lengths) and lengths.min() < 2:
            row = int(np.argmin(lengths)) + first_row
            return f"row {row} ({ids[row - first_row]}) has no tokens before its end-of-text"
        ends = values[offsets[1:] - 1] if len(lengths) else values[:0]
        if np.any(ends != self.info.eot):
            row = int(np.argmax(ends != self.info.eot)) + first_row
            return f"row {row} ({ids[row - first_row]}) does not end with the end-of-text id {self.info.eot}"
        if int((values[offsets[0] : offsets[-1]] == self.info.eot).sum()) != len(lengths):
            return "an end-of-text id appears inside a document"
        for row in sorted(r for r in sample_rows if first_row <= r < first_row + len(lengths)):
            i = row - first_row
            body = values[offsets[i] : offsets[i + 1] - 1].tolist()
            if self.encoding.encode_ordinary(self.encoding.decode(body)) != body:
                return f"row {row} ({ids[i]}) does not survive a decode/encode round trip"
            self.sampled[ids[i]] = body
        return None


def _check_documents(target: Target, entries: list[dict], checker: _ShardChecker, warnings: list[str]) -> str | None:
    """With a documents Parquet beside the shards: the same documents, token counts and texts."""
    if target.kind != "run" or not target.document_paths:
        return None
    doc_rows = doc_tokens = 0
    has_counts = True
    seen: set[str] = set()
    for path in target.document_paths:
        for doc_id in pq.read_table(path, columns=["id"]).column("id").to_pylist():
            if doc_id in seen:
                return f"document id {doc_id} appears twice in the documents Parquet"
            seen.add(doc_id)
    for path in target.document_paths:
        parquet = pq.ParquetFile(path)
        doc_rows += parquet.metadata.num_rows
        if "token_count" in parquet.schema_arrow.names:
            doc_tokens += int(pc.sum(pq.read_table(path, columns=["token_count"]).column(0)).as_py() or 0)
        else:
            has_counts = False
    shard_rows = sum(e["rows"] for e in entries)
    shard_tokens = sum(e["tokens"] for e in entries)
    if doc_rows != shard_rows:
        return f"documents Parquet holds {doc_rows} documents, the shards {shard_rows}"
    if has_counts and doc_tokens != shard_tokens - shard_rows:
        return (
            f"token_count column sums to {doc_tokens}, the shards hold {shard_tokens - shard_rows} "
            "tokens besides end-of-text"
        )
    if not has_counts:
        warnings.append("documents Parquet has no token_count column")
    wanted = pa.array(sorted(checker.sampled))
    for path in target.document_paths:
        table = pq.read_table(path, columns=["id", "text"])
        table = table.filter(pc.is_in(table.column("id"), value_set=wanted))
        for doc_id, text in zip(table.column("id").to_pylist(), table.column("text").to_pylist()):
            if checker.encoding.decode(checker.sampled[doc_id]) != text:
                return f"document {doc_id}: its tokens decode to a different text than the documents Parquet holds"
    return None


# --- printing ---------------------------------------------------------------------------


def _print_report(console: Console, report: dict) -> None:
    summary = report["summary"]
    tokenizer = summary.get("tokenizer") or {}
    overview = Table(title=f"{report['kind']}: {report['path']}", show_header=False, title_justify="left")
    overview.add_column(style="bold")
    overview.add_column()
    if tokenizer:
        overview.add_row(
            "tokenizer",
            f"{tokenizer.get('name')} (vocab {tokenizer.get('vocab_size'):,}, eot {tokenizer.get('eot')}, "
            f"{tokenizer.get('dtype')})",
        )
    overview.add_row("documents", f"{summary['documents']:,}")
    if report["kind"] != "documents":
        overview.add_row("tokens", f"{summary['tokens']:,}")
    for label, key in (("tokens/doc", "tokens_per_document"), ("chars/doc", "characters_per_document")):
        if summary.get(key):
            p = summary[key]
            overview.add_row(
                label,
                "  ".join(f"{name} {p[name]:,.0f}" for name in ("mean", "p5", "p50", "p95", "max")),
            )
    if summary.get("languages"):
        total = sum(summary["languages"].values()) or 1
        overview.add_row(
            "languages", "  ".join(f"{k} {100 * v / total:.1f}%" for k, v in list(summary["languages"].items())[:8])
        )
    if summary.get("dedup"):
        overview.add_row("dedup", "  ".join(f"{k} {v:,}" for k, v in summary["dedup"].items()))
    if summary.get("pii"):
        overview.add_row("pii found", "  ".join(f"{k} {v:,}" for k, v in summary["pii"].items()))
    if summary.get("manifest_problem"):
        overview.add_row("manifest", summary["manifest_problem"])
    console.print(overview)

    if report["kind"] != "documents" and any(s.get("shards") for s in summary["splits"].values()):
        splits = Table(title="splits", title_justify="left")
        for name in ("split", "shards", "documents", "tokens", "tokens/doc"):
            splits.add_column(name, justify="left" if name == "split" else "right")
        for split, s in summary["splits"].items():
            if not s.get("shards") and not s.get("rows"):
                continue
            per_doc = (s["tokens"] - s["rows"]) / s["rows"] if s["rows"] else 0  # EOT excluded
            splits.add_row(split, f"{s['shards']:,}", f"{s['rows']:,}", f"{s['tokens']:,}", f"{per_doc:,.0f}")
        console.print(splits)

    if summary.get("funnel"):
        funnel = Table(title="funnel", title_justify="left")
        for name in ("stage", "in", "kept", "dropped", "kept %"):
            funnel.add_column(name, justify="left" if name == "stage" else "right")
        for row in summary["funnel"]:
            share = 100 * row["kept"] / row["in"] if row["in"] else 0
            funnel.add_row(row["name"], f"{row['in']:,}", f"{row['kept']:,}", f"{row['dropped']:,}", f"{share:.1f}")
        console.print(funnel)

    for doc in report.get("documents", []):
        meta = doc.get("metadata") or {}
        head = {k: v for k, v in doc.items() if k not in ("text", "metadata")}
        head.update(
            {
                k: v
                for k, v in meta.items()
                if k in ("url", "language", "language_score", "token_count", "minhash_cluster_size", "quality_score")
            }
        )
        score = head.pop("quality_score", None)
        if score is not None:  # first, so a narrow terminal's rule does not cut it off
            head = {"quality_score": round(score, 4), **head}
        console.rule(" ".join(f"{k}={v}" for k, v in head.items()), align="left")
        text = doc.get("text", "")
        if len(text) > SHOW_MAX_CHARS:
            text = text[:SHOW_MAX_CHARS] + f" … ({len(text) - SHOW_MAX_CHARS:,} more characters)"
        console.print(text, markup=False)

    validation = report.get("validation")
    if validation:
        for warning in validation["warnings"]:
            console.print(f"warning: {warning}", markup=False)
        if validation["ok"]:
            console.print("valid: every check passed", markup=False)
        else:
            console.print(f"invalid: {validation['problem']}", markup=False)


def _say_error(console: Console, out: TextIO, as_json: bool, message: str) -> None:
    if as_json:
        out.write(json.dumps({"error": message}) + "\n")
    else:
        console.print(f"error: {message}", markup=False)


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    return str(value)
