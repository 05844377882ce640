"""The main job: input specs -> run directory (documents, tokens, stats, report).

`python -m ccforge.jobs.run --input SPEC --output DIR [...]` is the same as `ccforge run`.

Phase A runs once per chunk of WARCs and commits each chunk with a `_SUCCESS`
marker, so rerunning the same command skips finished chunks; phase B then runs
once over all chunks.
"""

from __future__ import annotations

import logging
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from ccforge.config import RunConfig
from ccforge.hashing import stable_hash64
from ccforge.jobs.options import new_pipeline, pipeline_options, worker_count, worker_logs_to
from ccforge.pipeline import parquet_io
from ccforge.pipeline.metrics import counters_from_result, string_sets_from_result
from ccforge.pipeline.phase_a import build_phase_a
from ccforge.pipeline.phase_b import build_phase_b
from ccforge.pipeline.stats import add_counters, build_funnel, check_funnel, read_json, write_json
from ccforge.read.specs import resolve_inputs

log = logging.getLogger("ccforge")


@dataclass
class Chunk:
    """A group of input WARCs: phase A's unit of work and of resumption."""

    index: int
    files: list[tuple[str, str]]  # (path or URL, crawl id)
    key: str = field(init=False)

    def __post_init__(self):
        digest = stable_hash64("\n".join(path for path, _ in self.files), "chunk")
        self.key = f"chunk-{self.index:05d}-{digest:016x}"


def make_chunks(files: list[tuple[str, str]], files_per_chunk: int) -> list[Chunk]:
    size = max(1, files_per_chunk)
    return [Chunk(i, files[start:start + size]) for i, start in enumerate(range(0, len(files), size))]


def run_phase_a(chunk: Chunk, config: RunConfig, run_dir: str, beam_args: list[str]) -> dict:
    """Runs phase A for one chunk unless its `_SUCCESS` marker exists; returns the marker."""
    chunk_dir = f"{run_dir}/chunks/{chunk.key}"
    marker = f"{chunk_dir}/_SUCCESS"
    if FileSystems.exists(marker):
        done = read_json(marker)
        if not done.get("failed_inputs"):
            log.info("chunk %s already done, skipping", chunk.key)
            return done
        log.info("chunk %s had unreadable inputs, running it again", chunk.key)
    if FileSystems.exists(chunk_dir):  # a crashed attempt: start the chunk over
        FileSystems.delete([chunk_dir])
    started = time.time()
    options = pipeline_options(beam_args)
    pipeline = new_pipeline(options)
    paths = build_phase_a(
        pipeline, chunk.files, config, chunk_dir,
        min_splits=worker_count(options) * 4,
        rejects_dir=f"{run_dir}/rejects" if config.output.write_rejects else None,
    )
    listed = f"{chunk_dir}/_files.json"
    _ = paths | "list files" >> _write_list(listed)
    result = run_pipeline(pipeline, run_dir)
    files = read_json(listed)["items"] if FileSystems.exists(listed) else []
    done = {
        "chunk": chunk.key,
        "inputs": [path for path, _ in chunk.files],
        "files": sorted(files),
        "counters": counters_from_result(result),
        "failed_inputs": string_sets_from_result(result).get("failed_inputs", []),
        "elapsed_s": round(time.time() - started, 3),
    }
    write_json(marker, done)
    return done


def run_pipeline(pipeline, run_dir: str):
    """Runs to the end; local worker logs go to RUN/logs/beam.log unless verbose."""
    log_path = None
    if not logging.getLogger("apache_beam").isEnabledFor(logging.INFO):
        local = "://" not in run_dir
        log_path = f"{run_dir}/logs/beam.log" if local else f"{tempfile.gettempdir()}/ccforge-beam.log"
    with worker_logs_to(log_path):
        result = pipeline.run()
        result.wait_until_finish()
    return result


def _write_list(path: str):
    import apache_beam as beam

    return beam.combiners.ToList() | beam.Map(lambda items: write_json(path, {"items": items}))


def document_file_count(files: list[str], target_bytes: int) -> int:
    text_bytes = 0
    for path in files:
        with FileSystems.open(path) as stream:
            meta = pq.ParquetFile(stream).metadata
        for group in range(meta.num_row_groups):
            text_bytes += meta.row_group(group).column(0).total_uncompressed_size
    return max(1, math.ceil(text_bytes / max(1, target_bytes)))


def run_phase_b(chunk_files: list[str], config: RunConfig, run_dir: str, beam_args: list[str]) -> tuple[dict, list]:
    options = pipeline_options(beam_args)
    pipeline = new_pipeline(options)
    pieces = parquet_io.row_groups(chunk_files)
    document_files, shard_infos = build_phase_b(
        pipeline, pieces, config, run_dir,
        num_document_files=document_file_count(chunk_files, config.output.target_file_bytes),
        rejects_dir=f"{run_dir}/rejects" if config.output.write_rejects else None,
    )
    _ = document_files | "list documents" >> _write_list(f"{run_dir}/documents/_files.json")
    shards_list = f"{run_dir}/tokens/_shards.json"
    if shard_infos is not None:
        _ = shard_infos | "list shards" >> _write_list(shards_list)
    result = run_pipeline(pipeline, run_dir)
    shards = read_json(shards_list)["items"] if shard_infos is not None and FileSystems.exists(shards_list) else []
    return counters_from_result(result), shards


def run_job(inputs: list[str], run_dir: str, config: RunConfig, beam_args: list[str] | None = None,
            max_files: int | None = None) -> dict:
    """Runs the whole job and returns the stats written to `run_dir/stats.json`."""
    beam_args = beam_args or []
    started = time.time()
    run_dir = run_dir.rstrip("/")
    files = resolve_inputs(inputs, config.read, max_files=max_files)
    chunks = make_chunks(files, config.output.files_per_chunk)
    counters: dict[str, int] = {}
    chunk_files: list[str] = []
    failed_inputs: list[str] = []
    for chunk in chunks:
        log.info("phase A: chunk %d/%d (%d WARCs)", chunk.index + 1, len(chunks), len(chunk.files))
        done = run_phase_a(chunk, config, run_dir, beam_args)
        add_counters(counters, done["counters"])
        chunk_files.extend(done["files"])
        failed_inputs.extend(done.get("failed_inputs", []))
    for url in failed_inputs:
        log.error("could not read %s after %d retries; its records are missing (rerun to retry)",
                  url, config.read.retries)
    phase_a_s = time.time() - started
    shards: list = []
    if chunk_files:
        log.info("phase B: dedup, PII, tokenize over %d chunk files", len(chunk_files))
        phase_b_counters, shards = run_phase_b(chunk_files, config, run_dir, beam_args)
        add_counters(counters, phase_b_counters)
    funnel = build_funnel(counters, config)
    broken = check_funnel(funnel)
    if broken:  # an internal error, never the user's: say so loudly but keep the outputs
        log.error("funnel does not add up at: %s", ", ".join(broken))
    stats = {
        "stages": funnel,
        "inputs": [path for path, _ in files],
        "failed_inputs": failed_inputs,
        "config": config.to_dict(),
        "elapsed_s": round(time.time() - started, 3),
        "phase_a_s": round(phase_a_s, 3),
    }
    write_json(f"{run_dir}/stats.json", stats)
    if shards:
        from ccforge.tokenize.manifest import tokenizer_info, write_manifest

        write_manifest(run_dir, shards, tokenizer_info(config.tokenize), config.to_dict(), funnel)
    from ccforge.pipeline.report import write_report

    write_report(run_dir)
    return stats


def main(argv: list[str] | None = None) -> int:
    from ccforge.cli import main as cli_main

    return cli_main(["run", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
