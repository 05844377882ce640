"""The main job: input specs -> run directory (documents, tokens, stats, report).

`python -m ccforge.jobs.run --input SPEC --output DIR [...]` is the same as `ccforge run`.

The driver is thin: it resolves the inputs (listing them, never opening them), submits
two pipelines and writes the run's summary. Phase A (pipeline/phase_a.py) is one pipeline
over every piece of every input; it cuts the inputs into pieces itself and commits each
piece with a marker, so rerunning the same command after a kill does only the pieces
without one (pipeline/pieces.py). Phase B (pipeline/phase_b.py) is one more pipeline over
the committed pieces: dedup, PII, tokenization and the outputs; it first clears what an
earlier or interrupted phase B left (documents, tokens, band index, manifest, stats), so
killing the job at any moment and rerunning it gives the same bytes as an uninterrupted run.

The manifest holds nothing that depends on timing (no creation time, no stage times):
the same inputs and config give the same bytes. Times go to stats.json.

Everything the driver writes goes through Beam's FileSystems, so the run directory may
be local, gs:// or s3://.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import DirectOptions

from ccforge.config import RunConfig
from ccforge.filters.quality_classifier import named_files
from ccforge.hashing import stable_hash64
from ccforge.jobs.options import (
    is_dataflow,
    is_local,
    new_pipeline,
    pipeline_options,
    worker_count,
    worker_logs_to,
)
from ccforge.jobs.progress import LocalProgress, duration, phase_a_line, phase_b_counters_line, say, watch_remote
from ccforge.pipeline.metrics import counters_from_result
from ccforge.pipeline.phase_a import build_phase_a, pieces_per_input
from ccforge.pipeline.phase_b import build_phase_b
from ccforge.pipeline.paths import is_local_path, remove_matching, remove_tree
from ccforge.pipeline.pieces import CHUNKS_DIR, prepare_chunks_dir, summary_path
from ccforge.pipeline.spill import range_bits
from ccforge.pipeline.stats import (
    add_counters,
    build_funnel,
    check_funnel,
    funnel_without_timing,
    read_json,
    write_json,
)
from ccforge.read.specs import resolve_inputs

log = logging.getLogger("ccforge")

# Settings that cannot change what phase A writes; changing them keeps committed pieces.
_NOT_PHASE_A = ("pii", "tokenize", "name")
_NOT_PHASE_A_READ = ("retries", "backoff_s", "timeout_s", "cc_base_url")
# What phase B writes, cleared before it runs (a killed phase B leaves some of it).
_SPILL_DIR = "_spill"  # phase B's sorted spill files on the local runner, removed when it ends
_PHASE_B_DIRS = ("documents", "tokens", "dedup/band_index", _SPILL_DIR)
_PHASE_B_FILES = ("manifest.json", "stats.json", "report.html")


def phase_a_fingerprint(config: RunConfig) -> str:
    """A hash of the settings phase A's output depends on (stored in each piece's marker)."""
    settings = config.to_dict()
    for section in _NOT_PHASE_A:
        settings.pop(section, None)
    for key in _NOT_PHASE_A_READ:
        settings["read"].pop(key, None)
    settings["minhash_dedup"].pop("against", None)
    settings["output"] = {"write_rejects": settings["output"]["write_rejects"]}
    return f"{stable_hash64(json.dumps(settings, sort_keys=True, default=str), 'phase-a'):016x}"


def run_phase_a(files: list[tuple[str, str]], config: RunConfig, run_dir: str, beam_args: list[str],
                fingerprint: str | None = None) -> dict:
    """Runs phase A's one pipeline over every pending piece; returns its summary (counts of
    every piece of the run, committed now or earlier, text_chars, failed_inputs, pieces)."""
    fingerprint = fingerprint or phase_a_fingerprint(config)
    chunks_dir = f"{run_dir}/{CHUNKS_DIR}"
    if prepare_chunks_dir(chunks_dir, fingerprint):
        remove_tree(f"{run_dir}/rejects")  # they belong to the pieces just cleared
        say("phase A  the settings changed since the last run into this directory: its pieces are redone")
    summary_file = summary_path(chunks_dir)
    if FileSystems.exists(summary_file):
        FileSystems.delete([summary_file])
    options = phase_a_options(beam_args, config, files)
    local = is_local(options)
    progress_dir = tempfile.mkdtemp(prefix="ccforge-progress-") if local else None
    started = time.time()
    pipeline = new_pipeline(options)
    build_phase_a(
        pipeline, files, config, chunks_dir, fingerprint,
        # cut as for the workers, also in the driver: the pieces do not depend on where they ran
        pieces=pieces_per_input(worker_count(pipeline_options(beam_args)), len(files)),
        rejects_dir=f"{run_dir}/rejects" if config.output.write_rejects else None,
        progress_dir=progress_dir,
    )
    known_bytes = sum(os.path.getsize(path) for path, _ in files if is_local_path(path) and os.path.isfile(path))
    try:
        run_pipeline(pipeline, run_dir, options, "phase A", progress_dir,
                     lambda totals, elapsed: phase_a_line(totals, elapsed, known_bytes))
    finally:
        if progress_dir:
            shutil.rmtree(progress_dir, ignore_errors=True)
    summary = read_json(summary_file)
    counts = summary["counts"]
    earlier = f", {summary['pieces_done_before']} done earlier" if summary["pieces_done_before"] else ""
    say(f"phase A  {len(files)} input(s), {summary['pieces']} piece(s){earlier}: {counts.get('read:in', 0):,} records"
        f" -> {counts.get('dedup_keys:kept', 0):,} documents ({duration(time.time() - started)}"
        f"{', in this process: small input' if in_driver(options) else ''})")
    return summary


def in_driver(options) -> bool:
    """Whether a pipeline with these options runs inside the driver process."""
    return is_local(options) and options.view_as(DirectOptions).direct_running_mode == "in_memory"


def run_pipeline(pipeline, run_dir: str, options, label: str, progress_dir: str | None = None,
                 line=None, remote_line=None):
    """Runs to the end, showing progress. Local worker logs go to RUN/logs/beam.log unless
    verbose; a remote runner's own progress messages are left alone."""
    local = is_local(options)
    log_path = None
    if local and not logging.getLogger("apache_beam").isEnabledFor(logging.INFO):
        log_path = f"{run_dir}/logs/beam.log" if is_local_path(run_dir) else f"{tempfile.gettempdir()}/ccforge-beam.log"
    with worker_logs_to(log_path):
        if local:
            shown = LocalProgress(progress_dir, label, line) if progress_dir and line else contextlib.nullcontext()
            with shown:
                result = pipeline.run()
                result.wait_until_finish()
            return result
        result = pipeline.run()
        watch_remote(result, label, options, remote_line)
        result.wait_until_finish()
    return result


def _write_list(path: str):
    """Collects a PCollection's items into one JSON list at `path`, sorted so the file is stable."""
    import apache_beam as beam

    def write(items):
        items = sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
        write_json(path, {"items": items})

    return beam.combiners.ToList() | beam.Map(write)


def document_file_count(text_chars: int, target_bytes: int) -> int:
    """How many documents files phase B writes: phase A's text volume over the target size."""
    return max(1, -(-text_chars // max(1, target_bytes)))


def phase_a_options(beam_args: list[str], config: RunConfig, files: list[tuple[str, str]]):
    """Phase A's options: in the driver process when the inputs are a few local files
    (under `output.in_process_phase_a_bytes` in all), unless the user chose a running
    mode; otherwise on the local workers or the remote runner."""
    small = all(is_local_path(path) and os.path.isfile(path) for path, _ in files) and (
        sum(os.path.getsize(path) for path, _ in files) < config.output.in_process_phase_a_bytes)
    return _in_driver_if(beam_args, small)


def phase_b_options(beam_args: list[str], config: RunConfig, text_chars: int):
    """Phase B's options: in the driver process for a small local run, unless the user
    chose a running mode; otherwise on the local workers or the remote runner."""
    return _in_driver_if(beam_args, text_chars < config.output.in_process_phase_b_chars)


def _in_driver_if(beam_args: list[str], small: bool):
    options = pipeline_options(beam_args)
    chosen = any(arg.startswith("--direct_running_mode") for arg in beam_args)
    if is_local(options) and not chosen and small:
        options = pipeline_options(beam_args, running_mode="in_memory")
        # One bundle thread: more only split the work between threads sharing one GIL.
        options.view_as(DirectOptions).direct_num_workers = 1
    return options


def run_phase_b(files: list[tuple[str, str]], config: RunConfig, run_dir: str, beam_args: list[str],
                fingerprint: str, text_chars: int = 0, documents: int = 0) -> tuple[dict, list]:
    """`text_chars` (phase A's kept text) sizes the outputs: documents files, key ranges,
    and whether phase B runs inside the driver; `documents` the dedup clusters' rounds."""
    options = phase_b_options(beam_args, config, text_chars)
    pipeline = new_pipeline(options)
    # The local engine's shuffle keeps everything in memory: its outputs go through spill files.
    spill_dir = None
    if is_local(options):
        spill_dir = f"{run_dir}/{_SPILL_DIR}" if is_local_path(run_dir) else tempfile.mkdtemp(prefix="ccforge-spill-")
    document_files, shard_infos = build_phase_b(
        pipeline, files, config, run_dir, f"{run_dir}/{CHUNKS_DIR}", fingerprint,
        num_document_files=document_file_count(text_chars, config.output.target_file_bytes),
        rejects_to=f"{run_dir}/rejects/{{stage}}/phase-b" if config.output.write_rejects else None,
        spill_to=(spill_dir, range_bits(text_chars)) if spill_dir else None,
        cc_rounds=config.minhash_dedup.rounds_for(documents),
    )
    _ = document_files | "list documents" >> _write_list(f"{run_dir}/documents/_files.json")
    shards_list = f"{run_dir}/tokens/_shards.json"
    if shard_infos is not None:
        _ = shard_infos | "list shards" >> _write_list(shards_list)
    try:
        result = run_pipeline(pipeline, run_dir, options, "phase B", remote_line=phase_b_counters_line)
    finally:
        if spill_dir:
            shutil.rmtree(spill_dir, ignore_errors=True)
    shards = read_json(shards_list)["items"] if shard_infos is not None and FileSystems.exists(shards_list) else []
    return counters_from_result(result), shards


def clear_phase_b_outputs(run_dir: str) -> None:
    """Removes what an earlier (perhaps killed) phase B wrote, manifest first: a run
    directory with a manifest always has the shards it names."""
    for name in _PHASE_B_FILES:
        path = f"{run_dir}/{name}"
        if FileSystems.exists(path):
            FileSystems.delete([path])
    for name in _PHASE_B_DIRS:
        remove_tree(f"{run_dir}/{name}")
    remove_matching(f"{run_dir}/rejects/*/phase-b-*")


def run_job(inputs: list[str], run_dir: str, config: RunConfig, beam_args: list[str] | None = None,
            max_files: int | None = None) -> dict:
    """Runs the whole job and returns the stats written to `run_dir/stats.json`."""
    beam_args = beam_args or []
    started = time.time()
    started_at = _now()
    run_dir = run_dir.rstrip("/")
    files = resolve_inputs(inputs, config.read, max_files=max_files)
    check_remote_settings(files, run_dir, config, beam_args)
    fingerprint = phase_a_fingerprint(config)
    summary = run_phase_a(files, config, run_dir, beam_args, fingerprint)
    counters = dict(summary["counts"])
    failed_inputs = summary["failed_inputs"]
    for url in failed_inputs:
        log.error("could not read %s after %d retries; its records are missing (rerun to retry)",
                  url, config.read.retries)
    phase_a_s = time.time() - started
    clear_phase_b_outputs(run_dir)
    shards: list = []
    pipelines = 1
    if counters.get("dedup_keys:kept", 0):
        phase_b_started = time.time()
        phase_b_counters, shards = run_phase_b(files, config, run_dir, beam_args, fingerprint,
                                               text_chars=summary["text_chars"],
                                               documents=counters["dedup_keys:kept"])
        pipelines += 1
        add_counters(counters, phase_b_counters)
        kept = phase_b_counters.get("tokenize:kept", phase_b_counters.get("pii:kept"))
        tokens = sum(int(s["tokens"]) for s in shards)
        say(f"phase B  dedup, PII, tokenize: {f'{kept:,}' if kept is not None else '?'} documents, {tokens:,} tokens"
            f" in {len(shards)} shard(s) ({duration(time.time() - phase_b_started)})")
    clusters = cluster_rounds(counters, config, is_local(pipeline_options(beam_args)))
    funnel = build_funnel(counters, config)
    broken = check_funnel(funnel)
    if broken:  # an internal error, never the user's: say so loudly but keep the outputs
        log.error("funnel does not add up at: %s", ", ".join(broken))
    stats = {
        "stages": funnel,
        "inputs": [path for path, _ in files],
        "failed_inputs": failed_inputs,
        "pieces": summary["pieces"],
        "pieces_done_before": summary["pieces_done_before"],
        "pipelines": pipelines,
        "dedup_clusters": clusters,
        "config": config.to_dict(),
        "started": started_at,
        "finished": _now(),
        "elapsed_s": round(time.time() - started, 3),
        "phase_a_s": round(phase_a_s, 3),
    }
    write_json(f"{run_dir}/stats.json", stats)
    manifest = write_run_manifest(run_dir, shards, config, funnel) if shards else None
    write_run_report(run_dir, stats, manifest)
    return stats


def cluster_rounds(counters: dict[str, int], config: RunConfig, local: bool) -> dict:
    """How the near-duplicate clusters were found (taken out of the funnel's counters): in
    one process, or in rounds of shuffles with the round from which every cluster was a
    star and the edges shuffled."""
    prefix = "minhash_dedup:cc_"
    found = {key[len(prefix):]: counters.pop(key) for key in [k for k in counters if k.startswith(prefix)]}
    if not config.minhash_dedup.enabled:
        return {}
    if local:
        return {"method": "union-find in one process"}
    rounds = config.minhash_dedup.rounds_for(counters.get("dedup_keys:kept", 0))
    busy = [r for r in range(rounds) if found.get(f"unsettled_round_{r:02d}", 0)]
    return {
        "method": "large-star/small-star rounds",
        "rounds": rounds,
        "settled_after_round": (busy[-1] + 1) if busy else 0,
        "edges_shuffled": found.get("edges", 0),
        "unsettled_at_end": found.get("unsettled", 0),
    }


def write_run_manifest(run_dir: str, shards: list[dict], config: RunConfig, funnel: list[dict]) -> dict:
    """OUT/manifest.json from the tokenize room's pieces, through FileSystems, with no times
    in it; returns what it wrote."""
    from ccforge.tokenize.manifest import MANIFEST_FILE, manifest_dict, tokenizer_info

    manifest = manifest_dict(shards, tokenizer_info(config.tokenize), config.to_dict(),
                             funnel_without_timing(funnel))
    write_json(f"{run_dir}/{MANIFEST_FILE}", manifest)
    return manifest


def write_run_report(run_dir: str, stats: dict, manifest: dict | None) -> None:
    """OUT/report.html, from the stats and manifest in memory (not read back). The
    report reads the documents' local files; for a gs:// or s3:// run it is drawn in a
    local folder (without the per-document plots) and uploaded."""
    from ccforge.pipeline.report import write_report

    if is_local_path(run_dir):
        write_report(run_dir, stats, manifest)
        return
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, run_dir.rsplit("/", 1)[-1] or "run")
        os.makedirs(local)
        page = write_report(local, stats, manifest)
        with open(page, "rb") as src, FileSystems.create(f"{run_dir}/report.html") as dst:
            shutil.copyfileobj(src, dst)


def check_remote_settings(files: list[tuple[str, str]], run_dir: str, config: RunConfig, beam_args: list[str]) -> None:
    """Stops a Dataflow job that would read or write this machine's files (its workers
    cannot), and warns about config files that only a custom worker container would have."""
    options = pipeline_options(beam_args)
    if is_local(options):
        return
    if is_dataflow(options):
        local_inputs = [path for path, _ in files if is_local_path(path)]
        if local_inputs:
            raise ValueError(f"input {local_inputs[0]} is a local file, which Dataflow workers cannot read; "
                             "copy the WARCs to gs:// (or give http(s) URLs)")
        if is_local_path(run_dir):
            raise ValueError(f"--output {run_dir} is a local directory, which Dataflow workers cannot write; "
                             "give a gs:// path")
    for key, path in local_config_files(config):
        log.warning("%s is the local file %s; remote workers see it only if it is in their container "
                    "(see README, Running on Dataflow)", key, path)


def local_config_files(config: RunConfig) -> list[tuple[str, str]]:
    """(config key, path) of the local files the stages would open on the workers."""
    found = []
    if config.language.enabled and config.language.model_path and is_local_path(config.language.model_path):
        found.append(("language.model_path", config.language.model_path))
    if config.url_filter.enabled:
        found += [("url_filter.blocklists", p) for p in config.url_filter.blocklists if is_local_path(p)]
        if config.url_filter.use_fetched:
            from ccforge.blocklist import fetched_blocklists

            found += [("url_filter.use_fetched", str(p)) for p in fetched_blocklists()]
    if config.quality_classifier.enabled:  # a Hub id is no file: only paths that exist here
        found += [(k, p) for k, p in named_files(config.quality_classifier) if is_local_path(p) and os.path.exists(p)]
    if config.minhash_dedup.enabled:
        found += [("minhash_dedup.against", p) for p in config.minhash_dedup.against if is_local_path(p)]
    if config.stage_enabled("decontaminate"):
        found += [("decontaminate.benchmarks", spec.path) for spec in config.decontaminate.benchmarks
                  if is_local_path(spec.path)]
    encoding = config.tokenize.encoding
    if config.tokenize.enabled and (encoding.endswith(".tiktoken") or "/" in encoding) and is_local_path(encoding):
        found.append(("tokenize.encoding", encoding))
    return found


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def main(argv: list[str] | None = None) -> int:
    from ccforge.cli import main as cli_main, skip_final_collection

    code = cli_main(["run", *(argv if argv is not None else sys.argv[1:])])
    if argv is None and code == 0:  # the process ends next
        skip_final_collection()
    return code


if __name__ == "__main__":
    sys.exit(main())
